package tlsmgr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// pebble is a running Pebble ACME server started by a test.
type pebble struct {
	dirURL   string
	mgmt     string
	caFile   string // CA of Pebble's own HTTPS listener
	client   *http.Client
	httpPort int // where our http-01 solver listens
	alpnPort int // where our tls-alpn-01 solver listens
}

func findPebble(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	gopath := build.Default.GOPATH
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		gopath = strings.TrimSpace(string(out))
	}
	p := filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin", "pebble")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := "pebble not found: go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startPebble runs Pebble on loopback with a throwaway CA for its listener
// and the given certificate validity; it is stopped at cleanup.
func startPebble(t *testing.T, validity time.Duration) *pebble {
	return startPebbleOpts(t, validity, "")
}

// startPebbleOpts: dnsServer "" validates every challenge without looking
// (PEBBLE_VA_ALWAYS_VALID); otherwise Pebble resolves names there and
// really connects to our challenge solvers.
func startPebbleOpts(t *testing.T, validity time.Duration, dnsServer string) *pebble {
	t.Helper()
	bin := findPebble(t)
	dir := t.TempDir()
	ca := newTestCA(t, "pebble listener CA")
	certPEM, keyPEM := ca.issue(t, "localhost", []string{"localhost", "127.0.0.1"}, time.Now().Add(24*time.Hour), false)
	certFile, keyFile := writePair(t, dir, certPEM, keyPEM)
	p := &pebble{caFile: filepath.Join(dir, "ca.pem"), httpPort: testkit.FreePort(t, "127.0.0.1"), alpnPort: testkit.FreePort(t, "127.0.0.1")}
	if err := os.WriteFile(p.caFile, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t, "127.0.0.1"))
	p.mgmt = fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t, "127.0.0.1"))
	p.dirURL = "https://" + listen + "/dir"
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  listen,
		"managementListenAddress":        p.mgmt,
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       p.httpPort,
		"tlsPort":                        p.alpnPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
		"profiles": map[string]any{"default": map[string]any{
			"description": "test", "validityPeriod": int(validity / time.Second),
		}},
	}}
	confJSON, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, confJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-config", confFile, "-strict=false"}
	env := append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	if dnsServer == "" {
		env = append(env, "PEBBLE_VA_ALWAYS_VALID=1")
	} else {
		args = append(args, "-dnsserver", dnsServer)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	logFile, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("pebble log:\n%s", b)
			}
		}
	})
	p.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := p.client.Get(p.dirURL)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// roots fetches Pebble's issuing root (a new one at every start).
func (p *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.client.Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("roots: %v %d", err, resp.StatusCode)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("roots/0 is not PEM")
	}
	return pool
}

func (p *pebble) acmeConfig(t *testing.T, domains ...string) Config {
	return Config{Source: SourceACME, ACME: ACMEConfig{
		Domains:             domains,
		Email:               "ops@example.com",
		CAURL:               p.dirURL,
		CARootFile:          p.caFile,
		Storage:             filepath.Join(t.TempDir(), "acme"),
		Challenges:          []string{ChallengeHTTP01, ChallengeTLSALPN01},
		HTTPPort:            p.httpPort,
		TLSALPNPort:         p.alpnPort,
		ListenHost:          "127.0.0.1",
		DisableOCSPStapling: true,
	}}
}

// acmeLeaf handshakes with a session's control config and returns the
// leaf, verified against roots for name. sni "" sends no SNI, so the HOST
// name picks the certificate.
func acmeLeaf(t *testing.T, m *Manager, roots *x509.CertPool, sni, host, name string) *x509.Certificate {
	t.Helper()
	c := &tls.Config{ServerName: sni, RootCAs: roots, MinVersion: tls.VersionTLS12}
	if sni == "" {
		c.ServerName = "127.0.0.1" // an IP: crypto/tls sends no SNI
		c.InsecureSkipVerify = true
	}
	r := dial(t, m.NewSession("acme").Control(host), c)
	if r.cliErr != nil || r.srvErr != nil {
		t.Fatalf("handshake sni=%q host=%q: %v / %v", sni, host, r.cliErr, r.srvErr)
	}
	leaf := r.client.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.client.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
		t.Fatalf("leaf for %s does not verify against pebble's root: %v", name, err)
	}
	return leaf
}

func TestACMEPebble(t *testing.T) {
	p := startPebble(t, 90*24*time.Hour)
	log, sink := testLogger(t)
	ctx := context.Background()
	cfg := p.acmeConfig(t, "ftp.test.example", "alt.test.example")
	m, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	roots := p.roots(t)
	if !m.src.(*acmeSource).magic.OCSP.DisableStapling {
		t.Error("ocsp stapling not disabled as configured")
	}

	a := acmeLeaf(t, m, roots, "ftp.test.example", "", "ftp.test.example")
	acmeLeaf(t, m, roots, "alt.test.example", "", "alt.test.example")
	acmeLeaf(t, m, roots, "", "alt.test.example", "alt.test.example") // HOST before AUTH
	acmeLeaf(t, m, roots, "", "", "ftp.test.example")                 // no name: the first domain
	if !strings.Contains(sink.String(), "logger=") {
		t.Error("certmagic's zap logs did not reach hclog")
	}
	exp := m.Expiries()
	if len(exp) != 2 || exp["ftp.test.example"].IsZero() || exp["alt.test.example"].IsZero() {
		t.Fatalf("Expiries() = %v", exp)
	}
	if got := filepath.Join(cfg.ACME.Storage, "certificates"); !dirExists(got) {
		t.Fatalf("nothing stored under %s", got)
	}

	// Forced renewal through certmagic's renewal path stores a new
	// certificate; a restart on the same storage serves it without a new
	// issuance. (Swapping it into memory is maintenance's job, covered by
	// TestACMEAutomaticRenewal.)
	if err := m.src.(*acmeSource).magic.RenewCertSync(ctx, "ftp.test.example", true); err != nil {
		t.Fatalf("renew: %v", err)
	}
	m.Close()
	orders := strings.Count(sink.String(), "certificate obtained successfully")
	m2, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	b := acmeLeaf(t, m2, roots, "ftp.test.example", "", "ftp.test.example")
	if a.SerialNumber.Cmp(b.SerialNumber) == 0 {
		t.Fatal("renewal did not produce a new certificate")
	}
	if n := strings.Count(sink.String(), "certificate obtained successfully"); n != orders {
		t.Fatalf("restart obtained %d new certificates, want 0", n-orders)
	}
}

// TestACMEAutomaticRenewal: with short-lived certificates certmagic's own
// maintenance renews without anyone asking, and handshakes pick it up.
func TestACMEAutomaticRenewal(t *testing.T) {
	p := startPebble(t, 40*time.Second)
	log, _ := testLogger(t)
	cfg := p.acmeConfig(t, "auto.test.example")
	cfg.ACME.renewCheckInterval = 500 * time.Millisecond
	cfg.ACME.renewalWindowRatio = 0.9 // renew once less than 36 s are left
	m, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	roots := p.roots(t)
	first := acmeLeaf(t, m, roots, "auto.test.example", "", "auto.test.example")
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := acmeLeaf(t, m, roots, "auto.test.example", "", "auto.test.example")
		if l.SerialNumber.Cmp(first.SerialNumber) != 0 {
			t.Logf("renewed after %s", time.Since(first.NotBefore).Round(time.Second))
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("certificate was not renewed automatically")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
