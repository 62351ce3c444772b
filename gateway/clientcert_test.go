package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// testCA issues client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "client-ca.pem")
	os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return &testCA{cert: cert, key: key, file: file}
}

// issue returns a client certificate for cn signed by ca.
func (ca *testCA) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestClientCertificateLogin(t *testing.T) {
	ca := newTestCA(t)
	e := newEnvTLS(t, tlsmgr.Config{Source: tlsmgr.SourceSelfSigned, ClientCAFile: ca.file, ClientCert: tlsmgr.ClientCertOptional})
	cfg := withUser(t, "alice", func(u *policy.UserConfig) { u.ClientCertSubject = "CN=alice" })
	cfg.Users = append(cfg.Users, policy.UserConfig{Name: "svc", Backend: "files", Home: "/alice",
		Permissions: []string{"list"}, ClientCertSubject: "CN=svc", CertOnly: true})
	e.setPolicy(cfg)

	login := func(cert *tls.Certificate, user, pw string) int {
		c := e.dial()
		if cert != nil {
			c.tlsCfg.Certificates = []tls.Certificate{*cert}
		}
		c.banner()
		c.authTLS()
		c.expect(331, "USER %s", user)
		code, _ := c.cmd("PASS %s", pw)
		return code
	}
	alice, mallory, svc := ca.issue(t, "alice"), ca.issue(t, "mallory"), ca.issue(t, "svc")
	if code := login(nil, "alice", alicePW); code != 530 {
		t.Errorf("alice without a certificate: %d, want 530", code)
	}
	if code := login(&mallory, "alice", alicePW); code != 530 {
		t.Errorf("alice with mallory's certificate: %d, want 530", code)
	}
	if code := login(&alice, "alice", "wrong"); code != 530 {
		t.Errorf("alice's certificate, wrong password: %d, want 530", code)
	}
	if code := login(&alice, "alice", alicePW); code != 230 {
		t.Errorf("alice with her certificate and password: %d, want 230", code)
	}
	if code := login(&svc, "svc", ""); code != 230 {
		t.Errorf("certificate-only user: %d, want 230", code)
	}
	if code := login(&alice, "svc", ""); code != 530 {
		t.Errorf("certificate-only user with another certificate: %d, want 530", code)
	}
	// Users without a certificate rule are unaffected.
	if code := login(nil, "bob", bobPW); code != 230 {
		t.Errorf("bob without a certificate: %d, want 230", code)
	}
	if e.obs.get("login:certificate") != 3 {
		t.Errorf("certificate failures counted %d, want 3", e.obs.get("login:certificate"))
	}

	// A certificate from another CA fails the handshake itself.
	other := newTestCA(t).issue(t, "alice")
	c := e.dial()
	c.tlsCfg.Certificates = []tls.Certificate{other}
	c.banner()
	c.expect(234, "AUTH TLS")
	tc := tls.Client(c.conn, c.tlsCfg)
	if err := tc.Handshake(); err == nil {
		if _, err := tc.Read(make([]byte, 1)); err == nil {
			t.Error("certificate from an unknown CA accepted")
		}
	}
}
