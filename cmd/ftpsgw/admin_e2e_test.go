package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

const adminTestToken = "admin-test-token-0123456789abcdef"

// adminCfg is a config with an admin listener (%[4]s), a token file
// (%[3]s/admin.token), a slow upload user and a strict defender.
func adminCfg(t *testing.T, lo int) string {
	return `server {
  listen = ["127.0.0.1:%[1]s"]
  drain_timeout = "2s"
  banner_file = "%[5]s/banner.txt"
  login_message_file = "%[5]s/motd.txt"
}
tls {
  source    = "self_signed"
  state_dir = "%[3]s/state"
}
passive {
  port_range = "` + fmt.Sprintf("%d-%d", lo, lo+3) + `"
}
metrics {
  listen = "127.0.0.1:%[2]s"
}
admin {
  listen     = "127.0.0.1:%[4]s"
  token_file = "%[5]s/admin.token"
  pprof      = true
}
defender {
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
  bandwidth {
    upload = "256KiB/s"
  }
}
`
}

// adminGateway starts the binary with adminCfg and returns it with the
// admin base URL and the directory of the token and notice files.
func adminGateway(t *testing.T) (*gatewayProc, string, string) {
	t.Helper()
	lo := 26000 + rand.IntN(1900)
	adm := freePort(t)
	files := t.TempDir()
	os.WriteFile(filepath.Join(files, "admin.token"), []byte(adminTestToken+"\n"), 0o600)
	os.WriteFile(filepath.Join(files, "banner.txt"), []byte("AUTHORISED USE ONLY\r\nline two\x1b[31m\n"), 0o644)
	os.WriteFile(filepath.Join(files, "motd.txt"), []byte("Welcome, be nice.\n"), 0o644)
	cfg := strings.NewReplacer("%[4]s", fmt.Sprint(adm), "%[5]s", files).Replace(adminCfg(t, lo))
	return startBinary(t, cfg), fmt.Sprintf("http://127.0.0.1:%d", adm), files
}

func apiDo(t *testing.T, method, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type apiSessions struct {
	Sessions []struct {
		ID, User, Client string
		TLSVersion       string `json:"tls_version"`
		Transfer         *struct {
			Direction, Path string
			Bytes           int64
			BytesPerSec     float64 `json:"bytes_per_second"`
		}
	}
}

func listSessions(t *testing.T, base string) apiSessions {
	t.Helper()
	code, body := apiDo(t, "GET", base+"/api/v1/sessions", adminTestToken)
	if code != 200 {
		t.Fatalf("GET sessions: %d %s", code, body)
	}
	var v apiSessions
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("sessions json: %v\n%s", err, body)
	}
	return v
}

// slowUpload is a raw FTPS client uploading 4 MiB through the
// 256 KiB/s limit; its control connection stays readable, so the test
// sees exactly what the gateway sends on it.
type slowUpload struct {
	ctl  *ftpc
	done chan error // the data writer's end
}

// startSlowUpload logs in, starts STOR /big.bin and waits until the API
// shows the upload in flight with bytes moving.
func startSlowUpload(t *testing.T, g *gatewayProc, base string) (string, *slowUpload) {
	t.Helper()
	conf := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	conn, err := net.DialTimeout("tcp", g.ctl, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &ftpc{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.readReply("220")
	c.want(234, "AUTH TLS")
	tc := tls.Client(conn, conf)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.want(200, "PBSZ 0")
	c.want(200, "PROT P")
	c.want(331, "USER alice")
	c.want(230, "PASS alice-pw")
	c.want(200, "TYPE I")
	code, msg := c.cmd("EPSV")
	var port int
	if _, err := fmt.Sscanf(msg[strings.Index(msg, "(|||"):], "(|||%d|)", &port); code != 229 || err != nil {
		t.Fatalf("EPSV: %d %s", code, msg)
	}
	dc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	c.want(150, "STOR big.bin")
	up := &slowUpload{ctl: c, done: make(chan error, 1)}
	go func() {
		td := tls.Client(dc, conf)
		if err := td.Handshake(); err != nil {
			up.done <- err
			return
		}
		_, err := td.Write(bytes.Repeat([]byte("x"), 4<<20))
		up.done <- err
	}()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range listSessions(t, base).Sessions {
			if s.User == "alice" && s.Transfer != nil && s.Transfer.Bytes > 0 {
				if s.Transfer.Path != "/big.bin" || s.Transfer.Direction != "upload" {
					t.Fatalf("transfer = %+v, want upload of /big.bin", s.Transfer)
				}
				return s.ID, up
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("upload never showed in the API")
	return "", nil
}

// tempUploads lists the uploads in flight in g's root: named temporaries,
// and on Linux the unnamed files (O_TMPFILE) the gateway holds open
// there, which /proc shows as "<dir>/#<inode> (deleted)".
func tempUploads(g *gatewayProc) []string {
	m, _ := filepath.Glob(filepath.Join(g.root, ".ftpsgw-upload-*"))
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", g.cmd.Process.Pid))
	for _, fd := range fds {
		if to, err := os.Readlink(fd); err == nil && strings.HasPrefix(to, g.root+"/") && strings.HasSuffix(to, " (deleted)") {
			m = append(m, to)
		}
	}
	return m
}

// TestAdminKickUpload: a bandwidth-limited upload is listed with its path
// and moving byte count; DELETE sessions/{id} gives the client 421,
// removes the temporary file and ends the session within a second.
func TestAdminKickUpload(t *testing.T) {
	g, base, _ := adminGateway(t)
	id, up := startSlowUpload(t, g, base)
	first := listSessions(t, base)
	time.Sleep(600 * time.Millisecond)
	var b0, b1 int64
	for _, s := range first.Sessions {
		if s.ID == id {
			b0 = s.Transfer.Bytes
		}
	}
	for _, s := range listSessions(t, base).Sessions {
		if s.ID == id && s.Transfer != nil {
			b1 = s.Transfer.Bytes
			if s.TLSVersion == "" || s.Client != "127.0.0.1" {
				t.Errorf("session %+v: want TLS version and client 127.0.0.1", s)
			}
		}
	}
	if b1 <= b0 {
		t.Errorf("byte count not moving: %d then %d", b0, b1)
	}
	if len(tempUploads(g)) != 1 {
		t.Fatalf("want one temporary upload file in flight, have %v", tempUploads(g))
	}

	if code, body := apiDo(t, "DELETE", base+"/api/v1/sessions/no-such-id", adminTestToken); code != 404 ||
		!strings.Contains(string(body), `"error"`) {
		t.Errorf("unknown id: %d %s, want 404 with an error body", code, body)
	}
	kicked := time.Now()
	if code, body := apiDo(t, "DELETE", base+"/api/v1/sessions/"+id, adminTestToken); code != 200 {
		t.Fatalf("kick: %d %s", code, body)
	}
	for {
		gone := true
		for _, s := range listSessions(t, base).Sessions {
			if s.ID == id {
				gone = false
			}
		}
		if gone && len(tempUploads(g)) == 0 {
			break
		}
		if time.Since(kicked) > time.Second {
			t.Fatalf("after 1s: session gone %v, temporary files %v", gone, tempUploads(g))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, msg := up.ctl.cmd(""); code != 421 {
		t.Errorf("control connection after the kick: %d %q, want 421", code, msg)
	}
	select {
	case <-up.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the data connection stayed open after the kick")
	}
	if _, err := os.Stat(filepath.Join(g.root, "big.bin")); err == nil {
		t.Error("the aborted upload was published")
	}
}

// TestAdminBansAndAuth: failed logins ban 127.0.0.5, the API lists and
// lifts the ban, and the address logs in again; requests without or with
// a wrong token get 401 and leave one audit line each, without the token.
func TestAdminBansAndAuth(t *testing.T) {
	g, base, files := adminGateway(t)
	for range 2 {
		c := g.dialFTP(t, "127.0.0.5")
		if err := c.Login("alice", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
		c.Quit()
	}
	code, body := apiDo(t, "GET", base+"/api/v1/bans", adminTestToken)
	if code != 200 || !strings.Contains(string(body), `"127.0.0.5"`) {
		t.Fatalf("bans: %d %s", code, body)
	}
	if code, body := apiDo(t, "DELETE", base+"/api/v1/bans/not-an-ip", adminTestToken); code != 400 {
		t.Errorf("bad address: %d %s, want 400", code, body)
	}
	if code, body := apiDo(t, "DELETE", base+"/api/v1/bans/127.0.0.9", adminTestToken); code != 404 {
		t.Errorf("no ban: %d %s, want 404", code, body)
	}
	out, errb := &bytes.Buffer{}, &bytes.Buffer{}
	tokFile := filepath.Join(files, "admin.token")
	addr := strings.TrimPrefix(base, "http://")
	if rc := run([]string{"admin", "bans", "-addr", addr, "-token-file", tokFile}, nil, out, errb); rc != 0 ||
		!strings.Contains(out.String(), "CLIENT") || !strings.Contains(out.String(), "127.0.0.5") {
		t.Errorf("admin bans: rc %d\n%s%s", rc, out, errb)
	}
	out.Reset()
	if rc := run([]string{"admin", "unban", "127.0.0.5", "-addr", addr, "-token-file", tokFile, "-json"}, nil, out, errb); rc != 0 {
		t.Fatalf("admin unban: rc %d\n%s%s", rc, out, errb)
	}
	c := g.dialFTP(t, "127.0.0.5")
	if err := c.Login("alice", "alice-pw"); err != nil {
		t.Fatalf("login after unban: %v", err)
	}
	out.Reset()
	if rc := run([]string{"admin", "sessions", "-addr", addr, "-token-file", tokFile}, nil, out, errb); rc != 0 ||
		!strings.Contains(out.String(), "alice") {
		t.Errorf("admin sessions: rc %d\n%s%s", rc, out, errb)
	}
	c.Quit()

	time.Sleep(300 * time.Millisecond) // the log reaches g.out through a pipe
	before := strings.Count(g.out.String(), "admin request")
	for _, tok := range []string{"", "wrong-token-wrong-token"} {
		code, body := apiDo(t, "GET", base+"/api/v1/sessions", tok)
		if code != 401 || strings.TrimSpace(string(body)) != "{\n  \"error\": \"unauthorized\"\n}" {
			t.Errorf("token %q: %d %q, want 401 unauthorized", tok, code, body)
		}
	}
	if code, _ := apiDo(t, "PUT", base+"/api/v1/sessions", ""); code != 401 {
		t.Errorf("PUT without token: %d, want 401", code)
	}
	if code, body := apiDo(t, "PUT", base+"/api/v1/sessions", adminTestToken); code != 405 || !strings.Contains(string(body), "method not allowed") {
		t.Errorf("PUT: %d %s, want 405", code, body)
	}
	if code, _ := apiDo(t, "GET", base+"/api/v1/nothing", adminTestToken); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}
	time.Sleep(300 * time.Millisecond)
	logs := g.out.String()
	if n := strings.Count(logs, "admin request") - before; n != 5 {
		t.Errorf("%d audit lines for 5 requests", n)
	}
	if n := strings.Count(logs, `"status":401`); n < 3 {
		t.Errorf("want 3 audit lines with status=401, have %d:\n%s", n, logs)
	}
	if strings.Contains(logs, "wrong-token") || strings.Contains(logs, adminTestToken) {
		t.Error("a token reached the log")
	}
	if strings.Contains(string(body), adminTestToken) {
		t.Error("a token reached a response")
	}
	// pprof = true: profiles behind the same token.
	if code, _ := apiDo(t, "GET", base+"/debug/pprof/goroutine?debug=1", ""); code != 401 {
		t.Errorf("profile without token: %d, want 401", code)
	}
	if code, body := apiDo(t, "GET", base+"/debug/pprof/goroutine?debug=1", adminTestToken); code != 200 ||
		!strings.Contains(string(body), "goroutine profile:") {
		t.Errorf("goroutine profile: %d %.100s", code, body)
	}
}

// TestAdminReloadAndNotices: the multi-line 220 and 230 carry the notice
// files (control bytes stripped); a reload through the API with a broken
// file gets 422 with file:line and the old config stays; a good reload
// re-reads the notices.
func TestAdminReloadAndNotices(t *testing.T) {
	g, base, files := adminGateway(t)
	c, lines := rawConnectLines(t, g.ctl)
	banner := strings.Join(lines, "\n")
	if !strings.Contains(banner, "220- AUTHORISED USE ONLY") && !strings.Contains(banner, " AUTHORISED USE ONLY") {
		t.Errorf("banner: %q", banner)
	}
	if strings.Contains(banner, "\x1b") {
		t.Errorf("control byte in banner: %q", banner)
	}
	c.want(234, "AUTH TLS")
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.want(331, "USER alice")
	fmt.Fprintf(c.conn, "PASS alice-pw\r\n")
	if l := strings.Join(c.readReply("230"), "\n"); !strings.Contains(l, "230-") || !strings.Contains(l, " Welcome, be nice.") {
		t.Errorf("login message: %q", l)
	}
	good, _ := os.ReadFile(g.cfgPath)
	os.WriteFile(g.cfgPath, append(good, []byte("\nuser \"bob\" {\n  permissions = [\"fly\"]\n}\n")...), 0o600)
	code, body := apiDo(t, "POST", base+"/api/v1/reload", adminTestToken)
	if code != 422 || !strings.Contains(string(body), "ftpsgw.hcl:") || !strings.Contains(string(body), `"ok": false`) {
		t.Errorf("broken reload: %d %s, want 422 with file:line", code, body)
	}
	if strings.Contains(string(body), "$2a$") {
		t.Error("a password hash reached a response")
	}
	a := rawLogin(t, g.ctl, "127.0.0.1", "alice", "alice-pw")
	a.want(257, "MKD kept")

	os.WriteFile(g.cfgPath, good, 0o600)
	os.WriteFile(filepath.Join(files, "banner.txt"), []byte("NEW NOTICE\n"), 0o644)
	if code, body := apiDo(t, "POST", base+"/api/v1/reload", adminTestToken); code != 200 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	if _, l := rawConnectLines(t, g.ctl); !strings.Contains(strings.Join(l, "\n"), "NEW NOTICE") {
		t.Errorf("banner after reload: %q", l)
	}
	if code, body := apiDo(t, "GET", base+"/api/v1/backends", adminTestToken); code != 200 || !strings.Contains(string(body), `"ok": true`) {
		t.Errorf("backends: %d %s", code, body)
	}

	// drain: as SIGTERM, the gateway stops listening and exits.
	if code, body := apiDo(t, "POST", base+"/api/v1/drain", adminTestToken); code != 202 {
		t.Fatalf("drain: %d %s", code, body)
	}
	for i := 0; ; i++ {
		if strings.Contains(g.out.String(), `"stopped"`) {
			break
		}
		if i > 100 {
			t.Fatalf("no stop after drain:\n%s", g.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rawConnectLines connects and reads the whole 220 greeting.
func rawConnectLines(t *testing.T, addr string) (*ftpc, []string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &ftpc{t: t, conn: conn, r: bufio.NewReader(conn)}
	return c, c.readReply("220")
}

// readReply reads a reply with code, multi-line included.
func (c *ftpc) readReply(code string) []string {
	var lines []string
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reply %s: %v (%q)", code, err, lines)
		}
		lines = append(lines, strings.TrimRight(l, "\r\n"))
		if strings.HasPrefix(l, code+" ") {
			return lines
		}
	}
}

// TestAdminMutualTLS: an admin listener with client_ca_file and no token
// answers `ftpsgw admin` presenting an operator certificate, and refuses
// the same call without one (401) or with a certificate of another CA.
func TestAdminMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, other := testkit.NewCA(t, "ftpsgw operators"), testkit.NewCA(t, "someone else")
	caFile := filepath.Join(dir, "ops-ca.pem")
	os.WriteFile(caFile, ca.PEM, 0o644)
	srvCert, srvKey := testkit.WritePEM(t, dir, "admin", ca.Issue(t, "admin", "127.0.0.1"))
	opCert, opKey := testkit.WritePEM(t, dir, "op", ca.Issue(t, "ops-laptop"))
	strangerCert, strangerKey := testkit.WritePEM(t, dir, "stranger", other.Issue(t, "stranger"))
	adm := freePort(t)
	startBinary(t, binaryHeader(2)+`backend "local" "files" {
  root = "%[3]s/data"
}
user "alice" {
  password_hash = "`+mustHash(t, "alice-pw")+`"
  permissions   = ["*"]
}
admin {
  listen         = "127.0.0.1:`+fmt.Sprint(adm)+`"
  tls_cert_file  = "`+srvCert+`"
  tls_key_file   = "`+srvKey+`"
  client_ca_file = "`+caFile+`"
}
`)
	addr := fmt.Sprintf("127.0.0.1:%d", adm)
	call := func(extra ...string) (int, string) {
		var out, errb bytes.Buffer
		rc := run(append([]string{"admin", "sessions", "-addr", addr, "-ca-file", caFile}, extra...), nil, &out, &errb)
		return rc, out.String() + errb.String()
	}
	if rc, out := call("-cert", opCert, "-key", opKey); rc != 0 || !strings.Contains(out, "ID") {
		t.Errorf("operator certificate: exit %d\n%s", rc, out)
	}
	t.Setenv("FTPSGW_ADMIN_TOKEN", "not-the-token-0123456789")
	if rc, out := call(); rc != 1 || !strings.Contains(out, "HTTP 401") {
		t.Errorf("no certificate: exit %d\n%s", rc, out)
	}
	if rc, out := call("-cert", strangerCert, "-key", strangerKey); rc == 0 {
		t.Errorf("a certificate of another CA was accepted:\n%s", out)
	}
}
