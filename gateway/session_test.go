package gateway

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestPreTLSOnlyAllowlisted(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	c.expect(211, "FEAT")
	c.expect(215, "SYST")
	c.expect(200, "NOOP")
	c.expect(214, "HELP")
	c.expect(200, "OPTS UTF8 ON")
	c.expect(530, "USER alice")
	c.expect(530, "PASS %s", alicePW)
	for _, cmd := range []string{"PWD", "LIST", "PBSZ 0", "PROT P", "CCC", "EPSV", "RETR x", "REIN"} {
		c.expect(530, "%s", cmd)
	}
	c.expect(500, "XYZZ")
	c.expect(220, "HOST localhost")
	if got := e.obs.get("login:tls_required"); got != 2 {
		t.Errorf("tls_required logins = %d, want 2", got)
	}
	if got := e.obs.get("login:bad_password"); got != 0 {
		t.Errorf("pre-TLS USER/PASS counted as failures: %d", got)
	}
	if banned, _ := e.srv.cfg.Defender.Banned(mustAddr("127.0.0.1")); banned {
		t.Error("pre-TLS logins reached the defender")
	}
	c.authTLS()
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	c.expect(221, "QUIT")
}

func TestFEATAdvertisesWhatWorks(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	feat := c.expect(211, "FEAT")
	for _, want := range []string{"AUTH TLS", "PBSZ", "PROT", "UTF8", "SIZE", "MDTM", "MFMT", "REST STREAM", "EPSV", "MLST type*;size*;modify*;perm*;unique*;"} {
		if !strings.Contains(feat, "\n "+want) {
			t.Errorf("FEAT lacks %q:\n%s", want, feat)
		}
	}
	if strings.Contains(feat, "EPRT") || strings.Contains(feat, "CCC") {
		t.Errorf("FEAT advertises what is off:\n%s", feat)
	}
	e2 := newEnv(t, func(c *Config) { c.ActiveEnabled = true })
	c2 := e2.dial()
	c2.banner()
	if feat := c2.expect(211, "FEAT"); !strings.Contains(feat, "EPRT") {
		t.Errorf("FEAT lacks EPRT with active mode on:\n%s", feat)
	}
}

func TestPlaintextInjectionAfterAUTHCloses(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	// A man in the middle appends a plaintext command to AUTH TLS; the
	// server must close rather than start TLS over it.
	c.send("AUTH TLS\r\nUSER alice")
	if code, _ := c.read(); code != 234 {
		t.Fatalf("AUTH: %d", code)
	}
	tc := tls.Client(c.conn, c.tlsCfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Fatal("TLS started although plaintext followed AUTH TLS")
	}
}

func TestAUTHVariants(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	c.expect(504, "AUTH GSSAPI")
	c.expect(501, "AUTH")
	c.authTLS()
	c.expect(503, "AUTH TLS")
	c.expect(503, "PROT P") // PROT before PBSZ
	c.expect(200, "PBSZ 0")
	c.expect(536, "PROT S")
	c.expect(504, "PROT X")
	c.expect(200, "PROT P")
	c.expect(534, "CCC")

	// AUTH SSL is a synonym.
	c2 := e.dial()
	c2.banner()
	c2.expect(234, "AUTH SSL")
}

func TestLoginFailuresDelayAndClose(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(331, "USER alice")
	_, msg1 := c.cmd("PASS wrong")
	c.expect(331, "USER nosuchuser")
	_, msg2 := c.cmd("PASS wrong")
	if msg1 != msg2 {
		t.Errorf("unknown user and bad password answer differently: %q vs %q", msg1, msg2)
	}
	c.expect(331, "USER alice")
	c.expect(530, "PASS wrong-again")
	if code, _ := c.read(); code != 0 {
		t.Fatalf("connection not closed after 3 failures (got %d)", code)
	}
	if got := e.obs.get("login:bad_password") + e.obs.get("login:unknown_user"); got != 3 {
		t.Errorf("failed logins counted %d, want 3", got)
	}
	c.expect(0, "NOOP") // closed: read fails -> code 0
}

func TestPASSWithoutUSER(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(503, "PASS x")
	c.expect(530, "PWD")
}

func TestFilesystemCommands(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	if msg := c.expect(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
		t.Errorf("PWD: %q", msg)
	}
	c.expect(257, "MKD dir one")
	c.expect(550, "MKD dir one")
	c.expect(250, "CWD dir one")
	if msg := c.expect(257, "XPWD"); !strings.HasPrefix(msg, `"/dir one"`) {
		t.Errorf("XPWD: %q", msg)
	}
	c.put("f.txt", []byte("hello world"))
	if got := e.file("alice/dir one/f.txt"); got != "hello world" {
		t.Fatalf("stored %q", got)
	}
	if msg := c.expect(213, "SIZE f.txt"); msg != "11" {
		t.Errorf("SIZE: %q", msg)
	}
	c.expect(550, "SIZE missing")
	c.expect(213, "MDTM f.txt")
	if msg := c.expect(213, "MFMT 20200102030405 f.txt"); !strings.HasPrefix(msg, "Modify=20200102030405;") {
		t.Errorf("MFMT: %q", msg)
	}
	if msg := c.expect(213, "MDTM f.txt"); msg != "20200102030405" {
		t.Errorf("MDTM after MFMT: %q", msg)
	}
	c.expect(501, "MFMT notatime f.txt")
	c.expect(350, "RNFR f.txt")
	c.expect(250, "RNTO g.txt")
	c.expect(503, "RNTO h.txt")
	c.expect(550, "RNFR missing")
	c.expect(250, "CDUP")
	c.expect(250, "XCWD /dir one/")
	c.expect(250, "XCUP")
	c.expect(550, "RMD dir one")
	c.expect(550, "DELE dir one")
	c.expect(250, "DELE /dir one/g.txt")
	c.expect(550, "DELE /dir one/g.txt")
	c.expect(250, "RMD dir one")
	c.expect(550, "CWD dir one")
	c.expect(257, "XMKD x")
	c.expect(250, "XRMD x")
	c.expect(550, "RMD /")
}

func TestSessionParameterCommands(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.expect(200, "TYPE A")
	c.expect(200, "TYPE A N")
	c.expect(200, "TYPE L 8")
	c.expect(200, "TYPE I")
	c.expect(504, "TYPE E")
	c.expect(200, "MODE S")
	c.expect(504, "MODE B")
	c.expect(200, "STRU F")
	c.expect(504, "STRU R")
	c.expect(202, "ALLO 1000")
	c.expect(350, "REST 10")
	c.expect(501, "REST -1")
	c.expect(501, "REST abc")
	c.expect(501, "PWD extra")
	c.expect(501, "CWD")
	c.expect(200, "OPTS UTF8 ON")
	c.expect(504, "OPTS UTF8 OFF")
	c.expect(200, "OPTS MLST type;size;")
	c.expect(501, "OPTS FOO")
	if msg := c.expect(211, "STAT"); !strings.Contains(msg, "Logged in as alice") {
		t.Errorf("STAT: %q", msg)
	}
	c.expect(225, "ABOR")
	c.expect(503, "HOST example.com")
	c.expect(530, "USER bob")
}

func TestSTATAndMLSTOnControl(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/a.txt", "abc")
	c := e.dial()
	c.login("alice", alicePW)
	if msg := c.expect(213, "STAT /"); !strings.Contains(msg, " a.txt") {
		t.Errorf("STAT /: %q", msg)
	}
	msg := c.expect(250, "MLST a.txt")
	if !strings.Contains(msg, "type=file;size=3;") || !strings.Contains(msg, " /a.txt") {
		t.Errorf("MLST: %q", msg)
	}
	if !strings.Contains(msg, "perm=adfrw;") {
		t.Errorf("MLST perm for alice: %q", msg)
	}
	c.expect(550, "MLST nothere")
}

func TestREINLogsOut(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.expect(220, "REIN")
	c.expect(530, "PWD")
	c.expect(331, "USER bob")
	c.expect(230, "PASS %s", bobPW)
	c.expect(257, "PWD")
}

func TestBadInputAnsweredOrClosed(t *testing.T) {
	e := newEnv(t)
	other := e.dial()
	other.login("alice", alicePW)

	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(501, "NOOP \x01")
	c.send("NOOP a\x00b")
	if code, _ := c.read(); code != 501 {
		t.Errorf("NUL: %d", code)
	}
	c.conn.Write([]byte("NOOP \xff\xfe\r\n"))
	if code, _ := c.read(); code != 501 {
		t.Errorf("invalid UTF-8: %d", code)
	}
	c.expect(500, "NO")
	c.expect(500, "NOOPS")
	c.expect(500, "N0OP")
	c.expect(500, "UNKN")
	c.conn.Write(bytes.Repeat([]byte("A"), 5000))
	if code, _ := c.read(); code != 500 {
		t.Errorf("overlong line: %d", code)
	}
	if code, _ := c.read(); code != 0 {
		t.Errorf("connection open after overlong line: %d", code)
	}
	// Garbage instead of a TLS handshake closes only that connection.
	g := e.dial()
	g.banner()
	g.expect(234, "AUTH TLS")
	g.conn.Write(bytes.Repeat([]byte{0x16, 0x03, 0x01, 0xff}, 100))
	g.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	io.Copy(io.Discard, g.conn)

	other.expect(200, "NOOP")
	other.put("still-works.txt", []byte("yes"))
}

func TestTelnetAbortPrefixAccepted(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.conn.Write([]byte("\xff\xf4\xff\xf2ABOR\r\n"))
	if code, _ := c.read(); code != 225 {
		t.Errorf("ABOR with IAC prefix: %d", code)
	}
}

func TestSessionLimits(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSessionsPerIP = 2 })
	a, b := e.dial(), e.dial()
	a.banner()
	b.banner()
	c := e.dial()
	if code, _ := c.read(); code != 421 {
		t.Fatalf("third session from one IP: %d", code)
	}
	d := e.dialFrom("127.0.0.2")
	d.banner()
	a.expect(221, "QUIT")
	waitFor(t, func() bool { return e.srv.Sessions() == 2 })
	f := e.dial()
	f.banner()
	if e.obs.get("reject:limit") != 1 {
		t.Errorf("limit rejections = %d", e.obs.get("reject:limit"))
	}
}

func TestLoginAndIdleTimeouts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LoginTimeout = 300 * time.Millisecond; c.IdleTimeout = 400 * time.Millisecond })
	c := e.dial()
	c.banner()
	if code, msg := c.read(); code != 421 || !strings.Contains(msg, "Login timeout") {
		t.Fatalf("login timeout: %d %q", code, msg)
	}
	e2 := newEnv(t, func(c *Config) { c.IdleTimeout = 400 * time.Millisecond })
	c2 := e2.dial()
	c2.login("alice", alicePW)
	if code, msg := c2.read(); code != 421 || !strings.Contains(msg, "Idle timeout") {
		t.Fatalf("idle timeout: %d %q", code, msg)
	}
}

func TestImplicitTLS(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeImplicit(ln)
	e.addr = ln.Addr().String()
	c := e.dial()
	tc := tlsClient(c)
	c.conn, c.r = tc, newBufReader(tc)
	c.banner()
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	c.put("imp.txt", []byte("implicit"))
	if e.file("alice/imp.txt") != "implicit" {
		t.Fatal("implicit upload missing")
	}
}

func TestShutdownLetsTransfersFinish(t *testing.T) {
	e := newEnv(t)
	idle := e.dial()
	idle.login("bob", bobPW)
	busy := e.dial()
	busy.login("alice", alicePW)
	tc, _ := busy.begin("STOR during-shutdown.bin")
	tc.Write([]byte("first half "))
	done := make(chan error, 1)
	go func() { done <- e.srv.Shutdown(t.Context()) }()
	if code, _ := idle.read(); code != 421 {
		t.Errorf("idle session at shutdown: %d", code)
	}
	tc.Write([]byte("second half"))
	tc.Close()
	if code, _ := busy.read(); code != 226 {
		t.Errorf("transfer during shutdown: %d", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if got := e.file("alice/during-shutdown.bin"); got != "first half second half" {
		t.Errorf("file after drain: %q", got)
	}
}

func TestIdleTimeoutAfterTransfer(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = time.Second })
	c := e.dial()
	c.login("alice", alicePW)
	// A command during a transfer, then the transfer ends: the idle
	// deadline must be armed again.
	tc, _ := c.begin("STOR idle.txt")
	c.expect(200, "NOOP")
	tc.Write([]byte("x"))
	tc.Close()
	if code, _ := c.read(); code != 226 {
		t.Fatalf("STOR: %d", code)
	}
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if code, msg := c.read(); code != 421 || !strings.Contains(msg, "Idle timeout") {
		t.Fatalf("after a transfer: %d %q, want 421 idle timeout", code, msg)
	}
}
