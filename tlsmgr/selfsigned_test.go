package tlsmgr

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSelfSignedPersistedAndPinned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	start := func(names ...string) (*Manager, *x509.Certificate, string) {
		t.Helper()
		log, sink := testLogger(t)
		m, err := New(context.Background(), Config{Source: SourceSelfSigned, StateDir: dir, SelfSignedNames: names}, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		certPEM, err := os.ReadFile(filepath.Join(dir, selfSignedCertName))
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(mustDER(t, certPEM))
		if err != nil {
			t.Fatal(err)
		}
		return m, leaf, sink.String()
	}
	m, leaf, logs := start()
	fi, err := os.Stat(filepath.Join(dir, selfSignedKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", perm)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %04o, want 0700", fi.Mode().Perm())
	}
	fp := Fingerprint(leaf)
	if !strings.Contains(logs, fp) || strings.Contains(logs, "PRIVATE KEY") {
		t.Fatalf("log lacks the fingerprint %s (or shows a key):\n%s", fp, logs)
	}
	if len(fp) != 95 || strings.Count(fp, ":") != 31 {
		t.Fatalf("fingerprint format %q", fp)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key algorithm %v, want ECDSA P-256", leaf.PublicKeyAlgorithm)
	}

	// A client pinning the certificate (as its only root) connects.
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, name := range []string{"localhost", "127.0.0.1"} {
		r := dial(t, m.NewSession("x").Control(""), &tls.Config{RootCAs: pool, ServerName: name})
		if r.cliErr != nil {
			t.Fatalf("pinned client to %s: %v", name, r.cliErr)
		}
	}
	m.Close()

	// Restart: same certificate.
	_, leaf2, logs2 := start()
	if Fingerprint(leaf2) != fp || !strings.Contains(logs2, "created=false") {
		t.Fatalf("restart made a new certificate:\n%s", logs2)
	}
	// Different names: a new certificate.
	_, leaf3, _ := start("ftp.test")
	if Fingerprint(leaf3) == fp || leaf3.DNSNames[0] != "ftp.test" {
		t.Fatal("names change did not regenerate")
	}
	// A corrupt persisted key is replaced, not fatal.
	if err := os.WriteFile(filepath.Join(dir, selfSignedKeyName), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, leaf4, _ := start("ftp.test")
	if Fingerprint(leaf4) == Fingerprint(leaf3) {
		t.Fatal("corrupt key did not regenerate")
	}
}
