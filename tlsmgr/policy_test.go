package tlsmgr

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	file := Config{Source: SourceFile, CertFile: "c", KeyFile: "k"}
	with := func(f func(*Config)) Config {
		c := file
		f(&c)
		return c
	}
	acme := Config{Source: SourceACME, ACME: ACMEConfig{Domains: []string{"ftp.example.com"}, Storage: "/var/lib/x"}}
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; nil: valid
	}{
		{"file ok", file, nil},
		{"min 1.3", with(func(c *Config) { c.MinVersion = "1.3" }), nil},
		{"min 1.2", with(func(c *Config) { c.MinVersion = "1.2" }), nil},
		{"min 1.1", with(func(c *Config) { c.MinVersion = "1.1" }), []string{`min_version "1.1" is not allowed`}},
		{"min 1.0", with(func(c *Config) { c.MinVersion = "1.0" }), []string{`min_version "1.0"`}},
		{"min ssl3", with(func(c *Config) { c.MinVersion = "ssl3" }), []string{`min_version "ssl3"`}},
		{"min tls1.2 spelled", with(func(c *Config) { c.MinVersion = "TLS1.2" }), []string{`min_version "TLS1.2"`}},
		{"no source", Config{}, []string{"source is required"}},
		{"bad source", Config{Source: "letsencrypt"}, []string{`source "letsencrypt" is unknown`}},
		{"file missing both", Config{Source: SourceFile, MinVersion: "1.0"}, []string{"needs cert_file", "needs key_file", `min_version "1.0"`}},
		{"self signed no dir", Config{Source: SourceSelfSigned}, []string{"state directory"}},
		{"client required without ca", with(func(c *Config) { c.ClientCert = "required" }), []string{"needs client_ca_file"}},
		{"client bogus", with(func(c *Config) { c.ClientCert = "maybe" }), []string{`client_cert "maybe" is unknown`}},
		{"client none with ca", with(func(c *Config) { c.ClientCert = "none"; c.ClientCAFile = "ca.pem" }), []string{"client_ca_file is set"}},
		{"client optional", with(func(c *Config) { c.ClientCert = "optional"; c.ClientCAFile = "ca.pem" }), nil},
		{"client default with ca", with(func(c *Config) { c.ClientCAFile = "ca.pem" }), nil},
		{"acme ok", acme, nil},
		{"acme empty", Config{Source: SourceACME}, []string{"domains is empty", "storage directory is required"}},
		{"acme bad", Config{Source: SourceACME, ACME: ACMEConfig{Domains: []string{"10.0.0.1"}, Storage: "s", CAURL: "http://ca", Challenges: []string{"dns-01"}, HTTPPort: 70000}},
			[]string{"not a DNS name", "must be an https://", `challenge "dns-01"`, "http_port 70000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
		})
	}
	if _, err := New(context.Background(), with(func(c *Config) { c.MinVersion = "1.1" }), nil); err == nil {
		t.Fatal("New accepted min_version 1.1")
	}
}

// TestPolicyRefusesWeakClients: TLS 1.0/1.1 and non-AEAD TLS 1.2 suites are
// refused on both the control and the data configs; good clients pass.
func TestPolicyRefusesWeakClients(t *testing.T) {
	ca := newTestCA(t, "policy CA")
	m := fileManager(t, ca, nil)
	m13 := fileManager(t, ca, func(c *Config) { c.MinVersion = "1.3" })
	s := m.NewSession("p")
	s13 := m13.NewSession("p13")
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256, // AEAD but no ECDHE
	}
	weak := []struct {
		name string
		cfg  func() *tls.Config
	}{
		{"TLS1.0", func() *tls.Config { c := clientConfig(ca, tls.VersionTLS10, nil); return c }},
		{"TLS1.1", func() *tls.Config { c := clientConfig(ca, tls.VersionTLS11, nil); return c }},
		{"TLS1.2-CBC", func() *tls.Config {
			c := clientConfig(ca, tls.VersionTLS12, nil)
			c.CipherSuites = cbc
			return c
		}},
	}
	servers := map[string]server{"control": cfgServer(s.Control("")), "data": dataServer(s, false),
		"control-1.3": cfgServer(s13.Control("")), "data-1.3": dataServer(s13, false)}
	for sname, scfg := range servers {
		for _, w := range weak {
			t.Run(sname+"/"+w.name, func(t *testing.T) {
				r := dialSide(t, scfg, w.cfg(), false)
				if r.cliErr == nil || r.srvErr == nil {
					t.Fatalf("weak client accepted: version %x suite %x", r.server.Version, r.server.CipherSuite)
				}
			})
		}
		t.Run(sname+"/good", func(t *testing.T) {
			v := uint16(tls.VersionTLS12)
			if strings.HasSuffix(sname, "1.3") {
				v = tls.VersionTLS13
			}
			r := dialSide(t, scfg, clientConfig(ca, v, nil), false)
			if r.cliErr != nil || r.srvErr != nil {
				t.Fatalf("good client refused: %v / %v", r.cliErr, r.srvErr)
			}
		})
	}
	t.Run("control-1.3/TLS1.2", func(t *testing.T) {
		if r := dial(t, s13.Control(""), clientConfig(ca, tls.VersionTLS12, nil)); r.cliErr == nil {
			t.Fatal("min_version 1.3 accepted a TLS 1.2 client")
		}
	})
	// Positive control: the same CBC client is accepted by a config with
	// crypto/tls defaults, so the refusal above is our policy at work.
	t.Run("defaults-accept-cbc", func(t *testing.T) {
		def := &tls.Config{GetCertificate: s.Control("").GetCertificate}
		c := clientConfig(ca, tls.VersionTLS12, nil)
		c.CipherSuites = cbc
		if r := dial(t, def, c); r.cliErr != nil {
			t.Fatalf("default config refused cbc: %v", r.cliErr)
		}
	})
	for _, suite := range s.Control("").CipherSuites {
		info := tls.CipherSuiteName(suite)
		if !strings.Contains(info, "ECDHE") || !(strings.Contains(info, "GCM") || strings.Contains(info, "CHACHA20")) {
			t.Errorf("suite %s is not ECDHE+AEAD", info)
		}
	}
}

// TestPolicyOpenSSL tries real openssl clients when openssl is installed.
func TestPolicyOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	ca := newTestCA(t, "policy CA")
	m := fileManager(t, ca, nil)
	s := m.NewSession("o")
	for name, scfg := range map[string]server{"control": cfgServer(s.Control("")), "data": dataServer(s, false)} {
		cases := []struct {
			name string
			args []string
			ok   bool
		}{
			{"tls1_1", []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, false},
			{"tls1_2-cbc", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256"}, false},
			{"tls1_2-gcm", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, true},
			{"tls1_3", []string{"-tls1_3"}, true},
		}
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				srvErr, out, cliErr := opensslClient(t, bin, ca, scfg, tc.args)
				if tc.ok && (srvErr != nil || cliErr != nil) {
					t.Fatalf("openssl refused: server %v, client %v\n%s", srvErr, cliErr, out)
				}
				if !tc.ok && (srvErr == nil || cliErr == nil) {
					t.Fatalf("openssl accepted: server %v, client %v\n%s", srvErr, cliErr, out)
				}
				t.Logf("server: %v", srvErr)
			})
		}
	}
}

func opensslClient(t *testing.T, bin string, ca *testCA, mk server, args []string) (srvErr error, out []byte, cliErr error) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		sc, _ := mk(c)
		if err := sc.Handshake(); err != nil {
			done <- err
			return
		}
		_, _ = sc.Write([]byte("hello\n"))
		done <- sc.Close() // close_notify, so openssl exits 0
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	argv := append([]string{"s_client", "-connect", ln.Addr().String(), "-servername", "localhost", "-brief",
		"-CAfile", caFile, "-verify_return_error"}, args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Stdin = strings.NewReader("")
	out, cliErr = cmd.CombinedOutput()
	select {
	case srvErr = <-done:
	case <-time.After(10 * time.Second):
		srvErr = errors.New("server handshake did not finish")
	}
	return srvErr, out, cliErr
}
