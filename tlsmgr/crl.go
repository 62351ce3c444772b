package tlsmgr

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrRevoked: a client certificate (or an intermediate of its chain) is
// listed in client_crl_file.
var ErrRevoked = errors.New("tls client certificate is revoked")

// clientTrust is what verifies client certificates: the CA pool from
// client_ca_file and the revocations from client_crl_file. Both are
// re-read together by Reload and swapped as one value, so a handshake
// never sees a new CA file with an old CRL.
type clientTrust struct {
	pool    *x509.CertPool
	revoked map[revokedKey]struct{} // nil without a CRL file
}

// revokedKey names a certificate by its issuer and serial number.
type revokedKey struct {
	issuer string // the issuer's raw subject
	serial string // the serial number's big-endian bytes
}

// loadClientTrust reads client_ca_file and client_crl_file; nil without a
// CA file.
func (m *Manager) loadClientTrust() (*clientTrust, error) {
	if m.cfg.ClientCAFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(m.cfg.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("tls: read client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("tls: client_ca_file %s holds no PEM certificate", m.cfg.ClientCAFile)
	}
	tr := &clientTrust{pool: pool}
	if m.cfg.ClientCRLFile == "" {
		return tr, nil
	}
	if tr.revoked, err = m.loadCRLs(pemBytes); err != nil {
		return nil, err
	}
	return tr, nil
}

// loadCRLs parses client_crl_file (PEM "X509 CRL" blocks, or one DER CRL)
// and checks that each is signed by a CA of client_ca_file.
func (m *Manager) loadCRLs(caPEM []byte) (map[revokedKey]struct{}, error) {
	name := m.cfg.ClientCRLFile
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("tls: read client_crl_file: %w", err)
	}
	var ders [][]byte
	for rest := raw; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type == "X509 CRL" {
			ders = append(ders, b.Bytes)
		}
	}
	if len(ders) == 0 && !bytes.Contains(raw, []byte("-----BEGIN")) {
		ders = [][]byte{raw} // DER
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("tls: client_crl_file %s holds no X509 CRL block", name)
	}
	cas := parseCerts(caPEM)
	revoked := map[revokedKey]struct{}{}
	for i, der := range ders {
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("tls: client_crl_file %s, crl %d: %w", name, i+1, err)
		}
		if err := checkCRLIssuer(rl, cas); err != nil {
			return nil, fmt.Errorf("tls: client_crl_file %s, crl %d: %w", name, i+1, err)
		}
		if !rl.NextUpdate.IsZero() && m.now().After(rl.NextUpdate) {
			m.log.Warn("client crl is past its next update, still enforced: publish a fresh one",
				"file", name, "issuer", rl.Issuer.String(), "next_update", rl.NextUpdate.UTC().Format(time.RFC3339))
		}
		for _, e := range rl.RevokedCertificateEntries {
			revoked[revokedKey{string(rl.RawIssuer), string(e.SerialNumber.Bytes())}] = struct{}{}
		}
	}
	m.log.Info("client crl loaded", "file", name, "crls", len(ders), "revoked", len(revoked))
	return revoked, nil
}

// checkCRLIssuer requires rl to be signed by one of cas.
func checkCRLIssuer(rl *x509.RevocationList, cas []*x509.Certificate) error {
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, rl.RawIssuer) && rl.CheckSignatureFrom(ca) == nil {
			return nil
		}
	}
	return fmt.Errorf("issuer %q is not a CA of client_ca_file, or the signature is wrong", rl.Issuer.String())
}

// parseCerts returns the certificates in a PEM bundle, skipping others.
func parseCerts(pemBytes []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for rest := pemBytes; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil && b.Type == "CERTIFICATE" {
			out = append(out, c)
		}
	}
}

// verifyConnection is the control config's VerifyConnection: crypto/tls
// has verified the chains; refuse if any certificate on them is revoked.
// It runs at every control handshake, and control handshakes never resume
// a ticket of another session, so every presented certificate is checked.
func (tr *clientTrust) verifyConnection(cs tls.ConnectionState) error {
	if tr.revoked == nil {
		return nil
	}
	for _, chain := range cs.VerifiedChains {
		for i := 0; i+1 < len(chain); i++ {
			k := revokedKey{string(chain[i+1].RawSubject), string(chain[i].SerialNumber.Bytes())}
			if _, bad := tr.revoked[k]; bad {
				return fmt.Errorf("%w: subject %q serial %s", ErrRevoked, chain[i].Subject.String(), chain[i].SerialNumber.String())
			}
		}
	}
	return nil
}
