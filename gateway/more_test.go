package gateway

import (
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/policy"
)

func TestUTF8NamesEndToEnd(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	dir, name := "Ünïcødé dïr", "résumé ✓ 日本.txt"
	c.expect(257, "MKD %s", dir)
	c.expect(250, "CWD %s", dir)
	c.put(name, []byte("utf8"))
	if got := e.file("alice/" + dir + "/" + name); got != "utf8" {
		t.Fatalf("stored %q", got)
	}
	if l, _, _ := c.transfer("NLST", nil); string(l) != name+"\r\n" {
		t.Errorf("NLST: %q", l)
	}
	if l, _, _ := c.transfer("LIST", nil); !strings.HasSuffix(strings.TrimSpace(string(l)), " "+name) {
		t.Errorf("LIST: %q", l)
	}
	if msg := c.expect(257, "PWD"); !strings.HasPrefix(msg, `"/`+dir+`"`) {
		t.Errorf("PWD: %q", msg)
	}
	if got := string(c.get(name)); got != "utf8" {
		t.Errorf("RETR: %q", got)
	}
}

func TestGlobalMaxSessions(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSessions, c.MaxPreauth = 2, 2 })
	a, b := e.dial(), e.dialFrom("127.0.0.2")
	a.banner()
	b.banner()
	c := e.dialFrom("127.0.0.3")
	if code, _ := c.read(); code != 421 {
		t.Fatalf("session over max_sessions: %d, want 421", code)
	}
	a.expect(221, "QUIT")
	waitFor(t, func() bool { return e.srv.Sessions() == 1 })
	e.dialFrom("127.0.0.3").banner()
}

func TestAnonymousOnlyWithItsBlock(t *testing.T) {
	e := newEnv(t)
	e.writeFile("carol/pub/readme.txt", "public")
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(331, "USER anonymous")
	c.expect(530, "PASS guest@example.com")

	cfg := testPolicyConfig(t)
	cfg.Anonymous = &policy.AnonymousConfig{Backend: "files", Home: "/carol/pub", Permissions: []string{"list", "download"}}
	e.setPolicy(cfg)
	a := e.dial()
	a.login("anonymous", "guest@example.com")
	if got := string(a.get("readme.txt")); got != "public" {
		t.Errorf("anonymous download: %q", got)
	}
	if _, code, _ := a.transfer("STOR new.txt", []byte("x")); code != 550 {
		t.Errorf("anonymous upload: %d, want 550", code)
	}
	a.expect(550, "DELE readme.txt")
	a.expect(250, "CWD ..") // "/" is the anonymous home: ".." stays there
	if msg := a.expect(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
		t.Errorf("PWD after CWD ..: %q", msg)
	}

	cfg.Anonymous.Permissions = []string{"list", "upload"}
	if _, err := policy.Compile(cfg); err == nil {
		t.Error("an anonymous block with write permissions compiled")
	}
}

func TestRenameChecksBothNames(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) {
		u.Permissions = []string{"list", "download", "upload"}
		u.Rules = []policy.RuleConfig{
			{Path: "/movable/**", Permissions: []string{"list", "download", "upload", "rename"}},
			{Path: "/target/**", Permissions: []string{"list", "download", "upload", "rename"}},
			{Path: "/dropbox/**", Permissions: []string{"list", "upload", "rename"}},
		}
	}))
	for _, f := range []string{"movable/a.txt", "movable/b.txt", "fixed/c.txt", "target/existing.txt"} {
		e.writeFile("alice/"+f, f)
	}
	c := e.dial()
	c.login("alice", alicePW)
	c.expect(350, "RNFR /movable/a.txt")
	c.expect(550, "RNTO /fixed/a.txt") // destination without rename
	c.expect(550, "RNFR /fixed/c.txt") // source without rename
	c.expect(350, "RNFR /movable/a.txt")
	c.expect(550, "RNTO /dropbox/a.txt") // would lose download: judged as a whole
	c.expect(350, "RNFR /movable/a.txt")
	c.expect(250, "RNTO /target/a.txt")
	c.expect(350, "RNFR /movable/b.txt")
	c.expect(550, "RNTO /target/existing.txt") // replacing needs overwrite there
	if e.file("alice/target/a.txt") != "movable/a.txt" || e.file("alice/target/existing.txt") != "target/existing.txt" ||
		e.file("alice/fixed/c.txt") != "fixed/c.txt" || e.file("alice/movable/b.txt") != "movable/b.txt" {
		t.Error("files moved that should not have")
	}
}
