package metrics

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	ts := serve(t, newMetrics(t, Config{}), nil)
	code, body := ts.get(t, "/healthz")
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}
	if code, _ := ts.get(t, "/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing = %d, want 404", code)
	}
}

func TestReadyz(t *testing.T) {
	m := newMetrics(t, Config{})
	ts := serve(t, m, nil)
	if code, body := ts.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with no checks = %d %q, want 200", code, body)
	}

	m.AddReadyCheck("listeners", func(context.Context) error { return nil })
	m.AddReadyCheck("backend:files", func(context.Context) error { return errors.New("connection refused") })
	m.AddReadyCheck("certificates", func(context.Context) error { panic("boom") })
	code, body := ts.get(t, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with failing checks = %d, want 503", code)
	}
	if body != "not ready: backend:files certificates\nbackend:files down: failed\ncertificates down: failed\nlisteners up\n" {
		t.Errorf("/readyz body = %q", body)
	}
	if strings.Contains(body, "refused") {
		t.Error("/readyz leaks a check's error text")
	}

	m.AddReadyCheck("backend:files", func(ctx context.Context) error { return ctx.Err() })
	m.AddReadyCheck("certificates", func(context.Context) error { return nil })
	if code, body := ts.get(t, "/readyz"); code != http.StatusOK || body != "ok\nbackend:files up\ncertificates up\nlisteners up\n" {
		t.Errorf("/readyz with passing checks = %d %q, want 200 ok", code, body)
	}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

func TestBasicAuth(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret-pass\n", 0o600)
	m := newMetrics(t, Config{BasicAuthUser: "prom", BasicAuthPasswordFile: pw})
	ts := serve(t, m, nil)

	cases := []struct {
		path string
		auth []string
		want int
	}{
		{"/metrics", nil, http.StatusUnauthorized},
		{"/metrics", []string{"prom", "wrong"}, http.StatusUnauthorized},
		{"/metrics", []string{"prom", "s3cret-pass\n"}, http.StatusUnauthorized},
		{"/metrics", []string{"prom", "s3cret-pas"}, http.StatusUnauthorized},
		{"/metrics", []string{"admin", "s3cret-pass"}, http.StatusUnauthorized},
		{"/metrics", []string{"prom", "s3cret-pass"}, http.StatusOK},
		{"/readyz", nil, http.StatusUnauthorized},
		{"/readyz", []string{"prom", "s3cret-pass"}, http.StatusOK},
		{"/healthz", nil, http.StatusOK},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, ts.base+c.path, nil)
		if c.auth != nil {
			req.SetBasicAuth(c.auth[0], c.auth[1])
		}
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s auth=%q: %d, want %d", c.path, c.auth, resp.StatusCode, c.want)
		}
		if c.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: no WWW-Authenticate challenge", c.path)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	open := writeFile(t, "pw", "x\n", 0o644)
	empty := writeFile(t, "pw", "\n", 0o600)
	cases := map[string]Config{
		"user without file":  {BasicAuthUser: "prom"},
		"file without user":  {BasicAuthPasswordFile: empty},
		"world-readable pw":  {BasicAuthUser: "prom", BasicAuthPasswordFile: open},
		"empty password":     {BasicAuthUser: "prom", BasicAuthPasswordFile: empty},
		"missing pw file":    {BasicAuthUser: "prom", BasicAuthPasswordFile: filepath.Join(t.TempDir(), "none")},
		"cert without key":   {TLSCertFile: "cert.pem"},
		"key without cert":   {TLSKeyFile: "key.pem"},
		"missing key pair":   {TLSCertFile: "/nonexistent/c", TLSKeyFile: "/nonexistent/k"},
		"world-readable key": {TLSCertFile: open, TLSKeyFile: open},
	}
	for name, cfg := range cases {
		if _, err := New(cfg, "v"); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key (mode 0600)
// and returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "metrics test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), 0o644)
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	m := newMetrics(t, Config{TLSCertFile: certFile, TLSKeyFile: keyFile})
	ts := serve(t, m, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if code, _ := ts.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("https /healthz = %d", code)
	}
	fams, _ := ts.scrape(t)
	if _, ok := fams["ftpsgw_build_info"]; !ok {
		t.Error("no build info over TLS")
	}

	// A TLS 1.1 client is refused.
	old := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}
	defer old.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: old}).Get(ts.base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.1 client accepted")
	}
	// Plain HTTP gets no metrics.
	plainURL := "http://" + strings.TrimPrefix(ts.base, "https://")
	plainTr := &http.Transport{}
	defer plainTr.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: plainTr}).Get(plainURL + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "ftpsgw_") {
			t.Errorf("plain HTTP served %d", resp.StatusCode)
		}
	}
}

// TestSlowHeaderClosed checks ReadHeaderTimeout: a client that never
// finishes its request headers is disconnected.
func TestSlowHeaderClosed(t *testing.T) {
	t.Parallel()
	ts := serve(t, newMetrics(t, Config{}), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(readHeaderTimeout + 5*time.Second))
	_, err = io.ReadAll(conn)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d < readHeaderTimeout-time.Second {
		t.Errorf("closed after %v, before ReadHeaderTimeout", d)
	}
}

func TestServeAfterShutdown(t *testing.T) {
	m := newMetrics(t, Config{})
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("listener left open")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	ts := serve(t, newMetrics(t, Config{}), nil)
	resp, err := ts.client.Post(ts.base+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics = %d, want 405", resp.StatusCode)
	}
}
