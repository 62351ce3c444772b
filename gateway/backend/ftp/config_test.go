package ftp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
)

// validConfig is a service-account config with a password file and a CA
// file.
func validConfig(t *testing.T) *Config {
	t.Helper()
	dir := t.TempDir()
	c := NewConfig()
	c.Address = "mainframe.internal:21"
	c.User = "svc"
	c.PasswordFile = filepath.Join(dir, "password")
	c.CAFile = filepath.Join(dir, "ca.pem")
	os.WriteFile(c.PasswordFile, []byte("pw\n"), 0o600)
	os.WriteFile(c.CAFile, testCA(t), 0o644)
	return c
}

// testCA returns a fresh self-signed CA certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ftpsgw test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // "" means valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"pinned only", func(c *Config) { c.CAFile, c.Fingerprint = "", "SHA256:"+strings.Repeat("ab", 32) }, ""},
		{"system roots", func(c *Config) { c.CAFile = "" }, ""},
		{"implicit", func(c *Config) { c.TLS = TLSImplicit }, ""},
		{"passthrough", func(c *Config) { c.Credentials, c.User, c.PasswordFile = CredentialsPassthrough, "", "" }, ""},
		{"passthrough with a service account", func(c *Config) { c.Credentials = CredentialsPassthrough }, "credentials"},
		{"unknown credentials", func(c *Config) { c.Credentials = "kerberos" }, "credentials"},
		{"no user", func(c *Config) { c.User = "" }, "user"},
		{"user with LF", func(c *Config) { c.User = "svc\nDELE x" }, "user"},
		{"no password_file", func(c *Config) { c.PasswordFile = "" }, "password_file"},
		{"missing password_file", func(c *Config) { c.PasswordFile = "/nonexistent/pw" }, "password_file"},
		{"no address", func(c *Config) { c.Address = "" }, "address"},
		{"no port", func(c *Config) { c.Address = "mainframe.internal" }, "address"},
		{"bad port", func(c *Config) { c.Address = "mainframe.internal:0" }, "address"},
		{"relative root", func(c *Config) { c.Root = "export" }, "root"},
		{"unclean root", func(c *Config) { c.Root = "/export/../etc" }, "root"},
		{"root with CR", func(c *Config) { c.Root = "/ex\rport" }, "root"},
		{"unknown tls", func(c *Config) { c.TLS = "starttls" }, "tls"},
		{"ca_file in clear", func(c *Config) { c.TLS = TLSNone }, "tls"},
		{"not a CA file", func(c *Config) { c.CAFile = c.PasswordFile }, "ca_file"},
		{"missing CA file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "ca_file"},
		{"bad fingerprint", func(c *Config) { c.Fingerprint = "SHA256:abc" }, "fingerprint"},
		{"zero max_connections", func(c *Config) { c.MaxConnections = 0 }, "max_connections"},
		{"bad keepalive", func(c *Config) { c.Keepalive = "often" }, "keepalive"},
		{"keepalive off", func(c *Config) { c.Keepalive = "0s" }, ""},
		{"zero op_timeout", func(c *Config) { c.OpTimeout = "0s" }, "op_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.change(c)
			r := backendtest.NewReporter()
			c.Validate(r)
			if tc.key == "" {
				if len(r.Errs) != 0 {
					t.Errorf("valid config reported %v", r.Errs)
				}
				return
			}
			if len(r.Errs[tc.key]) == 0 {
				t.Errorf("no error on %q; got %v", tc.key, r.Errs)
			}
			if _, err := c.open("test", nil); err == nil {
				t.Errorf("Open accepted the config")
			}
		})
	}
}

// TestClearWarns: tls = "none" passes check-config with a warning that
// names what goes upstream in clear.
func TestClearWarns(t *testing.T) {
	for creds, want := range map[string]string{CredentialsService: "service account's password", CredentialsPassthrough: "every user's password"} {
		c := validConfig(t)
		c.TLS, c.CAFile, c.Credentials = TLSNone, "", creds
		if creds == CredentialsPassthrough {
			c.User, c.PasswordFile = "", ""
		}
		r := backendtest.NewReporter()
		c.Validate(r)
		if len(r.Errs) != 0 {
			t.Errorf("%s: errors %v", creds, r.Errs)
		}
		if w := strings.Join(r.Warns["tls"], " "); !strings.Contains(w, want) || !strings.Contains(w, "in clear") {
			t.Errorf("%s: warning %q, want one naming %q in clear", creds, w, want)
		}
	}
	r := backendtest.NewReporter()
	validConfig(t).Validate(r)
	if len(r.Warns) != 0 {
		t.Errorf("the default (explicit TLS) warned: %v", r.Warns)
	}
}

func TestValidateChecksFiles(t *testing.T) {
	r := backendtest.NewReporter()
	validConfig(t).Validate(r)
	for key, secret := range map[string]bool{"password_file": true, "ca_file": false} {
		if got, ok := r.Files[key]; !ok || got != secret {
			t.Errorf("File(%q) checked=%v secret=%v, want secret=%v", key, ok, got, secret)
		}
	}
}

func TestParseFingerprint(t *testing.T) {
	sum := sha256.Sum256([]byte("certificate"))
	hexed := hex.EncodeToString(sum[:])
	var colons []string
	for i := 0; i < len(hexed); i += 2 {
		colons = append(colons, strings.ToUpper(hexed[i:i+2]))
	}
	for _, s := range []string{
		"SHA256:" + hexed, hexed, strings.Join(colons, ":"), "SHA256:" + strings.Join(colons, ":"),
		"sha256:" + hexed, "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]),
	} {
		got, err := parseFingerprint(s)
		if err != nil || hex.EncodeToString(got) != hexed {
			t.Errorf("parseFingerprint(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "SHA256:", hexed[:62], "MD5:" + hexed, base64.RawStdEncoding.EncodeToString(sum[:]), hexed + "00"} {
		if _, err := parseFingerprint(s); err == nil {
			t.Errorf("parseFingerprint(%q) succeeded", s)
		}
	}
}

func TestRegistered(t *testing.T) {
	typ, ok := backend.Lookup("ftp")
	if !ok {
		t.Fatal(`backend type "ftp" not registered`)
	}
	c, ok := typ.NewConfig().(*Config)
	if !ok {
		t.Fatalf("NewConfig returned %T", typ.NewConfig())
	}
	if *c != *NewConfig() || c.TLS != TLSExplicit || c.Credentials != CredentialsService {
		t.Errorf("registered NewConfig = %+v, want the defaults", c)
	}
}

// decode decodes an HCL body over the defaults, as the loader does.
func decode(t *testing.T, src string) (*Config, string) {
	c := NewConfig()
	return c, backendtest.Decode(t, src, c)
}

func TestDecodeHCL(t *testing.T) {
	c, diags := decode(t, `
address       = "10.9.9.9:21"
user          = "svc"
password_file = "/etc/ftpsgw/upstream.secret"
root          = "/"
tls           = "none"
credentials   = "service"
`)
	if diags != "no diagnostics" {
		t.Fatalf("decode: %s", diags)
	}
	want := NewConfig()
	want.Address, want.User, want.PasswordFile, want.TLS = "10.9.9.9:21", "svc", "/etc/ftpsgw/upstream.secret", TLSNone
	if *c != *want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if _, diags := decode(t, "address = \"a:21\"\npassive = true\n"); !strings.Contains(diags, "passive") {
		t.Errorf("unknown key accepted: %s", diags)
	}
	if _, diags := decode(t, "user = \"u\"\n"); !strings.Contains(diags, "address") {
		t.Errorf("missing address accepted: %s", diags)
	}
}
