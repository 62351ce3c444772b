package ftp

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// ErrCertificate reports an upstream certificate that failed
// verification (chain, name or pinned fingerprint). The error names the
// presented certificate's fingerprint, so an operator can compare it with
// the server's and pin it.
var ErrCertificate = errors.New("upstream certificate refused")

// tlsConfig builds the client configuration toward the upstream: TLS 1.2
// or later, the server name from address, and verification by ca_file
// and/or the pinned fingerprint (the system roots when neither is set).
// Each control connection clones it with a session cache of its own
// (ftpclient.Dial), so its data connections resume its session.
func tlsConfig(c *Config) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(c.Address)
	v := &verifier{name: host}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		v.roots = pool
	}
	if c.Fingerprint != "" {
		pin, err := parseFingerprint(c.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("fingerprint: %w", err)
		}
		v.pin = pin
		v.chain = c.CAFile != ""
	} else {
		v.chain = true
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: host,
		// Verification is done by VerifyConnection below, which always
		// runs (also on resumed data connections): the chain against
		// roots and the name, and/or the pinned fingerprint.
		InsecureSkipVerify: true,
		VerifyConnection:   v.verify,
	}, nil
}

// verifier checks an upstream's certificate.
type verifier struct {
	name  string
	roots *x509.CertPool // nil: the system roots
	chain bool           // verify the chain and the name
	pin   []byte         // SHA-256 of the leaf certificate; nil: no pin
}

func (v *verifier) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrCertificate)
	}
	leaf := cs.PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	fp := "SHA256:" + hex.EncodeToString(sum[:])
	if v.pin != nil && !bytes.Equal(sum[:], v.pin) {
		return fmt.Errorf("%w: certificate %s does not match the pinned fingerprint", ErrCertificate, fp)
	}
	if !v.chain {
		return nil
	}
	opts := x509.VerifyOptions{Roots: v.roots, DNSName: v.name, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("%w: certificate %s: %w", ErrCertificate, fp, err)
	}
	return nil
}

// loadPool reads PEM certificates.
func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("no PEM certificate in the file")
	}
	return pool, nil
}

// parseFingerprint reads "SHA256:" followed by 64 hex digits (colons
// allowed, as openssl x509 -fingerprint prints them) or by unpadded
// base64 (as ssh-keygen prints key fingerprints); the prefix may be left
// out before hex.
func parseFingerprint(s string) ([]byte, error) {
	body, prefixed := strings.CutPrefix(strings.TrimSpace(s), "SHA256:")
	if !prefixed {
		body, prefixed = strings.CutPrefix(body, "sha256:")
	}
	hexed := strings.ReplaceAll(body, ":", "")
	if b, err := hex.DecodeString(hexed); err == nil && len(b) == sha256.Size {
		return b, nil
	}
	if prefixed {
		if b, err := base64.RawStdEncoding.DecodeString(body); err == nil && len(b) == sha256.Size {
			return b, nil
		}
	}
	return nil, fmt.Errorf("fingerprint %q is not SHA256: with 64 hex digits or base64 of 32 bytes", s)
}
