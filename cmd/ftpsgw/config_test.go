package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/policy"
)

// demoHash is the argon2id hash of "demo-ftpsgw-2026" used by quickstart.hcl.
const demoHash = "$argon2id$v=19$m=65536,t=3,p=2$szmUazhV5BezWWpe6Nv4Bw$Sy43mAZeVzb15saxEozANhbMel5q04qJYR9tZzaJWKk"

// writeFile writes content to dir/name with mode and returns the path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

// checkConfig runs `ftpsgw check-config -config path`.
func checkConfig(t *testing.T, path string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run([]string{"check-config", "-config", path}, strings.NewReader(""), &out, &errOut)
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return code, out.String()
}

// minimal is a valid config; %s are the data directory and the key file.
const minimal = `tls {
  source    = "self_signed"
  state_dir = %q
}
backend "local" "files" {
  root = %q
}
user "demo" {
  password_hash = %q
  permissions   = ["*"]
}
`

func TestCheckConfigReportsEveryProblemWithItsLine(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, dir, "cert.pem", "not checked here", 0o644)
	key := writeFile(t, dir, "key.pem", "secret", 0o644) // world-readable
	cfg := fmt.Sprintf(`server {
  listen       = ["127.0.0.1:2121"]
  idle_timeout = "5 minutes"
  colour       = "blue"
}
tls {
  source    = "file"
  cert_file = %q
  key_file  = %q
  min_version = "1.1"
}
passive {
  port_range = "80-90"
}
backend "local" "files" {
  root = %q
}
user "alice" {
  password_hash = %q
  backend       = "nosuch"
  permissions   = ["list", "fly"]
  max_file_size = "10 gigs"
  bandwidth {
    upload = "fast"
  }
}
user "bob" {
  password_hash = "plaintext"
  allow_from    = ["10.0.0.0/33"]
  rule "/in/**" {
    permissions = ["upload", "teleport"]
  }
}
`, cert, key, dir, demoHash)
	path := writeFile(t, dir, "bad.hcl", cfg, 0o644)
	code, out := checkConfig(t, path)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := []struct {
		line int
		text string
	}{
		{3, `idle_timeout: duration "5 minutes"`},
		{4, `Unsupported argument: An argument named "colour" is not expected here.`},
		{9, "key_file: " + key + " holds a secret but is accessible to others or writable by its group (mode 0644)"},
		{10, `min_version "1.1"`},
		{13, `port_range: "80-90"`},
		{20, `user "alice": backend "nosuch" is not defined (defined: "files")`},
		{21, `user "alice": permissions: unknown permission "fly"`},
		{22, `max_file_size: size "10 gigs"`},
		{24, `upload: rate "fast"`},
		{28, `user "bob": password_hash`},
		{29, `allow_from: "10.0.0.0/33" is not a CIDR`},
		{31, `rule "/in/**": permissions: unknown permission "teleport"`},
	}
	for _, w := range want {
		prefix := fmt.Sprintf("%s:%d: ", path, w.line)
		found := false
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, prefix) && strings.Contains(l, w.text) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line %q...%q in output", prefix, w.text)
		}
	}
	if !strings.Contains(out, "problem(s)") {
		t.Errorf("no summary line")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
	if strings.Contains(out, "secret\n") {
		t.Error("the key file's content leaked into the output")
	}
}

func TestCheckConfigSemanticProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  string
		line int
		text string
	}{
		{"no backend", `tls { source = "self_signed" }
user "a" { password_hash = "` + demoHash + `" }
`, 1, "no backend"},
		{"no tls", `backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 1, "missing tls block"},
		{"no users", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
`, 1, "no users"},
		{"unknown backend type", `tls { source = "self_signed" }
backend "nfs" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 2, `unknown type "nfs"`},
		{"sftp needs known_hosts", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
backend "sftp" "s" {
  address = "h:22"
  user = "u"
  private_key_file = "/nonexistent"
}
user "a" { password_hash = "` + demoHash + `" }
`, 3, `known_hosts_file is required: host key pinning is mandatory`},
		{"mount overlap", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
user "a" {
  password_hash = "` + demoHash + `"
  mount "/m" {
    backend = "f"
  }
  mount "/m/n" {
    backend = "f"
  }
}
`, 8, `user "a": mount /m/n: overlaps mount /m`},
		{"mount unknown backend", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
group "g" {
  mount "/m" {
    backend = "nosuch"
  }
}
user "a" { password_hash = "` + demoHash + `" }
`, 5, `group "g": mount "/m": backend "nosuch" is not defined`},
		{"user backend ambiguous", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
backend "local" "g" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 4, "backend is required when more than one backend is defined"},
		{"bad listen", `server {
  listen = ["127.0.0.1:2121", "nowhere:21", ":99999"]
}
tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 2, `host "nowhere" is not an IP address`},
		{"session_reuse", `tls {
  source = "self_signed"
  session_reuse = "sometimes"
}
backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 3, `session_reuse "sometimes"`},
		{"require", `tls {
  source = "self_signed"
  require = "none"
}
backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 3, `require "none"`},
		{"ldap in clear", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
auth "ldap" {
  url = "ldap://ldap.internal"
  bind_dn_template = "uid={user},dc=x"
}
`, 4, "would send passwords in clear"},
		{"anonymous writes", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
anonymous {
  permissions = ["list", "upload"]
}
`, 4, `only "list" and "download"`},
		{"duplicate block", `tls { source = "self_signed" }
tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 2, "Duplicate tls block"},
		{"syntax", `tls { source = "self_signed"
backend "local" "f" { root = "/tmp" }
`, 1, "Invalid single-argument block definition"},
		{"trusted_cidrs", `server {
  proxy_protocol {
    trusted_cidrs = ["10.0.0.0/8", "proxy.internal"]
  }
}
tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
`, 3, `"proxy.internal" is not a CIDR`},
		{"policy rule glob", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
group "g" {
  rule "/a/***" {
    permissions = ["list"]
  }
}
user "a" { password_hash = "` + demoHash + `" }
`, 4, `group "g": rule "/a/***"`},
		{"metrics listen", `tls { source = "self_signed" }
backend "local" "f" { root = "/tmp" }
user "a" { password_hash = "` + demoHash + `" }
metrics {
  listen = "9121"
}
`, 5, "metrics: listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "_")+".hcl", tt.cfg, 0o644)
			code, out := checkConfig(t, path)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			prefix := fmt.Sprintf("%s:%d: ", path, tt.line)
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, prefix) && strings.Contains(l, tt.text) {
					return
				}
			}
			t.Errorf("no line %q...%q in output:\n%s", prefix, tt.text, out)
		})
	}
}

func TestCheckConfigMinimalAndDefaults(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "min.hcl", fmt.Sprintf(minimal, filepath.Join(dir, "state"), filepath.Join(dir, "data"), demoHash), 0o644)
	code, out := checkConfig(t, path)
	if code != 0 || !strings.Contains(out, "config ok") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	s, probs := loadConfig(path)
	if probs.errors() != 0 {
		t.Fatal("problems")
	}
	if got := s.listen; len(got) != 1 || got[0] != "0.0.0.0:21" {
		t.Errorf("listen = %v", got)
	}
	if s.drain != 5*time.Minute {
		t.Errorf("drain = %v", s.drain)
	}
	if s.gw.PassivePortMin != 50000 || s.gw.PassivePortMax != 50999 {
		t.Errorf("passive = %d-%d", s.gw.PassivePortMin, s.gw.PassivePortMax)
	}
	if s.gw.SessionReuse != gateway.ReuseRequired || s.gw.AllowClearData || s.gw.ActiveEnabled {
		t.Errorf("unsafe TLS/data defaults: %+v", s.gw)
	}
	if s.metrics.Listen != "127.0.0.1:9121" || s.metrics.PerUser {
		t.Errorf("metrics = %+v", s.metrics)
	}
	if s.log != (logSettings{Level: "info", Format: "json", TransferFormat: "json"}) {
		t.Errorf("log = %+v", s.log)
	}
	if s.pol.Users[0].Backend != "files" {
		t.Errorf("user backend = %q, want the only backend", s.pol.Users[0].Backend)
	}
	if s.policy == nil {
		t.Error("no compiled policy")
	}
}

func TestConfigValuesConverted(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "c.hcl", fmt.Sprintf(`server {
  listen          = []
  implicit_listen = ["127.0.0.1:990"]
  login_timeout   = "10s"
  max_sessions    = 10
  drain_timeout   = "1m"
}
tls {
  source        = "self_signed"
  state_dir     = %q
  require       = "login"
  session_reuse = "observe"
}
passive {
  port_range     = "40000-40010"
  public_address = "192.0.2.1"
  address_for "10.0.0.0/8" {
    address = "10.1.2.3"
  }
}
active { enabled = true }
metrics { listen = "" }
defender {
  max_failures = 3
  window       = "1m"
  ban          = "2m"
  exempt       = ["10.0.0.0/8", "192.0.2.1"]
}
backend "local" "files" { root = %q }
user "demo" {
  password_hash = %q
  max_file_size = "1GiB"
  quota         = "2GB"
  bandwidth {
    upload   = "1MiB/s"
    download = "2MB/s"
  }
}
`, dir, dir, demoHash), 0o644)
	s, probs := loadConfig(path)
	if probs.errors() != 0 {
		var b bytes.Buffer
		probs.print(&b)
		t.Fatal(b.String())
	}
	if len(s.listen) != 0 || len(s.implicit) != 1 {
		t.Errorf("listeners %v %v", s.listen, s.implicit)
	}
	g := s.gw
	if g.LoginTimeout != 10*time.Second || g.MaxSessions != 10 || s.drain != time.Minute {
		t.Errorf("server: %+v drain %v", g, s.drain)
	}
	if !g.AllowClearData || g.SessionReuse != gateway.ReuseObserve || !g.ActiveEnabled {
		t.Errorf("tls/active: %+v", g)
	}
	if g.PassivePortMin != 40000 || g.PassivePortMax != 40010 || g.PublicAddress.String() != "192.0.2.1" ||
		len(g.AddressFor) != 1 || g.AddressFor[0].Network.String() != "10.0.0.0/8" || g.AddressFor[0].Address.String() != "10.1.2.3" {
		t.Errorf("passive: %+v", g)
	}
	if s.metrics.Listen != "" {
		t.Errorf("metrics listen %q, want off", s.metrics.Listen)
	}
	if d := s.pol.Defender; d.MaxFailures != 3 || d.Window != time.Minute || d.Ban != 2*time.Minute || d.MaxBan != 0 ||
		fmt.Sprint(d.Exempt) != "[10.0.0.0/8 192.0.2.1/32]" {
		t.Errorf("defender %+v", d)
	}
	u := s.pol.Users[0]
	if u.MaxFileSize != 1<<30 || u.QuotaBytes != 2e9 || u.UploadRate != 1<<20 || u.DownloadRate != 2e6 {
		t.Errorf("user limits %+v", u)
	}
}

// testCertPEM returns a self-signed CA certificate in PEM.
func testCertPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// repoFile is a path from the repository root.
func repoFile(name string) string { return filepath.Join("..", "..", name) }

func TestQuickstartPassesCheckConfig(t *testing.T) {
	qs, err := filepath.Abs(repoFile("deploy/examples/quickstart.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	// check-config opens and probes the local backend, whose root is
	// ./data: made here, not in the source tree.
	t.Chdir(t.TempDir())
	code, out := checkConfig(t, qs)
	if code != 0 || strings.TrimSpace(out) != "config ok" {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	s, _ := loadConfig(qs)
	if s.listen[0] != "127.0.0.1:2121" || s.tls.StateDir != "./state" || s.backends[0].Type != "local" ||
		s.gw.PassivePortMin != 50000 || s.gw.PassivePortMax != 50099 || s.metrics.Listen != "127.0.0.1:9121" {
		t.Errorf("quickstart shape changed: %+v", s)
	}
	// The demo password in the README must open the demo account.
	id, err := s.policy.Authenticate(t.Context(), policy.LoginRequest{
		User: "demo", Password: "demo-ftpsgw-2026", Client: mustAddr("127.0.0.1"),
	})
	if err != nil || id.User != "demo" {
		t.Errorf("demo login: %v, %v", id, err)
	}
}

// sshKey is an SSH key pair for example configs: the private key in
// OpenSSH's format and a known_hosts line pinning its public half.
var sshKey = func() (k struct{ private, knownHosts string }) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		panic(err)
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	k.private = string(pem.EncodeToMemory(blk))
	k.knownHosts = knownhosts.Line([]string{"sftp.internal:22"}, spub) + "\n"
	return k
}()

// examplePath matches the absolute paths example configs name.
var examplePath = regexp.MustCompile(`"(/(?:etc|var|srv)/[^"]*)"`)

// exampleCopy copies an example config into dir, moving its absolute
// paths under dir, and creates every file under /etc it names (secrets
// with mode 0600) and the parent directory of every other path.
func exampleCopy(t *testing.T, dir, name string) string {
	t.Helper()
	src, err := os.ReadFile(repoFile("deploy/examples/" + name))
	if err != nil {
		t.Fatal(err)
	}
	certPEM := testCertPEM(t)
	for _, m := range examplePath.FindAllStringSubmatch(string(src), -1) {
		p := m[1]
		if !strings.HasPrefix(p, "/etc/") {
			mk, mode := filepath.Dir(p), os.FileMode(0o755)
			if strings.Contains(filepath.Base(p), "quarantine") {
				mk, mode = p, 0o700 // a directory the config names, that must exist
			}
			if err := os.MkdirAll(filepath.Join(dir, mk), mode); err != nil {
				t.Fatal(err)
			}
			continue
		}
		base := filepath.Base(p)
		switch {
		case strings.HasPrefix(base, "id_"):
			writeFile(t, dir, p, sshKey.private, 0o600)
			continue
		case base == "known_hosts":
			writeFile(t, dir, p, sshKey.knownHosts, 0o644)
			continue
		}
		if strings.Contains(base, "key") || strings.Contains(base, "secret") {
			writeFile(t, dir, p, "x", 0o600)
		} else {
			writeFile(t, dir, p, certPEM, 0o644)
		}
	}
	text := examplePath.ReplaceAllString(string(src), `"`+dir+`$1"`)
	return writeFile(t, dir, name, text, 0o644)
}

// TestExamplesPassCheckConfig: every example config is valid once the
// files it names exist.
func TestExamplesPassCheckConfig(t *testing.T) {
	files, err := filepath.Glob(repoFile("deploy/examples/*.hcl"))
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			dir := t.TempDir()
			path := exampleCopy(t, dir, filepath.Base(f))
			t.Chdir(dir) // relative local roots (quickstart's ./data) are made here
			// The remote backends' hosts do not exist here: each is a
			// warning (not checked), never an error.
			if code, out := checkConfig(t, path); code != 0 {
				t.Errorf("exit %d:\n%s", code, out)
			}
		})
	}
}

func TestFullExamplePassesCheckConfig(t *testing.T) {
	dir := t.TempDir()
	path := exampleCopy(t, dir, "full.hcl")
	code, out := checkConfig(t, path)
	if code != 0 || !strings.HasSuffix(out, "config ok\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// Only the expected warnings: the ignored acme block, and the three
	// remote backends, whose example hosts cannot be reached from here
	// (check-config probes them; the local one is probed and passes).
	var warnings []string
	unreached := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(l, ": warning: ") {
			continue
		}
		if name, ok := unreachedBackend(l); ok {
			unreached[name] = true
			continue
		}
		warnings = append(warnings, l)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "acme") {
		t.Errorf("warnings:\n%s", strings.Join(warnings, "\n"))
	}
	if len(unreached) != 3 || !unreached["legacy"] || !unreached["archive"] || !unreached["mainframe"] {
		t.Errorf("backends warned as unreachable: %v, want legacy, archive and mainframe\n%s", unreached, out)
	}
	s, _ := loadConfig(path)
	if len(s.backends) != 4 || len(s.pol.Users) != 3 || len(s.pol.Groups) != 2 || s.pol.LDAP == nil ||
		s.pol.Anonymous == nil || len(s.gw.TrustedProxies) != 1 || len(s.implicit) != 1 ||
		len(s.pol.Network.DenyFrom) != 1 || s.tls.ACME.Domains[0] != "ftp.example.com" {
		t.Errorf("full.hcl lost a block: %+v", s)
	}
}

func TestCheckConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.hcl")
	code, out := checkConfig(t, path)
	if code != 1 || !strings.HasPrefix(out, path+": cannot read config file: "+path+" does not exist\n") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestSecretFileModes(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, true}, {0o440, true}, {0o604, false}, {0o620, false}, {0o644, false}} {
		p := writeFile(t, dir, fmt.Sprintf("k%o", tt.mode), "k", tt.mode)
		if err := checkSecretFile(p); (err == nil) != tt.ok {
			t.Errorf("mode %04o: %v", tt.mode, err)
		}
	}
	if err := checkSecretFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing: %v", err)
	}
	if err := checkSecretFile(dir); err == nil {
		t.Error("a directory passed")
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"check-config"},
		{"check-config", "-config"},
		{"check-config", "-config", "x", "extra"},
		{"serve", "-bogus"},
		{"version", "x"},
		{"explain", "-config", "x"},
		{"explain", "-config", "x", "-user", "u", "-op", "fly", "-path", "/"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "usage:") {
			t.Errorf("%q: no usage text", args)
		}
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "ftpsgw dev (go1.") {
		t.Errorf("version: %d %q", code, out.String())
	}
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "e.hcl", fmt.Sprintf(minimal+`group "g" {
  permissions = ["list"]
}
user "reader" {
  password_hash = %q
  groups = ["g"]
  rule "/secret/**" {
    permissions = []
  }
}
`, dir, dir, demoHash, demoHash), 0o644)
	var out, errOut bytes.Buffer
	code := run([]string{"explain", "-config", path, "-user", "reader", "-op", "download", "-path", "/secret/x", "-from", "192.0.2.7"},
		nil, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "/secret/**") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	t.Logf("explain:\n%s", out.String())
}

// explain judges the policy on a machine that lacks the deployment's
// files (certificates, keys, log directory); check-config does not.
func TestExplainWithoutDeploymentFiles(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "e.hcl", fmt.Sprintf(`tls {
  source    = "file"
  cert_file = "/nonexistent/cert.pem"
  key_file  = "/nonexistent/key.pem"
}
log {
  transfer_log = "/nonexistent/dir/transfers.log"
}
backend "local" "files" {
  root = %q
}
user "up" {
  password_hash = %q
  permissions   = ["list"]
  rule "/incoming/**" {
    permissions = ["list", "upload"]
  }
}
`, dir, demoHash), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", "-config", path}, nil, &out, &errOut); code != 1 {
		t.Errorf("check-config with missing files: exit %d, want 1", code)
	}
	out.Reset()
	errOut.Reset()
	code := run([]string{"explain", "-config", path, "-user", "up", "-op", "upload", "-path", "/incoming/a.csv"}, nil, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "allowed") || !strings.Contains(out.String(), "/incoming/**") {
		t.Errorf("explain: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

// TestCheckConfigUpstreamAuth: auth "upstream" must name a backend that
// can check passwords and groups that exist, and warns without groups.
func TestCheckConfigUpstreamAuth(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(minimal, filepath.Join(dir, "state"), dir, demoHash) + `auth "upstream" {
  backend = "files"
  groups  = ["ghost"]
}
auth "upstream" {
  backend = "files"
}
auth "radius" {
}
`
	path := writeFile(t, dir, "up.hcl", cfg, 0o644)
	code, out := checkConfig(t, path)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, w := range []struct {
		line int
		text string
	}{
		{13, `auth "upstream": backend "files" (type local) cannot check passwords`},
		{14, `auth "upstream": groups: group ghost is not defined`},
		{16, `auth "upstream" is defined twice`},
		{19, `auth "radius": unknown provider: want "ldap" or "upstream"`},
	} {
		if !strings.Contains(out, fmt.Sprintf("%s:%d: %s", path, w.line, w.text)) {
			t.Errorf("missing line %d: %s\n%s", w.line, w.text, out)
		}
	}

	// A good block: an ftp backend, a group; without groups, a warning.
	// The upstream's address is a closed port: check-config warns that it
	// cannot reach it, and that is the only warning.
	good := fmt.Sprintf(minimal, filepath.Join(dir, "state"), dir, demoHash) + `backend "ftp" "legacy" {
  address     = "` + closedPort(t) + `"
  credentials = "passthrough"
}
group "partners" {
  permissions = ["list"]
}
auth "upstream" {
  backend = "legacy"
  groups  = ["partners"]
}
`
	good = strings.Replace(good, `permissions   = ["*"]`, `permissions   = ["*"]
  backend       = "files"`, 1)
	if code, out := checkConfig(t, writeFile(t, dir, "good.hcl", good, 0o644)); code != 0 || strings.Count(out, "warning") != 1 || !strings.Contains(out, `warning: backend "legacy": cannot reach its storage`) {
		t.Errorf("good upstream config: exit %d\n%s", code, out)
	}
	bare := strings.Replace(good, `  groups  = ["partners"]
`, "", 1)
	if code, out := checkConfig(t, writeFile(t, dir, "bare.hcl", bare, 0o644)); code != 0 || !strings.Contains(out, "no groups: users who log in upstream may do nothing") {
		t.Errorf("upstream config without groups: exit %d\n%s", code, out)
	}
}
