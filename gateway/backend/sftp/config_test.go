package sftp

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
)

// keyFiles writes a private key, a password file and a known_hosts file
// pinning a fresh host key for addr, and returns their paths.
func keyFiles(t *testing.T, addr string) (key, password, knownHosts string) {
	t.Helper()
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key = filepath.Join(dir, "id_ed25519")
	password = filepath.Join(dir, "password")
	knownHosts = filepath.Join(dir, "known_hosts")
	hostPub, _, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := ssh.NewPublicKey(hostPub)
	line := fmt.Sprintf("%s %s", strings.Split(addr, ":")[0], ssh.MarshalAuthorizedKey(hk))
	for file, data := range map[string][]byte{key: pem.EncodeToMemory(block), password: []byte("pw\n"), knownHosts: []byte(line)} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return key, password, knownHosts
}

func validConfig(t *testing.T) *Config {
	t.Helper()
	c := NewConfig()
	c.Address = "sftp.internal:22"
	c.User = "gateway"
	c.PrivateKeyFile, c.PasswordFile, c.KnownHostsFile = keyFiles(t, c.Address)
	return c
}

func TestValidate(t *testing.T) {
	encrypted := filepath.Join(t.TempDir(), "encrypted")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	os.WriteFile(encrypted, pem.EncodeToMemory(block), 0o600)
	otherHost := validConfig(t)
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // "" means valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"key only", func(c *Config) { c.PasswordFile = "" }, ""},
		{"password only", func(c *Config) { c.PrivateKeyFile = "" }, ""},
		{"no known_hosts_file", func(c *Config) { c.KnownHostsFile = "" }, "known_hosts_file"},
		{"missing known_hosts_file", func(c *Config) { c.KnownHostsFile = "/nonexistent/known_hosts" }, "known_hosts_file"},
		{"host not pinned", func(c *Config) { c.Address = "other.internal:22" }, "known_hosts_file"},
		{"pinned for another port", func(c *Config) { c.Address = "sftp.internal:2222" }, "known_hosts_file"},
		{"no credentials", func(c *Config) { c.PasswordFile, c.PrivateKeyFile = "", "" }, "private_key_file"},
		{"encrypted key", func(c *Config) { c.PrivateKeyFile = encrypted }, "private_key_file"},
		{"not a key", func(c *Config) { c.PrivateKeyFile = otherHost.KnownHostsFile }, "private_key_file"},
		{"missing key", func(c *Config) { c.PrivateKeyFile = "/nonexistent/key" }, "private_key_file"},
		{"no address", func(c *Config) { c.Address = "" }, "address"},
		{"no port", func(c *Config) { c.Address = "sftp.internal" }, "address"},
		{"bad port", func(c *Config) { c.Address = "sftp.internal:99999" }, "address"},
		{"no user", func(c *Config) { c.User = "" }, "user"},
		{"relative root", func(c *Config) { c.Root = "export" }, "root"},
		{"unclean root", func(c *Config) { c.Root = "/export/../etc" }, "root"},
		{"zero max_connections", func(c *Config) { c.MaxConnections = 0 }, "max_connections"},
		{"zero concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency"},
		{"huge concurrency", func(c *Config) { c.Concurrency = 1 << 20 }, "concurrency"},
		{"bad keepalive", func(c *Config) { c.Keepalive = "often" }, "keepalive"},
		{"negative keepalive", func(c *Config) { c.Keepalive = "-1s" }, "keepalive"},
		{"keepalive off", func(c *Config) { c.Keepalive = "0s" }, ""},
		{"bad op_timeout", func(c *Config) { c.OpTimeout = "30" }, "op_timeout"},
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

func TestValidateChecksFiles(t *testing.T) {
	c := validConfig(t)
	r := backendtest.NewReporter()
	c.Validate(r)
	want := map[string]bool{"private_key_file": true, "password_file": true, "known_hosts_file": false}
	for key, secret := range want {
		if got, ok := r.Files[key]; !ok || got != secret {
			t.Errorf("File(%q) checked=%v secret=%v, want secret=%v", key, ok, got, secret)
		}
	}
}

func TestKnownHostsRequiredMessage(t *testing.T) {
	c := validConfig(t)
	c.KnownHostsFile = ""
	r := backendtest.NewReporter()
	c.Validate(r)
	if msg := strings.Join(r.Errs["known_hosts_file"], " "); !strings.Contains(msg, "mandatory") {
		t.Errorf("message %q does not say pinning is mandatory", msg)
	}
}

func TestRegistered(t *testing.T) {
	typ, ok := backend.Lookup("sftp")
	if !ok {
		t.Fatal(`backend type "sftp" not registered`)
	}
	c, ok := typ.NewConfig().(*Config)
	if !ok {
		t.Fatalf("NewConfig returned %T", typ.NewConfig())
	}
	if *c != *NewConfig() {
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
address          = "sftp.internal:22"
user             = "gateway"
private_key_file = "/etc/ftpsgw/id_ed25519"
known_hosts_file = "/etc/ftpsgw/known_hosts"
root             = "/export"
max_connections  = 8
`)
	if diags != "no diagnostics" {
		t.Fatalf("decode: %s", diags)
	}
	want := NewConfig()
	want.Address, want.User, want.Root, want.MaxConnections = "sftp.internal:22", "gateway", "/export", 8
	want.PrivateKeyFile, want.KnownHostsFile = "/etc/ftpsgw/id_ed25519", "/etc/ftpsgw/known_hosts"
	if *c != *want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if _, diags := decode(t, "address = \"a:22\"\nuser = \"u\"\nhost_key = \"x\"\n"); !strings.Contains(diags, "host_key") {
		t.Errorf("unknown key accepted: %s", diags)
	}
	if _, diags := decode(t, "user = \"u\"\n"); !strings.Contains(diags, "address") {
		t.Errorf("missing address accepted: %s", diags)
	}
}

func TestPinnedAlgorithms(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for _, typ := range []string{"ed25519", "rsa"} {
		var pub ssh.PublicKey
		if typ == "ed25519" {
			p, _, _ := ed25519.GenerateKey(rand.Reader)
			pub, _ = ssh.NewPublicKey(p)
		} else {
			pub = rsaPublicKey(t)
		}
		lines = append(lines, "[10.0.0.1]:2222 "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))))
	}
	file := filepath.Join(dir, "known_hosts")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	c := validConfig(t)
	c.Address, c.KnownHostsFile = "10.0.0.1:2222", file
	st, err := c.settings()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	if !slices.Equal(st.hostKeyAlgos, want) {
		t.Errorf("host key algorithms %q, want %q", st.hostKeyAlgos, want)
	}
}
