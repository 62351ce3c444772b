package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/local"
	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// Test users and passwords.
const (
	alicePW = "alice-secret-pw"
	bobPW   = "bob-secret-pw"
	carolPW = "carol-secret-pw"
)

var (
	hashOnce sync.Once
	hashes   map[string]string
)

func testHashes(t *testing.T) map[string]string {
	hashOnce.Do(func() {
		hashes = map[string]string{}
		for u, pw := range map[string]string{"alice": alicePW, "bob": bobPW, "carol": carolPW} {
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				panic(err)
			}
			hashes[u] = string(h)
		}
	})
	return hashes
}

// testPolicyConfig: alice may do everything in /alice, bob only read the
// same files, carol has a drop box and a hidden subtree.
func testPolicyConfig(t *testing.T) policy.Config {
	h := testHashes(t)
	return policy.Config{Users: []policy.UserConfig{
		{Name: "alice", PasswordHash: h["alice"], Backend: "files", Home: "/alice", Permissions: []string{"*"}},
		{Name: "bob", PasswordHash: h["bob"], Backend: "files", Home: "/alice", Permissions: []string{"list", "download"}},
		{Name: "carol", PasswordHash: h["carol"], Backend: "files", Home: "/carol", Permissions: []string{"list", "download"},
			Rules: []policy.RuleConfig{
				{Path: "/incoming/**", Permissions: []string{"list", "upload"}},
				{Path: "/secret/**", Permissions: []string{}},
			}},
	}}
}

// env is one in-process gateway on loopback.
type env struct {
	t     *testing.T
	srv   *Server
	addr  string
	root  string // the local backend's root
	pol   atomic.Pointer[policy.Policy]
	obs   *recObserver
	tlsm  *tlsmgr.Manager
	cfg   Config
	errCh chan error
}

// newEnv starts a gateway; mods adjust the config before New.
func newEnv(t *testing.T, mods ...func(*Config)) *env {
	t.Helper()
	return newEnvTLS(t, tlsmgr.Config{Source: tlsmgr.SourceSelfSigned}, mods...)
}

// newEnvTLS is newEnv with a TLS configuration of the test's own; its
// StateDir is set to a temporary directory.
func newEnvTLS(t *testing.T, tcfg tlsmgr.Config, mods ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t, obs: newRecObserver(), errCh: make(chan error, 1)}
	e.root = t.TempDir()
	for _, d := range []string{"alice", "carol/incoming", "carol/secret", "carol/pub"} {
		if err := os.MkdirAll(filepath.Join(e.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(e.root, "carol/secret/plans.txt"), []byte("hidden"), 0o644)
	os.WriteFile(filepath.Join(e.root, "carol/pub/readme.txt"), []byte("public"), 0o644)
	pol, err := policy.Compile(testPolicyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	e.pol.Store(pol)
	// Test passive ranges sit below the kernel's ephemeral ports (32768+),
	// in a band of their own per package: 10000-19999 for gateway.
	lo := 10000 + rand.IntN(9900)
	opener, err := local.New(e.root)
	if err != nil {
		t.Fatal(err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})
	tcfg.StateDir = t.TempDir()
	tm, err := tlsmgr.New(context.Background(), tcfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tm.Close)
	e.tlsm = tm
	e.cfg = Config{
		TLS:            tm,
		Backends:       map[string]backend.Opener{"files": opener},
		Policy:         e.pol.Load,
		PassivePortMin: lo,
		PassivePortMax: lo + 40,
		Observer:       e.obs,
		Logger:         logger,
		LoginTimeout:   10 * time.Second,
		DataTimeout:    3 * time.Second,
	}
	for _, m := range mods {
		m(&e.cfg)
	}
	srv, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.ForTest().SetLoginFailDelay(10 * time.Millisecond)
	e.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	go func() { e.errCh <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-e.errCh; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return e
}

// testWriter sends logs to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ftpc is a raw FTPS client that exposes exact reply codes.
type ftpc struct {
	t      *testing.T
	conn   net.Conn
	r      *bufio.Reader
	tlsCfg *tls.Config
	// noResume makes data connections use a fresh TLS session.
	noResume bool
	// rest, when set, is sent as REST just before the next transfer
	// command (after EPSV: REST applies to the very next command).
	rest int64
}

// dial connects from 127.0.0.1 and reads the banner.
func (e *env) dial() *ftpc { return e.dialFrom("127.0.0.1") }

func (e *env) dialFrom(src string) *ftpc {
	e.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	cl := &ftpc{t: e.t, conn: c, r: bufio.NewReader(c), tlsCfg: &tls.Config{
		InsecureSkipVerify: true,
		ServerName:         "localhost",
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}}
	e.t.Cleanup(func() { cl.conn.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return cl
}

// read reads one (possibly multi-line) reply.
func (c *ftpc) read() (int, string) {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, "read: " + err.Error()
	}
	line = strings.TrimRight(line, "\r\n")
	if len(line) < 4 {
		c.t.Fatalf("short reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil {
		c.t.Fatalf("bad reply %q", line)
	}
	msg := line[4:]
	if line[3] == '-' {
		var b strings.Builder
		b.WriteString(msg)
		for {
			l, err := c.r.ReadString('\n')
			if err != nil {
				c.t.Fatalf("multi-line reply cut: %v", err)
			}
			l = strings.TrimRight(l, "\r\n")
			b.WriteString("\n" + l)
			if strings.HasPrefix(l, line[:3]+" ") {
				break
			}
		}
		msg = b.String()
	}
	return code, msg
}

func (c *ftpc) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// cmd sends one command and returns the reply.
func (c *ftpc) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	c.send(format, args...)
	return c.read()
}

// expect sends a command and fails the test unless the code matches.
func (c *ftpc) expect(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmd(format, args...)
	if code != want {
		c.t.Fatalf("%s: got %d %q, want %d", fmt.Sprintf(format, args...), code, msg, want)
	}
	return msg
}

func (c *ftpc) banner() {
	c.t.Helper()
	if code, msg := c.read(); code != 220 {
		c.t.Fatalf("banner: %d %s", code, msg)
	}
}

// authTLS upgrades the control connection.
func (c *ftpc) authTLS() {
	c.t.Helper()
	c.expect(234, "AUTH TLS")
	tc := tls.Client(c.conn, c.tlsCfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("tls: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

// login does banner, AUTH TLS, PBSZ, PROT P, USER, PASS.
func (c *ftpc) login(user, pw string) {
	c.t.Helper()
	c.banner()
	c.authTLS()
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	c.expect(331, "USER %s", user)
	c.expect(230, "PASS %s", pw)
}

// epsv returns the data address announced by EPSV.
func (c *ftpc) epsv() string {
	c.t.Helper()
	msg := c.expect(229, "EPSV")
	i, j := strings.Index(msg, "|||"), strings.LastIndex(msg, "|")
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	return net.JoinHostPort(host, msg[i+3:j])
}

// pasv returns the data address announced by PASV.
func (c *ftpc) pasv() string {
	c.t.Helper()
	msg := c.expect(227, "PASV")
	i, j := strings.Index(msg, "("), strings.Index(msg, ")")
	f := strings.Split(msg[i+1:j], ",")
	p1, _ := strconv.Atoi(f[4])
	p2, _ := strconv.Atoi(f[5])
	return net.JoinHostPort(strings.Join(f[:4], "."), strconv.Itoa(p1*256+p2))
}

// openData connects to addr and starts TLS lazily (after the 150).
func (c *ftpc) openData(addr, src string) net.Conn {
	c.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	dc, err := d.Dial("tcp", addr)
	if err != nil {
		c.t.Fatalf("data dial: %v", err)
	}
	dc.SetDeadline(time.Now().Add(30 * time.Second))
	return dc
}

// tlsData wraps a data connection, resuming the control session unless
// noResume is set.
func (c *ftpc) tlsData(dc net.Conn) (net.Conn, error) {
	cfg := c.tlsCfg
	if c.noResume {
		cfg = &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}
	}
	tc := tls.Client(dc, cfg)
	return tc, tc.Handshake()
}

// begin starts a data command over EPSV and returns the data connection
// after its TLS handshake (tc) and the TCP connection under it (dc); it
// fails the test unless the reply is 150 and the handshake succeeds.
func (c *ftpc) begin(command string) (tc, dc net.Conn) {
	c.t.Helper()
	dc = c.openData(c.epsv(), "127.0.0.1")
	c.send("%s", command)
	if code, msg := c.read(); code != 150 {
		c.t.Fatalf("%s: %d %q, want 150", command, code, msg)
	}
	tc, err := c.tlsData(dc)
	if err != nil {
		c.t.Fatalf("%s: data TLS: %v", command, err)
	}
	return tc, dc
}

// transfer runs one data command over EPSV: send is written for uploads,
// the received bytes are returned for downloads. It returns the final
// reply code.
func (c *ftpc) transfer(command string, send []byte) ([]byte, int, string) {
	c.t.Helper()
	addr := c.epsv()
	dc := c.openData(addr, "127.0.0.1")
	defer dc.Close()
	if c.rest > 0 {
		c.expect(350, "REST %d", c.rest)
		c.rest = 0
	}
	c.send("%s", command)
	code, msg := c.read()
	if code != 150 {
		return nil, code, msg
	}
	tc, err := c.tlsData(dc)
	if err != nil {
		code, msg := c.read()
		return nil, code, msg
	}
	var got []byte
	if send != nil {
		tc.Write(send)
		tc.Close()
	} else {
		got, _ = io.ReadAll(tc)
		tc.Close()
	}
	code, msg = c.read()
	return got, code, msg
}

// get downloads path, failing the test on anything but 226.
func (c *ftpc) get(path string) []byte {
	c.t.Helper()
	b, code, msg := c.transfer("RETR "+path, nil)
	if code != 226 {
		c.t.Fatalf("RETR %s: %d %s", path, code, msg)
	}
	return b
}

// put uploads data to path, failing the test on anything but 226.
func (c *ftpc) put(path string, data []byte) {
	c.t.Helper()
	if _, code, msg := c.transfer("STOR "+path, data); code != 226 {
		c.t.Fatalf("STOR %s: %d %s", path, code, msg)
	}
}

// recObserver counts events for assertions.
type recObserver struct {
	NopObserver
	mu     sync.Mutex
	counts map[string]int
	recs   []TransferRecord
}

func newRecObserver() *recObserver { return &recObserver{counts: map[string]int{}} }

func (o *recObserver) inc(k string) {
	o.mu.Lock()
	o.counts[k]++
	o.mu.Unlock()
}

func (o *recObserver) get(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[k]
}

func (o *recObserver) ConnRejected(r RejectReason)    { o.inc("reject:" + string(r)) }
func (o *recObserver) Login(r LoginResult, _ string)  { o.inc("login:" + string(r)) }
func (o *recObserver) DataRefused(r DataRefuseReason) { o.inc("data:" + string(r)) }
func (o *recObserver) Denied(op, _ string)            { o.inc("denied:" + op) }
func (o *recObserver) PassiveExhausted()              { o.inc("pasv_exhausted") }
func (o *recObserver) Banned(netip.Addr)              { o.inc("banned") }
func (o *recObserver) Changed(rec ChangeRecord)       { o.inc("changed:" + string(rec.Op)) }
func (o *recObserver) Command(verb string, code int)  { o.inc(fmt.Sprintf("cmd:%s:%d", verb, code)) }
func (o *recObserver) Transfer(r TransferRecord) {
	o.mu.Lock()
	o.recs = append(o.recs, r)
	o.mu.Unlock()
	o.inc("xfer:" + string(r.Direction) + ":" + string(r.Result))
}

func (o *recObserver) DataUnbound(r UnboundReason) { o.inc("unbound:" + string(r)) }
func (o *recObserver) UnclosedUploadAccepted()     { o.inc("unclosed_kept") }

// unbound counts the unbound data connections accepted, for any reason.
func (o *recObserver) unbound() int {
	n := 0
	for _, r := range []UnboundReason{UnboundNoResume, UnboundOtherSession, UnboundOtherUser, UnboundOtherAddress} {
		n += o.get("unbound:" + string(r))
	}
	return n
}

// file reads a file under the backend root.
func (e *env) file(rel string) string {
	b, err := os.ReadFile(filepath.Join(e.root, rel))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func (e *env) writeFile(rel, data string) {
	e.t.Helper()
	p := filepath.Join(e.root, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 5*time.Second, "the condition", cond)
}

// tlsClient starts client TLS on the control connection (implicit FTPS).
func tlsClient(c *ftpc) *tls.Conn {
	c.t.Helper()
	tc := tls.Client(c.conn, c.tlsCfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	return tc
}

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
