package tlsmgr

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crl returns a CRL by ca revoking serials, PEM or DER.
func (ca *testCA) crl(t *testing.T, asPEM bool, serials ...*big.Int) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(time.Now().UnixNano()),
		ThisUpdate:                time.Now().Add(-time.Hour),
		NextUpdate:                time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if asPEM {
		return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
	}
	return der
}

// clientPair issues a client certificate and returns it with its serial.
func (ca *testCA) clientPair(t *testing.T, cn string) (tls.Certificate, *big.Int) {
	t.Helper()
	c, k := ca.issue(t, cn, nil, time.Now().Add(time.Hour), true)
	p, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(p.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return p, leaf.SerialNumber
}

// TestClientCRL: a client certificate listed in client_crl_file fails the
// control handshake, in PEM and DER, TLS 1.2 and 1.3; Reload picks up a
// new CRL; a CRL from another CA is refused and the old one kept.
func TestClientCRL(t *testing.T) {
	serverCA, clientCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "other CA")
	dir := t.TempDir()
	caFile, crlFile := filepath.Join(dir, "clients.pem"), filepath.Join(dir, "clients.crl")
	os.WriteFile(caFile, clientCA.pem, 0o644)
	alice, aliceSerial := clientCA.clientPair(t, "alice")
	bob, bobSerial := clientCA.clientPair(t, "bob")

	for _, asPEM := range []bool{true, false} {
		os.WriteFile(crlFile, clientCA.crl(t, asPEM, aliceSerial), 0o644)
		m := fileManager(t, serverCA, func(c *Config) {
			c.ClientCAFile, c.ClientCert, c.ClientCRLFile = caFile, ClientCertOptional, crlFile
		})
		try := func(cert tls.Certificate, ver uint16) error {
			c := clientConfig(serverCA, ver, nil)
			c.Certificates = []tls.Certificate{cert}
			return dial(t, m.NewSession("crl").Control(""), c).srvErr
		}
		for _, ver := range versions {
			if err := try(alice, ver.v); !errors.Is(err, ErrRevoked) {
				t.Errorf("pem %v %s: revoked certificate: %v, want ErrRevoked", asPEM, ver.name, err)
			}
			if err := try(bob, ver.v); err != nil {
				t.Errorf("pem %v %s: good certificate: %v", asPEM, ver.name, err)
			}
		}
		// bob revoked too, on reload.
		os.WriteFile(crlFile, clientCA.crl(t, asPEM, aliceSerial, bobSerial), 0o644)
		if err := m.Reload(); err != nil {
			t.Fatal(err)
		}
		if err := try(bob, tls.VersionTLS13); !errors.Is(err, ErrRevoked) {
			t.Errorf("pem %v: bob after reload: %v, want ErrRevoked", asPEM, err)
		}
		// A CRL signed by another CA: rejected, the old one stays.
		os.WriteFile(crlFile, otherCA.crl(t, asPEM), 0o644)
		if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "not a CA of client_ca_file") {
			t.Errorf("pem %v: foreign CRL reload: %v", asPEM, err)
		}
		if err := try(bob, tls.VersionTLS13); !errors.Is(err, ErrRevoked) {
			t.Errorf("pem %v: after a rejected reload bob: %v, want still revoked", asPEM, err)
		}
	}

	// Start-up refuses a CRL that is garbage or from another CA.
	for name, content := range map[string][]byte{
		"garbage": []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"),
		"foreign": otherCA.crl(t, true),
		"no crl":  clientCA.pem,
	} {
		os.WriteFile(crlFile, content, 0o644)
		cfg := Config{Source: SourceSelfSigned, StateDir: t.TempDir(), ClientCAFile: caFile, ClientCert: ClientCertOptional, ClientCRLFile: crlFile}
		if m, err := New(t.Context(), cfg, nil); err == nil {
			m.Close()
			t.Errorf("%s CRL accepted at start-up", name)
		}
	}
	if err := (Config{Source: SourceSelfSigned, StateDir: "x", ClientCRLFile: crlFile}).Validate(); err == nil {
		t.Error("client_crl_file without client_ca_file validated")
	}
}
