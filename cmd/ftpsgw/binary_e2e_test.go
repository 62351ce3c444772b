package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// binPath is the real ftpsgw binary, built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ftpsgw-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "ftpsgw")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ftpsgw: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int { return testkit.FreePort(t, "127.0.0.1") }

// gatewayProc is the real binary running on loopback.
type gatewayProc struct {
	ctl, metrics string
	root         string
	cfgPath      string
	args         []any // what fills the config template
	cmd          *exec.Cmd
	out          *syncBuffer
}

// startBinary writes cfg (with %[1]s = control port, %[2]s = metrics
// port, %[3]s = temp dir) and runs `ftpsgw serve` until the test ends.
func startBinary(t *testing.T, cfg string) *gatewayProc {
	t.Helper()
	dir := t.TempDir()
	ctl, met := freePort(t), freePort(t)
	path := filepath.Join(dir, "ftpsgw.hcl")
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(path, []byte(fmt.Sprintf(cfg, fmt.Sprint(ctl), fmt.Sprint(met), dir)), 0o600)
	g := &gatewayProc{ctl: fmt.Sprintf("127.0.0.1:%d", ctl), metrics: fmt.Sprintf("127.0.0.1:%d", met),
		root: filepath.Join(dir, "data"), out: &syncBuffer{}, cfgPath: path,
		args: []any{fmt.Sprint(ctl), fmt.Sprint(met), dir}}
	g.cmd = exec.Command(binPath, "serve", "-config", path)
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			g.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("gateway output:\n%s", g.out.String())
		}
	})
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + g.metrics + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return g
			}
		}
		if i > 200 {
			t.Fatalf("gateway not ready:\n%s", g.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape fetches /metrics over HTTP and parses it.
func (g *gatewayProc) scrape(t *testing.T) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	resp, err := http.Get("http://" + g.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams, string(body)
}

// metricValue returns the value of name{labels}; histograms by _count.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	base, isCount := strings.CutSuffix(name, "_count")
	fam := fams[name]
	if fam == nil && isCount {
		fam = fams[base]
	}
	if fam == nil {
		return 0
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, lp := range m.GetLabel() {
			if labels[lp.GetName()] != lp.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

func (g *gatewayProc) dialFTP(t *testing.T, src string) *ftp.ServerConn {
	t.Helper()
	conf := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := ftp.Dial(g.ctl, ftp.DialWithExplicitTLS(conf), ftp.DialWithDialer(d))
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	return c
}

func mustHash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// binaryHeader is the start of a startBinary config: the listener
// (%[1]s), a self-signed certificate under the test's directory (%[3]s),
// a random passive range of ports ports in cmd's band (below the
// ephemeral ports) and the metrics listener (%[2]s).
func binaryHeader(ports int) string {
	lo := 26000 + rand.IntN(1900)
	return `server {
  listen = ["127.0.0.1:%[1]s"]
  drain_timeout = "2s"
}
tls {
  source    = "self_signed"
  state_dir = "%[3]s/state"
}
passive {
  port_range = "` + fmt.Sprintf("%d-%d", lo, lo+ports-1) + `"
}
metrics {
  listen = "127.0.0.1:%[2]s"
}
`
}

// TestMetricsFromRealSessions drives the real binary and checks the exact
// metric deltas that each kind of event produces on a live scrape.
func TestMetricsFromRealSessions(t *testing.T) {
	cfg := binaryHeader(2) + `defender {
  max_failures = 2
  window       = "10m"
  ban          = "10m"
}
backend "local" "files" {
  root = "%[3]s/data"
}
user "alice" {
  password_hash = "` + mustHash(t, "alice-pw") + `"
  permissions   = ["*"]
}
user "bob" {
  password_hash = "` + mustHash(t, "bob-pw") + `"
  permissions   = ["list", "download"]
}
`
	g := startBinary(t, cfg)
	before, _ := g.scrape(t)
	type series struct {
		name   string
		labels map[string]string
	}
	delta := func(after map[string]*dto.MetricFamily, s series) float64 {
		return metricValue(after, s.name, s.labels) - metricValue(before, s.name, s.labels)
	}

	// login ok, upload, download, listing
	a := g.dialFTP(t, "127.0.0.1")
	defer a.Quit() // keeps the session open (and a reachable) until the scrape
	if err := a.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	payload := strings.Repeat("m", 12345)
	if err := a.Stor("m.txt", strings.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	r, err := a.Retr("m.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	r.Close()

	// login failures: wrong password and unknown user
	f := g.dialFTP(t, "127.0.0.3")
	if err := f.Login("alice", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	f.Quit()
	f = g.dialFTP(t, "127.0.0.4")
	if err := f.Login("nobody", "wrong"); err == nil {
		t.Fatal("unknown user accepted")
	}
	f.Quit()

	// denial: read-only bob uploads
	b := g.dialFTP(t, "127.0.0.6")
	if err := b.Login("bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	if err := b.Stor("denied.txt", strings.NewReader("x")); err == nil {
		t.Fatal("read-only upload accepted")
	}
	b.Quit() // releases the passive port its EPSV took

	// ban: two failures from 127.0.0.5, then a connection refused at accept
	for range 2 {
		c := g.dialFTP(t, "127.0.0.5")
		c.Login("alice", "wrong")
		c.Quit()
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.5")}}
	if c, err := d.Dial("tcp", g.ctl); err == nil {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, _ := c.Read(make([]byte, 64)); n != 0 {
			t.Error("banned address got a banner")
		}
		c.Close()
	}

	// passive exhaustion: two ports, three raw EPSVs held open
	var holders []*ftpc
	for _, src := range []string{"127.0.0.7", "127.0.0.8", "127.0.0.9"} {
		h := rawLogin(t, g.ctl, src, "alice", "alice-pw")
		holders = append(holders, h)
	}
	codes := []int{}
	for _, h := range holders {
		code, _ := h.cmd("EPSV")
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[229 229 425]" {
		t.Errorf("EPSV codes with a 2-port range: %v", codes)
	}

	after, body := g.scrape(t)
	for _, c := range []struct {
		s    series
		want float64
	}{
		{series{"ftpsgw_logins_total", map[string]string{"result": "ok"}}, 1 + 1 + 3},
		{series{"ftpsgw_logins_total", map[string]string{"result": "bad_password"}}, 1 + 2},
		{series{"ftpsgw_logins_total", map[string]string{"result": "unknown_user"}}, 1},
		{series{"ftpsgw_acl_denials_total", map[string]string{"operation": "upload"}}, 1},
		{series{"ftpsgw_transfers_total", map[string]string{"direction": "upload", "result": "ok"}}, 1},
		{series{"ftpsgw_transfers_total", map[string]string{"direction": "download", "result": "ok"}}, 1},
		{series{"ftpsgw_transfer_bytes_total", map[string]string{"direction": "upload"}}, 12345},
		{series{"ftpsgw_transfer_bytes_total", map[string]string{"direction": "download"}}, 12345},
		{series{"ftpsgw_transfer_duration_seconds_count", map[string]string{"direction": "upload"}}, 1},
		{series{"ftpsgw_defender_bans_total", nil}, 1},
		{series{"ftpsgw_defender_bans_active", nil}, 1},
		{series{"ftpsgw_connections_rejected_total", map[string]string{"reason": "ban"}}, 1},
		{series{"ftpsgw_passive_allocation_failures_total", nil}, 1},
		{series{"ftpsgw_passive_ports_in_use", nil}, 2},
		{series{"ftpsgw_sessions_active", nil}, 4}, // alice's and three holders
	} {
		if got := delta(after, c.s); got != c.want {
			t.Errorf("%s%v: delta %v, want %v", c.s.name, c.s.labels, got, c.want)
		}
	}
	if strings.Contains(body, "alice") || strings.Contains(body, "127.0.0.") || strings.Contains(body, "m.txt") {
		t.Error("scrape leaks a user name, client address or path")
	}
	// promtool's lint on the live scrape of the real binary.
	promtool := requireTool(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func requireTool(t *testing.T, name string) string { return testkit.RequireTool(t, name) }

// ftpc is a minimal raw FTPS control client for exact reply codes.
type ftpc struct {
	t    *testing.T
	conn net.Conn
	r    *bufioReader
}

type bufioReader = bufio.Reader

// rawLogin connects from src and logs in over explicit TLS with PROT P.
func rawLogin(t *testing.T, addr, src, user, pw string) *ftpc {
	t.Helper()
	c := rawConnect(t, addr, src)
	c.want(331, "USER "+user)
	c.want(230, "PASS "+pw)
	return c
}

// rawConnect connects from src and sets up explicit TLS with PROT P.
func rawConnect(t *testing.T, addr, src string) *ftpc {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &ftpc{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.want(220, "")
	c.want(234, "AUTH TLS")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.want(200, "PBSZ 0")
	c.want(200, "PROT P")
	return c
}

func (c *ftpc) cmd(line string) (int, string) {
	c.t.Helper()
	if line != "" {
		fmt.Fprintf(c.conn, "%s\r\n", line)
	}
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := c.r.ReadString('\n')
	if err != nil || len(s) < 4 {
		return 0, s
	}
	code := 0
	fmt.Sscanf(s[:3], "%d", &code)
	for s[3] == '-' { // skip the body of a multi-line reply
		l, err := c.r.ReadString('\n')
		if err != nil || strings.HasPrefix(l, s[:3]+" ") {
			break
		}
	}
	return code, strings.TrimSpace(s[4:])
}

func (c *ftpc) want(code int, line string) {
	c.t.Helper()
	if got, msg := c.cmd(line); got != code {
		c.t.Fatalf("%q: %d %s, want %d", line, got, msg, code)
	}
}

// TestSIGHUPChangesLiveSession: a real SIGHUP to the real binary changes a
// user's permissions and password; the open session's next command
// follows the new rules, and only the new password logs in.
func TestSIGHUPChangesLiveSession(t *testing.T) {
	cfg := `server {
  listen = ["127.0.0.1:%[1]s"]
}
tls {
  source    = "self_signed"
  state_dir = "%[3]s/state"
}
metrics {
  listen = "127.0.0.1:%[2]s"
}
backend "local" "files" {
  root = "%[3]s/data"
}
user "alice" {
  password_hash = "PWHASH"
  permissions   = PERMS
}
`
	write := func(g *gatewayProc, hash, perms string) {
		c := strings.NewReplacer("PWHASH", hash, "PERMS", perms).Replace(cfg)
		os.WriteFile(g.cfgPath, []byte(fmt.Sprintf(c, g.args...)), 0o600)
	}
	g := startBinary(t, strings.NewReplacer("PWHASH", mustHash(t, "old-pw"), "PERMS", `["*"]`).Replace(cfg))
	a := rawLogin(t, g.ctl, "127.0.0.1", "alice", "old-pw")
	a.want(257, "MKD before")

	write(g, mustHash(t, "new-pw"), `["list", "download"]`)
	g.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; !strings.Contains(g.out.String(), "config reloaded"); i++ {
		if i > 100 {
			t.Fatalf("no reload logged:\n%s", g.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.want(550, "MKD after") // the open session, at its next command
	a.want(250, "CWD before")
	if code, _ := a.cmd("NOOP"); code != 200 {
		t.Errorf("session did not survive the reload: %d", code)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", g.ctl)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	old := &ftpc{t: t, conn: conn, r: bufio.NewReader(conn)}
	old.want(220, "")
	old.want(234, "AUTH TLS")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	old.conn, old.r = tc, bufio.NewReader(tc)
	old.want(331, "USER alice")
	old.want(530, "PASS old-pw")
	rawLogin(t, g.ctl, "127.0.0.1", "alice", "new-pw")

	// A broken file is refused whole; the reloaded policy stays.
	os.WriteFile(g.cfgPath, []byte("user \"alice\" {\n  permissions = [\"fly\"]\n}\n"), 0o600)
	g.cmd.Process.Signal(syscall.SIGHUP)
	for i := 0; !strings.Contains(g.out.String(), "config reload rejected"); i++ {
		if i > 100 {
			t.Fatalf("bad reload not refused:\n%s", g.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.want(550, "MKD after-bad-reload")
	rawLogin(t, g.ctl, "127.0.0.1", "alice", "new-pw")
}
