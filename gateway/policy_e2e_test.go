package gateway

import (
	"context"
	"errors"

	"io/fs"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// setPolicy compiles cfg and swaps it in, as a SIGHUP reload does.
func (e *env) setPolicy(cfg policy.Config) {
	e.t.Helper()
	p, err := policy.Compile(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.pol.Store(p)
}

// withUser returns the test policy with user name changed by mod.
func withUser(t *testing.T, name string, mod func(*policy.UserConfig)) policy.Config {
	cfg := testPolicyConfig(t)
	for i := range cfg.Users {
		if cfg.Users[i].Name == name {
			mod(&cfg.Users[i])
		}
	}
	return cfg
}

func TestMaxFileSizeCutsUploadOff(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.MaxFileSize = 100 << 10 }))
	e.writeFile("alice/keep.bin", "old content")
	c := e.dial()
	c.login("alice", alicePW)
	if _, code, _ := c.transfer("STOR keep.bin", make([]byte, 300<<10)); code != 552 {
		t.Fatalf("oversized upload: %d, want 552", code)
	}
	if got := e.file("alice/keep.bin"); got != "old content" {
		t.Errorf("oversized upload replaced the file: %d bytes", len(got))
	}
	if _, code, _ := c.transfer("STOR new.bin", make([]byte, 300<<10)); code != 552 {
		t.Fatalf("oversized new upload: %d", code)
	}
	if got := e.file("alice/new.bin"); !strings.HasPrefix(got, "<") {
		t.Errorf("partial oversized upload kept (%d bytes)", len(got))
	}
	c.put("small.bin", make([]byte, 100<<10))
	if e.obs.get("xfer:upload:too_large") != 2 {
		t.Errorf("too_large transfers: %d", e.obs.get("xfer:upload:too_large"))
	}
}

func TestQuotaBytesAndFiles(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/existing.bin", strings.Repeat("e", 1000))
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.QuotaBytes = 3000; u.QuotaFiles = 3 }))
	c := e.dial()
	c.login("alice", alicePW) // usage counted at login: 1000 bytes, 1 file
	c.put("a.bin", make([]byte, 1500))
	if _, code, _ := c.transfer("STOR b.bin", make([]byte, 1000)); code != 552 {
		t.Fatalf("upload over byte quota: %d, want 552", code)
	}
	if got := e.file("alice/b.bin"); !strings.HasPrefix(got, "<") {
		t.Error("upload over quota left a file")
	}
	c.expect(250, "DELE existing.bin") // frees 1000 bytes and one file
	c.put("b.bin", make([]byte, 1000))
	c.put("c.bin", make([]byte, 10))
	if _, code, _ := c.transfer("STOR d.bin", []byte("x")); code != 552 {
		t.Fatalf("upload over file quota: %d, want 552", code)
	}
	// Overwriting an existing file does not count as a new file.
	c.put("c.bin", make([]byte, 20))
}

func TestDefenderBansOffenderOnly(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	def := policy.NewDefender(policy.DefenderConfig{MaxFailures: 5, Window: 10 * time.Minute, Ban: 30 * time.Minute}, clock)
	e := newEnv(t, func(c *Config) { c.Defender = def })
	fails := 0
	for fails < 6 {
		c := e.dialFrom("127.0.0.3")
		if code, _ := c.read(); code != 220 {
			break // banned: closed without a banner
		}
		c.authTLS()
		for i := 0; i < maxLoginFailures && fails < 6; i++ {
			if code, _ := c.cmd("USER alice"); code != 331 {
				break // closed: three failures, or banned
			}
			if code, _ := c.cmd("PASS wrong-%d", fails); code != 530 {
				break
			}
			fails++
		}
	}
	if banned, _ := def.Banned(mustAddr("127.0.0.3")); !banned {
		t.Fatalf("127.0.0.3 not banned after %d failures", fails)
	}
	b := e.dialFrom("127.0.0.3")
	if code, msg := b.read(); code != 0 {
		t.Fatalf("banned IP got a banner: %d %s", code, msg)
	}
	ok := e.dialFrom("127.0.0.1")
	ok.login("alice", alicePW)
	if e.obs.get("reject:ban") < 1 || e.obs.get("banned") != 1 {
		t.Errorf("ban not observed: %v", e.obs.counts)
	}
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	again := e.dialFrom("127.0.0.3")
	again.login("alice", alicePW)
}

func TestUserAllowFrom(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "bob", func(u *policy.UserConfig) {
		u.AllowFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	}))
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(331, "USER bob")
	c.expect(530, "PASS %s", bobPW)
	d := e.dialFrom("127.0.0.2")
	d.login("bob", bobPW)
	if e.obs.get("login:denied_network") != 1 {
		t.Errorf("denied_network: %d", e.obs.get("login:denied_network"))
	}
}

func TestGlobalDenyFromAtAccept(t *testing.T) {
	e := newEnv(t)
	cfg := testPolicyConfig(t)
	cfg.Network.DenyFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.4/32")}
	e.setPolicy(cfg)
	c := e.dialFrom("127.0.0.4")
	if code, _ := c.read(); code != 0 {
		t.Fatalf("denied network got a reply %d", code)
	}
	e.dial().login("alice", alicePW)
	if e.obs.get("reject:network_rule") != 1 {
		t.Errorf("network_rule rejections: %d", e.obs.get("reject:network_rule"))
	}
}

func TestMaxSessionsPerUser(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.MaxSessions = 1 }))
	a := e.dial()
	a.login("alice", alicePW)
	b := e.dial()
	b.banner()
	b.authTLS()
	b.expect(331, "USER alice")
	b.expect(530, "PASS %s", alicePW)
	a.expect(221, "QUIT")
	waitFor(t, func() bool { return e.srv.Sessions() == 1 })
	b.expect(331, "USER alice")
	b.expect(230, "PASS %s", alicePW)
}

func TestReloadAppliesToLiveSession(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.put("before.txt", []byte("x"))
	newPW := "alice-new-password"
	h, _ := policy.HashPassword(newPW)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) {
		u.Permissions = []string{"list", "download"}
		u.PasswordHash = h
	}))
	// The open session follows the new rules at its next command.
	if _, code, _ := c.transfer("STOR after.txt", []byte("y")); code != 550 {
		t.Errorf("upload after reload to read-only: %d, want 550", code)
	}
	if got := string(c.get("before.txt")); got != "x" {
		t.Errorf("download after reload: %q", got)
	}
	d := e.dial()
	d.banner()
	d.authTLS()
	d.expect(331, "USER alice")
	d.expect(530, "PASS %s", alicePW)
	d.expect(331, "USER alice")
	d.expect(230, "PASS %s", newPW)
}

func TestBandwidthPacesDownload(t *testing.T) {
	e := newEnv(t)
	const rate = 256 << 10
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.DownloadRate = rate }))
	e.writeFile("alice/paced.bin", strings.Repeat("p", 2*rate))
	c := e.dial()
	c.login("alice", alicePW)
	start := time.Now()
	if got := c.get("paced.bin"); len(got) != 2*rate {
		t.Fatalf("got %d bytes", len(got))
	}
	// 512 KiB at 256 KiB/s with a quarter-second burst cannot take less
	// than 1.75 s; this is a lower bound, so a slow machine cannot fail it.
	if d := time.Since(start); d < 1750*time.Millisecond {
		t.Errorf("download took %v: not paced to %d B/s", d, rate)
	}
}

func TestLDAPDownAnswers421(t *testing.T) {
	e := newEnv(t)
	cfg := testPolicyConfig(t)
	cfg.LDAP = &policy.LDAPConfig{URL: "ldaps://127.0.0.1:1", BindDNTemplate: "uid={user},dc=test",
		Timeout: 2 * time.Second, DefaultBackend: "files", DefaultHome: "/{user}"}
	e.setPolicy(cfg)
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(331, "USER ldapuser")
	start := time.Now()
	if code, _ := c.cmd("PASS whatever"); code != 421 {
		t.Errorf("LDAP down: %d, want 421", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("LDAP down took %v", d)
	}
	if banned, _ := e.srv.cfg.Defender.Banned(mustAddr("127.0.0.1")); banned {
		t.Error("LDAP outage counted against the client")
	}
	e.dial().login("alice", alicePW)
}

// panicFS panics on Stat: a backend bug must end one session only.
type panicOpener struct{}

func (panicOpener) Open(context.Context, string) (backend.FS, error) { return panicFS{}, nil }
func (panicOpener) Probe(context.Context) error                      { return nil }
func (panicOpener) Close() error                                     { return nil }

type panicFS struct{ backend.FS }

func (panicFS) Stat(context.Context, string) (fs.FileInfo, error) { panic("backend bug") }
func (panicFS) ReadDir(context.Context, string) (backend.Lister, error) {
	return nil, errors.New("unreachable")
}
func (panicFS) Caps(string) backend.Caps { return backend.AllCaps }
func (panicFS) Close() error             { return nil }

func TestPanicEndsOneSessionOnly(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Backends["boom"] = panicOpener{} })
	cfg := testPolicyConfig(t)
	cfg.Users = append(cfg.Users, policy.UserConfig{Name: "dave", PasswordHash: testHashes(t)["bob"],
		Backend: "boom", Home: "/", Permissions: []string{"*"}})
	e.setPolicy(cfg)
	other := e.dial()
	other.login("alice", alicePW)
	c := e.dial()
	c.login("dave", bobPW)
	if code, _ := c.cmd("SIZE x"); code != 421 {
		t.Errorf("after panic: %d, want 421", code)
	}
	if code, _ := c.read(); code != 0 {
		t.Errorf("session still open after panic")
	}
	other.expect(200, "NOOP")
	other.put("fine.txt", []byte("fine"))
}

func TestNoPasswordInLogs(t *testing.T) {
	var buf lockedBuffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Trace, JSONFormat: true})
	e := newEnv(t, func(c *Config) { c.Logger = logger })
	e.srv.ForTest().SetLoginFailDelay(0)
	wrong := "Wr0ng-Pa55-unique-7731"
	c := e.dial()
	c.banner()
	c.send("USER alice")
	c.read()
	c.send("PASS %s", wrong) // before TLS
	c.read()
	c.authTLS()
	c.expect(331, "USER alice")
	c.expect(530, "PASS %s", wrong)
	c.expect(331, "USER nobody")
	c.expect(530, "PASS %s", wrong+"2")
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	c.put("f.txt", []byte("data"))
	c.expect(221, "QUIT")
	waitFor(t, func() bool { return e.srv.Sessions() == 0 })
	logs := buf.String()
	if !strings.Contains(logs, "login ok") || !strings.Contains(logs, "login failed") {
		t.Fatalf("logs lack login lines:\n%s", logs)
	}
	for _, secret := range []string{wrong, alicePW} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a password %q", secret)
		}
	}
}

// lockedBuffer is the shared concurrent-safe buffer.
type lockedBuffer = testkit.Buffer
