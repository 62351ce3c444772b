package tlsmgr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// servedSerial handshakes with a fresh session's control config and
// returns the serial of the leaf the server presented.
func servedSerial(t *testing.T, m *Manager, ca *testCA) string {
	t.Helper()
	r := dial(t, m.NewSession("probe").Control(""), clientConfig(ca, tls.VersionTLS13, nil))
	if r.cliErr != nil {
		t.Fatalf("handshake: %v", r.cliErr)
	}
	return r.client.PeerCertificates[0].SerialNumber.String()
}

func serialOf(t *testing.T, certPEM []byte) string {
	t.Helper()
	c, err := x509.ParseCertificate(mustDER(t, certPEM))
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

func issueKnown(t *testing.T, ca *testCA) (certPEM, keyPEM []byte) {
	return ca.issue(t, "localhost", []string{"localhost", "127.0.0.1"}, time.Now().Add(90*24*time.Hour), false)
}

// replaceFile swaps content in atomically, as operators (and certbot) do.
func replaceFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := writeFileAtomic(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

func TestFileReloadValidInvalidValid(t *testing.T) {
	ca := newTestCA(t, "file CA")
	dir := t.TempDir()
	a, aKey := issueKnown(t, ca)
	certFile, keyFile := writePair(t, dir, a, aKey)
	log, sink := testLogger(t)
	m, err := New(context.Background(), Config{Source: SourceFile, CertFile: certFile, KeyFile: keyFile, PollInterval: time.Hour}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := servedSerial(t, m, ca); got != serialOf(t, a) {
		t.Fatalf("served %s, want A", got)
	}

	// A session established before the swap keeps its connection.
	s := m.NewSession("inflight")
	cache := tls.NewLRUClientSessionCache(4)
	if r := dial(t, s.Control(""), clientConfig(ca, tls.VersionTLS13, cache)); r.cliErr != nil {
		t.Fatal(r.cliErr)
	}

	// Invalid: a certificate whose key does not match, then garbage.
	b, _ := issueKnown(t, ca)
	replaceFile(t, certFile, b, 0o644) // key still A's
	if err := m.Reload(); err == nil {
		t.Fatal("Reload accepted a mismatched pair")
	}
	replaceFile(t, certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o644)
	if err := m.Reload(); err == nil {
		t.Fatal("Reload accepted garbage")
	}
	if got := servedSerial(t, m, ca); got != serialOf(t, a) {
		t.Fatalf("after rejected reload served %s, want A", got)
	}
	if !strings.Contains(sink.String(), "certificate reload rejected") {
		t.Fatal("no log line for the rejected pair")
	}
	// A key others can read is refused as well.
	c, cKey := issueKnown(t, ca)
	replaceFile(t, keyFile, cKey, 0o644)
	replaceFile(t, certFile, c, 0o644)
	if err := m.Reload(); err == nil || !strings.Contains(err.Error(), "accessible to others") {
		t.Fatalf("Reload with a world-readable key = %v", err)
	}

	// Valid again.
	replaceFile(t, keyFile, cKey, 0o600)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload valid pair: %v", err)
	}
	if got := servedSerial(t, m, ca); got != serialOf(t, c) {
		t.Fatalf("served %s, want C", got)
	}
	// The earlier session's data connection still resumes (ticket keys
	// are not tied to the certificate).
	if r := dialData(t, s, clientConfig(ca, tls.VersionTLS13, cache)); r.bind != nil {
		t.Fatal("in-flight session lost its binding across a reload")
	}
}

func TestFilePollPicksUpChanges(t *testing.T) {
	ca := newTestCA(t, "file CA")
	dir := t.TempDir()
	a, aKey := issueKnown(t, ca)
	certFile, keyFile := writePair(t, dir, a, aKey)
	log, sink := testLogger(t)
	m, err := New(context.Background(), Config{Source: SourceFile, CertFile: certFile, KeyFile: keyFile, PollInterval: 20 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	waitServed := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if servedSerial(t, m, ca) == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("poll never served %s", want)
	}

	// A broken pair on disk: rejected once with a log line, old pair stays.
	replaceFile(t, certFile, []byte("not pem"), 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(sink.String(), "changed certificate files rejected") {
		if time.Now().After(deadline) {
			t.Fatal("broken files never reported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(sink.String(), "changed certificate files rejected"); n != 1 {
		t.Errorf("broken pair logged %d times, want once", n)
	}
	if got := servedSerial(t, m, ca); got != serialOf(t, a) {
		t.Fatalf("served %s after broken files, want A", got)
	}

	b, bKey := issueKnown(t, ca)
	replaceFile(t, keyFile, bKey, 0o600)
	replaceFile(t, certFile, b, 0o644)
	waitServed(serialOf(t, b))
}

func TestFileStartRefusals(t *testing.T) {
	ca := newTestCA(t, "file CA")
	dir := t.TempDir()
	a, aKey := issueKnown(t, ca)
	certFile, keyFile := writePair(t, dir, a, aKey)
	if err := os.Chmod(keyFile, 0o604); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), Config{Source: SourceFile, CertFile: certFile, KeyFile: keyFile}, nil); err == nil {
		t.Fatal("New accepted a world-readable key")
	}
	if _, err := New(context.Background(), Config{Source: SourceFile, CertFile: filepath.Join(dir, "none"), KeyFile: keyFile}, nil); err == nil {
		t.Fatal("New accepted a missing cert file")
	}
}

func TestExpiriesAndWarning(t *testing.T) {
	ca := newTestCA(t, "expiry CA")
	for _, tc := range []struct {
		left  time.Duration
		warns int
	}{{5 * 24 * time.Hour, 1}, {60 * 24 * time.Hour, 0}} {
		certPEM, keyPEM := ca.issue(t, "soon.example", []string{"soon.example"}, time.Now().Add(tc.left), false)
		certFile, keyFile := writePair(t, t.TempDir(), certPEM, keyPEM)
		log, sink := testLogger(t)
		m, err := New(context.Background(), Config{Source: SourceFile, CertFile: certFile, KeyFile: keyFile}, log)
		if err != nil {
			t.Fatal(err)
		}
		exp := m.Expiries()
		leaf, _ := x509.ParseCertificate(mustDER(t, certPEM))
		if len(exp) != 1 || !exp["soon.example"].Equal(leaf.NotAfter) {
			t.Fatalf("Expiries() = %v, want soon.example → %v", exp, leaf.NotAfter)
		}
		if n := m.checkExpiry(); n != tc.warns {
			t.Fatalf("checkExpiry with %v left warned %d times, want %d", tc.left, n, tc.warns)
		}
		m.Close()
		if got := strings.Contains(sink.String(), "certificate expires soon"); got != (tc.warns > 0) {
			t.Fatalf("warning logged = %v, want %v", got, tc.warns > 0)
		}
	}
}
