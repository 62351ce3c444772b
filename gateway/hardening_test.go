package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/policy"
)

// dataCmd opens the data connection set up by an earlier PASV/EPSV
// (addr), sends command and returns what arrived (downloads) or writes
// send (uploads), then the final reply.
func (c *ftpc) dataCmd(addr, command string, send []byte) ([]byte, int) {
	c.t.Helper()
	dc := c.openData(addr, "127.0.0.1")
	defer dc.Close()
	c.send("%s", command)
	if code, msg := c.read(); code != 150 {
		c.t.Fatalf("%s: %d %s, want 150", command, code, msg)
	}
	tc, err := c.tlsData(dc)
	if err != nil {
		c.t.Fatalf("%s: data TLS: %v", command, err)
	}
	var got []byte
	if send != nil {
		tc.Write(send)
	} else {
		got, _ = io.ReadAll(tc)
	}
	tc.Close()
	code, _ := c.read()
	return got, code
}

// TestRestSurvivesPassiveAndType: REST stays in effect until the transfer
// command, whatever comes between, in the orders real clients use.
func TestRestSurvivesPassiveAndType(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/f.txt", "0123456789")
	c := e.dial()
	c.login("alice", alicePW)
	orders := map[string]func() string{
		"REST PASV":        func() string { c.expect(350, "REST 4"); return c.pasv() },
		"PASV REST":        func() string { a := c.pasv(); c.expect(350, "REST 4"); return a },
		"EPSV TYPE I REST": func() string { a := c.epsv(); c.expect(200, "TYPE I"); c.expect(350, "REST 4"); return a },
	}
	for name, setup := range orders {
		got, code := c.dataCmd(setup(), "RETR f.txt", nil)
		if code != 226 || string(got) != "456789" {
			t.Errorf("%s RETR: %d %q, want 226 %q", name, code, got, "456789")
		}
		// The marker is spent: the next RETR starts at 0.
		if got, _ := c.dataCmd(c.epsv(), "RETR f.txt", nil); string(got) != "0123456789" {
			t.Errorf("%s: the next RETR got %q, want the whole file", name, got)
		}
	}
	for name, setup := range orders {
		e.writeFile("alice/u.txt", "0123456789")
		if _, code := c.dataCmd(setup(), "STOR u.txt", []byte("abcd")); code != 226 {
			t.Errorf("%s STOR: %d", name, code)
		}
		if b := e.file("alice/u.txt"); b != "0123abcd" {
			t.Errorf("%s STOR resumed into %q, want %q", name, b, "0123abcd")
		}
	}
	// Past the end: 554, and nothing is sent.
	c.expect(350, "REST 11")
	c.epsv()
	if code, _ := c.cmd("RETR f.txt"); code != 554 {
		t.Errorf("REST past the end: %d, want 554", code)
	}
	// REIN clears it.
	c.expect(350, "REST 4")
	c.expect(220, "REIN")
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	if got, _ := c.dataCmd(c.epsv(), "RETR f.txt", nil); string(got) != "0123456789" {
		t.Errorf("after REIN: %q, want the whole file", got)
	}
}

// TestHiddenPathUploadIsNoOracle: STOR and APPE on hidden paths answer as
// for a missing path, whatever is there.
func TestHiddenPathUploadIsNoOracle(t *testing.T) {
	e := newEnv(t)
	os.MkdirAll(filepath.Join(e.root, "carol/secret/deep"), 0o755)
	c := e.dial()
	c.login("carol", carolPW)
	_, wantCode, wantMsg := c.transfer("STOR /incoming/missing/x.txt", []byte("x"))
	for _, cmd := range []string{
		"STOR /secret/deep", "STOR /secret/plans.txt/x", "APPE /secret/plans.txt", "STOR /secret/nothing.txt",
	} {
		_, code, msg := c.transfer(cmd, []byte("x"))
		if code != wantCode || msg != wantMsg {
			t.Errorf("%s = %d %q, want %d %q (as for a missing path)", cmd, code, msg, wantCode, wantMsg)
		}
	}
	for _, off := range []string{"REST 5", "REST 7"} {
		c.epsv()
		c.expect(350, "%s", off)
		if code, msg := c.cmd("STOR /secret/plans.txt"); code != wantCode || msg != wantMsg {
			t.Errorf("%s STOR hidden = %d %q, want %d %q", off, code, msg, wantCode, wantMsg)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(e.root, "carol/secret/plans.txt")); string(b) != "hidden" {
		t.Errorf("hidden file changed: %q", b)
	}
}

// TestMetadataNeedsListOrDownload: on a path where a rule gives only
// upload, SIZE, MDTM and MLST are refused like LIST.
func TestMetadataNeedsListOrDownload(t *testing.T) {
	e := newEnv(t)
	e.writeFile("carol/drop/in.txt", "12345")
	cfg := testPolicyConfig(t)
	cfg.Users[2].Rules = append(cfg.Users[2].Rules, policy.RuleConfig{Path: "/drop/**", Permissions: []string{"upload"}})
	e.setPolicy(cfg)
	c := e.dial()
	c.login("carol", carolPW)
	for _, cmd := range []string{"SIZE /drop/in.txt", "MDTM /drop/in.txt", "MLST /drop/in.txt"} {
		if code, msg := c.cmd("%s", cmd); code != 550 || strings.Contains(msg, "5") {
			t.Errorf("%s on an upload-only path = %d %q, want 550", cmd, code, msg)
		}
	}
	// With list or download it answers.
	if code, msg := c.cmd("SIZE /pub/readme.txt"); code != 213 || msg != "6" {
		t.Errorf("SIZE with download = %d %q", code, msg)
	}
}

func TestSiteAnswers502(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	if code, _ := c.cmd("SITE CHMOD 644 x"); code != 502 {
		t.Errorf("SITE CHMOD = %d, want 502", code)
	}
}

// TestBanReachesOpenConnections: a connection opened before its address
// was banned cannot log in with the right password afterwards.
func TestBanReachesOpenConnections(t *testing.T) {
	e := newEnv(t)
	open := func() *ftpc {
		c := e.dial()
		c.banner()
		c.authTLS()
		c.expect(331, "USER alice")
		return c
	}
	early := open()
	for i := 0; i < 8; i++ {
		c := open()
		c.cmd("PASS wrong-%d", i)
		if banned, _ := e.srv.cfg.Defender.Banned(mustAddr("127.0.0.1")); banned {
			break
		}
	}
	if banned, _ := e.srv.cfg.Defender.Banned(mustAddr("127.0.0.1")); !banned {
		t.Fatal("no ban after repeated failures")
	}
	if code, _ := early.cmd("PASS %s", alicePW); code != 530 {
		t.Errorf("right password on a connection opened before the ban = %d, want 530", code)
	}
}

// TestBanEmptiesVerifiedPasswords: a repeat login is answered by the
// verified-password cache (no hash), until a ban from failed logins empties
// it: after the ban is lifted, the same right password is hashed again.
func TestBanEmptiesVerifiedPasswords(t *testing.T) {
	e := newEnv(t)
	hashes := func() int64 { return e.srv.cfg.Policy().PasswordHashes() }
	login := func() int64 {
		t.Helper()
		before := hashes()
		c := e.dial()
		c.login("alice", alicePW)
		c.cmd("QUIT")
		return hashes() - before
	}
	if n := login(); n != 1 {
		t.Fatalf("first login ran %d hashes, want 1", n)
	}
	if n := login(); n != 0 {
		t.Fatalf("repeat login ran %d hashes, want 0 (cached)", n)
	}
	for i := 0; i < 8; i++ {
		c := e.dial()
		c.banner()
		c.authTLS()
		c.expect(331, "USER alice")
		c.cmd("PASS wrong-%d", i)
		if banned, _ := e.srv.cfg.Defender.Banned(mustAddr("127.0.0.1")); banned {
			break
		}
	}
	if !e.srv.cfg.Defender.Unban(mustAddr("127.0.0.1")) {
		t.Fatal("no ban to lift after repeated failures")
	}
	if n := login(); n != 1 {
		t.Errorf("login after a ban ran %d hashes, want 1: the ban did not empty the cache", n)
	}
}

// TestAppendCreatesExclusively: an APPE that creates a file does not join
// a file that appears meanwhile.
func TestAppendCreatesExclusively(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	addr := c.epsv()
	dc := c.openData(addr, "127.0.0.1")
	defer dc.Close()
	c.send("APPE new.txt")
	if code, msg := c.read(); code != 150 {
		t.Fatalf("APPE: %d %s", code, msg)
	}
	// Another session creates the file before the data arrives.
	e.writeFile("alice/new.txt", "someone else's")
	tc, err := c.tlsData(dc)
	if err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte("mine"))
	tc.Close()
	if code, _ := c.read(); code == 226 {
		b := e.file("alice/new.txt")
		if strings.Contains(b, "someone") && strings.Contains(b, "mine") {
			t.Errorf("APPE joined another upload: %q", b)
		}
	}
	if b := e.file("alice/new.txt"); b != "someone else's" {
		t.Errorf("the other file was changed: %q", b)
	}
}

// TestPreauthCap: connections that have not logged in are capped apart
// from the session limit, globally and per address, so idle pre-login
// connections cannot lock logged-in users out.
func TestPreauthCap(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSessions = 6; c.MaxPreauthPerIP = 2 })
	idle := func(src string) (*ftpc, int) {
		c := e.dialFrom(src)
		code, _ := c.read()
		return c, code
	}
	// Per address: two pre-login connections from 127.0.0.2, not three.
	idle("127.0.0.2")
	idle("127.0.0.2")
	if _, code := idle("127.0.0.2"); code != 421 {
		t.Errorf("third pre-login connection from one address: %d, want 421", code)
	}
	// Globally: half of max_sessions, 3.
	first, code := idle("127.0.0.3")
	if code != 220 {
		t.Fatalf("pre-login connection from another address: %d", code)
	}
	if _, code := idle("127.0.0.4"); code != 421 {
		t.Errorf("pre-login connection past max_preauth: %d, want 421", code)
	}
	// A login frees its pre-login slot: the next client gets in.
	first.authTLS()
	first.expect(200, "PBSZ 0")
	first.expect(200, "PROT P")
	first.expect(331, "USER alice")
	first.expect(230, "PASS %s", alicePW)
	c, code := idle("127.0.0.5")
	if code != 220 {
		t.Errorf("after a login freed a pre-login slot: %d, want 220", code)
	}
	c.conn.Close()
}

// TestAuditLines: every command that changes the storage writes one JSON
// line with the session, user, client, command, virtual path and outcome.
func TestAuditLines(t *testing.T) {
	var buf lockedBuffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info, JSONFormat: true})
	e := newEnv(t, func(c *Config) { c.Logger = logger })
	c := e.dial()
	c.login("alice", alicePW)
	c.put("a.txt", []byte("a"))
	c.expect(257, "MKD d")
	c.expect(213, "MFMT 20200102030405 a.txt")
	c.expect(350, "RNFR a.txt")
	c.expect(250, "RNTO d/b.txt")
	c.expect(250, "DELE d/b.txt")
	c.expect(250, "RMD d")
	c.expect(550, "RMD d")
	c.expect(221, "QUIT")
	waitFor(t, func() bool { return e.srv.Sessions() == 0 })
	type line struct {
		Msg     string `json:"@message"`
		Command string `json:"command"`
		Path    string `json:"path"`
		Outcome string `json:"outcome"`
		User    string `json:"user"`
		ConnID  string `json:"conn_id"`
		Remote  string `json:"remote_addr"`
	}
	var got []string
	for _, l := range strings.Split(buf.String(), "\n") {
		var ln line
		if json.Unmarshal([]byte(l), &ln) != nil || ln.Msg != "audit" {
			continue
		}
		if ln.User != "alice" || ln.ConnID == "" || ln.Remote != "127.0.0.1" {
			t.Errorf("audit line without its session: %s", l)
		}
		got = append(got, ln.Command+" "+ln.Path+" "+ln.Outcome)
	}
	want := []string{"MKD /d ok", "MFMT /a.txt ok", "RNTO /d/b.txt ok", "DELE /d/b.txt ok", "RMD /d ok", "RMD /d failed"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestListingLeavesOutControlBytes: names with ESC or invalid UTF-8 on the
// storage never reach a listing raw.
func TestListingLeavesOutControlBytes(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/ok.txt", "x")
	e.writeFile("alice/esc\x1b[31m.txt", "x")
	e.writeFile("alice/bad"+string([]byte{0xff})+".txt", "x")
	c := e.dial()
	c.login("alice", alicePW)
	for _, cmd := range []string{"LIST", "NLST", "MLSD"} {
		out, code, _ := c.transfer(cmd, nil)
		if code != 226 || !strings.Contains(string(out), "ok.txt") {
			t.Errorf("%s: %d %q", cmd, code, out)
		}
		if bytes.ContainsAny(out, "\x1b") || !utf8.Valid(out) {
			t.Errorf("%s sent a raw control byte or invalid UTF-8: %q", cmd, out)
		}
	}
}

func TestRmdNotEmptyReply(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/d/f.txt", "x")
	c := e.dial()
	c.login("alice", alicePW)
	if code, msg := c.cmd("RMD d"); code != 550 || msg != "Directory not empty." {
		t.Errorf("RMD of a non-empty directory = %d %q", code, msg)
	}
}

// TestSameAddressIntruderDoesNotKillTransfer: another session from the
// same address that connects to a session's passive port first is
// dropped, and the owner's transfer still goes through.
func TestSameAddressIntruderDoesNotKillTransfer(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/f.txt", "the owner's data")
	a := e.dial()
	a.login("alice", alicePW)
	b := e.dial()
	b.login("bob", bobPW)
	addr := a.epsv()
	bdc := b.openData(addr, "127.0.0.1")
	defer bdc.Close()
	go b.tlsData(bdc) // bob's ticket: refused by the binding check
	time.Sleep(50 * time.Millisecond)
	adc := a.openData(addr, "127.0.0.1")
	defer adc.Close()
	a.send("RETR f.txt")
	if code, msg := a.read(); code != 150 {
		t.Fatalf("RETR: %d %s", code, msg)
	}
	tc, err := a.tlsData(adc)
	if err != nil {
		t.Fatalf("owner's data TLS: %v", err)
	}
	got, _ := io.ReadAll(tc)
	tc.Close()
	if code, msg := a.read(); code != 226 || string(got) != "the owner's data" {
		t.Errorf("owner's RETR after an intruder: %d %q, got %q", code, msg, got)
	}
}

// TestPassivePortsPerClientCapped: one user from one address cannot hold
// more passive ports than MaxPassivePerClient, whatever its sessions.
func TestPassivePortsPerClientCapped(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxPassivePerClient = 2 })
	var cs []*ftpc
	for range 3 {
		c := e.dial()
		c.login("alice", alicePW)
		cs = append(cs, c)
	}
	cs[0].epsv()
	cs[1].epsv()
	if code, msg := cs[2].cmd("EPSV"); code != 425 || !strings.Contains(msg, "Too many passive") {
		t.Errorf("third passive port for one user and address: %d %q, want 425", code, msg)
	}
	// Another user from the same address is not held back.
	b := e.dial()
	b.login("bob", bobPW)
	b.epsv()
	// A session's repeated EPSV holds one port, and a released one frees
	// its slot.
	cs[0].epsv()
	cs[0].epsv()
	cs[1].expect(225, "ABOR")
	cs[2].epsv()
}

// TestSessionReuseExemptPerUserAndGroup: session_reuse = "observe" on a
// user or its group lets that login's data connections make a fresh TLS
// handshake; everyone else still gets 522.
func TestSessionReuseExemptPerUserAndGroup(t *testing.T) {
	e := newEnv(t)
	cfg := testPolicyConfig(t)
	cfg.Users[0].SessionReuse = "observe" // alice
	cfg.Groups = []policy.GroupConfig{{Name: "legacy", SessionReuse: "observe"}}
	cfg.Users[2].Groups = []string{"legacy"} // carol
	e.setPolicy(cfg)
	e.writeFile("alice/f.txt", "alice")
	fresh := func(user, pw, path string) int {
		c := e.dial()
		c.login(user, pw)
		c.tlsCfg.ClientSessionCache = nil // data connections make full handshakes
		_, code, _ := c.transfer("RETR "+path, nil)
		return code
	}
	if code := fresh("alice", alicePW, "f.txt"); code != 226 {
		t.Errorf("user exempt: fresh data handshake = %d, want 226", code)
	}
	if code := fresh("carol", carolPW, "pub/readme.txt"); code != 226 {
		t.Errorf("group exempt: fresh data handshake = %d, want 226", code)
	}
	if code := fresh("bob", bobPW, "f.txt"); code != 522 {
		t.Errorf("not exempt: fresh data handshake = %d, want 522", code)
	}
	if n := e.obs.unbound(); n < 2 {
		t.Errorf("exempted connections counted as unbound: %d, want 2", n)
	}
}
