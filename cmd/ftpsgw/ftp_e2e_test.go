package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend/ftp/ftptest"
)

// ftpConfig is a gateway whose alice lives on a real upstream FTP server
// (vsftpd), reached over tls (explicit or implicit, verified by the
// server's CA) or in clear.
func ftpConfig(t *testing.T, srv *ftptest.Server, tlsMode string) string {
	ca := ""
	if tlsMode != "none" {
		ca = `ca_file = "` + srv.CAFile + `"`
	}
	return binaryHeader(8) + `backend "ftp" "legacy" {
  address       = "` + srv.Addr + `"
  user          = "` + ftptest.User + `"
  password_file = "` + srv.PasswordFile + `"
  tls           = "` + tlsMode + `"
  ` + ca + `
  op_timeout    = "5s"
}
user "alice" {
  password_hash = "` + mustHash(t, "alice-pw") + `"
  backend       = "legacy"
  home          = "/alice"
  permissions   = ["*"]
}
`
}

// lftpScript runs lftp commands against the gateway as alice.
func lftpScript(t *testing.T, dir, ctl string, cmds ...string) string {
	script := append([]string{
		"set ftp:ssl-force true",
		"set ftp:ssl-protect-data true",
		"set ssl:verify-certificate no",
		"set net:max-retries 1",
		"set net:timeout 20",
		"set cmd:fail-exit true",
		"open -u alice,alice-pw ftp://" + ctl,
	}, cmds...)
	os.WriteFile(filepath.Join(dir, "script.lftp"), []byte(strings.Join(append(script, "bye"), "\n")), 0o644)
	return runTool(t, dir, requireTool(t, "lftp"), "-f", "script.lftp")
}

// TestFTPBackendThroughGateway drives real clients through the real
// binary onto a real vsftpd with FTPS (require_ssl_reuse=YES) upstream.
func TestFTPBackendThroughGateway(t *testing.T) {
	curl := requireTool(t, "curl")
	srv := ftptest.Start(t, ftptest.Options{TLS: "explicit"})
	g := startBinary(t, ftpConfig(t, srv, "explicit"))
	t.Run("lftp mirror", func(t *testing.T) { ftpMirror(t, srv, g) })
	t.Run("upload killed midway", func(t *testing.T) { ftpKilledUpload(t, srv, g, curl) })
	t.Run("upstream gone mid-download", func(t *testing.T) { ftpUpstreamGone(t, srv, g) })
	t.Run("no password in clear upstream", func(t *testing.T) { ftpAuthFirst(t, srv) })
}

// ftpMirror: lftp mirror -R and mirror of a 200-file tree, with sha256
// equal at rest on the upstream's disk and back on the client's.
func ftpMirror(t *testing.T, srv *ftptest.Server, g *gatewayProc) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for i := range 200 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%7), fmt.Sprintf("sub%d", i%3), fmt.Sprintf("file-%03d.dat", i))
		b := make([]byte, 100+i*97)
		rand.Read(b)
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		if err := os.WriteFile(filepath.Join(src, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lftpScript(t, dir, g.ctl, "mirror -R --parallel=2 src tree", "mirror tree back")
	want := sumTree(t, src)
	if len(want) != 200 {
		t.Fatalf("source tree has %d files", len(want))
	}
	for _, root := range []string{filepath.Join(srv.DataDir, "alice", "tree"), filepath.Join(dir, "back")} {
		got := sumTree(t, root)
		if len(got) != len(want) {
			t.Errorf("%s: %d files, want %d", root, len(got), len(want))
		}
		for rel, sum := range want {
			if got[rel] != sum {
				t.Errorf("%s: %s differs", root, rel)
			}
		}
	}
}

// ftpKilledUpload: a client killed in the middle of an upload over an
// existing file leaves that file as it was, and the temporary upload is
// removed.
func ftpKilledUpload(t *testing.T, srv *ftptest.Server, g *gatewayProc, curl string) {
	alice := filepath.Join(srv.DataDir, "alice")
	os.MkdirAll(alice, 0o755)
	uid, gid := ownerOf(t, srv.DataDir)
	os.Chown(alice, uid, gid)
	old := []byte("the old content stays")
	if err := os.WriteFile(filepath.Join(alice, "keep.bin"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	big := make([]byte, 64<<20)
	rand.Read(big[:1<<20])
	os.WriteFile(filepath.Join(dir, "new.bin"), big, 0o644)
	cmd := exec.Command(curl, "-sS", "--ssl-reqd", "-k", "--limit-rate", "4M", "-u", "alice:alice-pw",
		"-T", "new.bin", "ftp://"+g.ctl+"/keep.bin")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tmp := waitForTemp(t, alice, 1<<20)
	cmd.Process.Kill()
	cmd.Wait()
	for i := 0; ; i++ {
		if _, err := os.Stat(tmp); os.IsNotExist(err) {
			break
		}
		if i > 100 {
			t.Fatalf("temporary upload %s still there 10 s after the client died", tmp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, err := os.ReadFile(filepath.Join(alice, "keep.bin")); err != nil || !bytes.Equal(b, old) {
		t.Errorf("keep.bin after the killed upload: %d bytes, %v; want the old content", len(b), err)
	}
}

// ftpUpstreamGone: the upstream's session dies in a download: the client
// gets 426 and its session goes on, reconnected upstream.
func ftpUpstreamGone(t *testing.T, srv *ftptest.Server, g *gatewayProc) {
	big := make([]byte, 96<<20)
	rand.Read(big[:1<<20])
	if err := os.WriteFile(filepath.Join(srv.DataDir, "alice", "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	c := g.dialFTP(t, "127.0.0.1")
	defer c.Quit()
	if err := c.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Retr("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	srv.KillSessions()
	io.Copy(io.Discard, r)
	if err := r.Close(); err == nil || !strings.Contains(err.Error(), "426") {
		t.Errorf("download cut by the upstream: %v, want 426", err)
	}
	if names, err := c.NameList("/"); err != nil || !containsName(names, "big.bin") {
		t.Errorf("after the drop: NLST = %q, %v", names, err)
	}
}

// ftpAuthFirst reads vsftpd's protocol log: every upstream session the
// gateway opened sent AUTH TLS before USER and PASS.
func ftpAuthFirst(t *testing.T, srv *ftptest.Server) {
	authed, logins := map[string]bool{}, 0
	for _, m := range vsftpdCommand.FindAllStringSubmatch(srv.Log(), -1) {
		switch pid, verb := m[1], m[2]; verb {
		case "AUTH":
			authed[pid] = true
		case "USER", "PASS":
			logins++
			if !authed[pid] {
				t.Errorf("upstream session %s got %s before AUTH TLS", pid, verb)
			}
		}
	}
	if logins == 0 {
		t.Errorf("no upstream login in vsftpd's log")
	}
}

// vsftpdCommand matches a command in vsftpd's protocol log.
var vsftpdCommand = regexp.MustCompile(`\[pid (\d+)\].*FTP command: Client "[^"]*", "([A-Z]+)`)

// waitForTemp waits for the backend's temporary upload file in dir to
// reach size bytes and returns its path.
func waitForTemp(t *testing.T, dir string, size int64) string {
	t.Helper()
	for i := 0; i < 200; i++ {
		matches, _ := filepath.Glob(filepath.Join(dir, ".ftpsgw-up-*"))
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Size() >= size {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no temporary upload of %d bytes appeared in %s", size, dir)
	return ""
}

// ownerOf returns the uid and gid of path.
func ownerOf(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// TestFTPCommandTrace prints, for each client command through the
// gateway, the commands the ftp backend sent upstream, read from vsftpd's
// protocol log (vsftpd in clear, and with FTPS), as a table for the
// docs. It runs only with FTPSGW_FTP_TRACE=1.
func TestFTPCommandTrace(t *testing.T) {
	if os.Getenv("FTPSGW_FTP_TRACE") != "1" {
		t.Skip("set FTPSGW_FTP_TRACE=1 to print the upstream commands of each client command")
	}
	for _, mode := range []string{"none", "explicit"} {
		t.Run(mode, func(t *testing.T) {
			opts := ftptest.Options{}
			if mode != "none" {
				opts.TLS = mode
			}
			srv := ftptest.Start(t, opts)
			g := startBinary(t, ftpConfig(t, srv, mode))
			traceSteps(t, srv, g)
		})
	}
}

// traceSteps runs each step and logs the upstream commands it caused.
func traceSteps(t *testing.T, srv *ftptest.Server, g *gatewayProc) {
	c := g.dialFTP(t, "127.0.0.1")
	var rows []string
	step := func(name string, f func() error) {
		off := len(srv.Log())
		err := f()
		time.Sleep(150 * time.Millisecond)
		var cmds []string
		for _, line := range strings.Split(srv.Log()[off:], "\n") {
			if i := strings.Index(line, `FTP command: Client "127.0.0.1", "`); i >= 0 {
				cmd := strings.TrimSuffix(line[i+len(`FTP command: Client "127.0.0.1", "`):], `"`)
				cmd = strings.ReplaceAll(cmd, "/alice/", "")
				if strings.HasPrefix(cmd, "PASS ") {
					cmd = "PASS ***"
				}
				cmds = append(cmds, cmd)
			}
		}
		note := ""
		if err != nil {
			note = " (client got: " + err.Error() + ")"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s |%s", name, strings.Join(cmds, ", "), note))
	}
	data := strings.NewReader("hello")
	step("USER/PASS (session opens)", func() error { return c.Login("alice", "alice-pw") })
	step("MKD d", func() error { return c.MakeDir("d") })
	step("CWD d", func() error { return c.ChangeDir("d") })
	step("CWD ..", func() error { return c.ChangeDir("..") })
	step("STOR f (new)", func() error { return c.Stor("f", data) })
	step("STOR f (over)", func() error { return c.Stor("f", strings.NewReader("hello again")) })
	step("APPE f", func() error { return c.Append("f", strings.NewReader("+")) })
	step("SIZE f", func() error { _, err := c.FileSize("f"); return err })
	step("MDTM f", func() error { _, err := c.GetTime("f"); return err })
	step("RETR f", func() error { r, err := c.Retr("f"); return drain(r, err) })
	step("REST 3 + RETR f", func() error { r, err := c.RetrFrom("f", 3); return drain(r, err) })
	step("LIST", func() error { _, err := c.List("."); return err })
	step("NLST", func() error { _, err := c.NameList("."); return err })
	step("RNFR f, RNTO g", func() error { return c.Rename("f", "g") })
	step("DELE g", func() error { return c.Delete("g") })
	step("RMD d", func() error { return c.RemoveDir("d") })
	step("NOOP", func() error { return c.NoOp() })
	step("QUIT", func() error { return c.Quit() })
	t.Logf("upstream commands per client command:\n| client | upstream |\n|---|---|\n%s", strings.Join(rows, "\n"))
}

func drain(r io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r)
	return r.Close()
}

// TestFTPThroughput measures 1 GiB uploads and downloads with curl
// through the real binary to a vsftpd upstream, against curl straight to
// the same vsftpd: median of 5 alternating rounds each, in MB/s (10^6
// B/s), with the upstream in FTPS and in clear (the client side is always
// FTPS, so in clear only the gateway's path is encrypted). Each round
// also downloads the file from a local home through the same gateway:
// the gateway's own FTPS ceiling on this machine. It runs only with
// FTPSGW_FTP_BENCH=1 (FTPSGW_FTP_BENCH_MIB sets the size); it asserts
// nothing about speed.
func TestFTPThroughput(t *testing.T) {
	if os.Getenv("FTPSGW_FTP_BENCH") != "1" {
		t.Skip("set FTPSGW_FTP_BENCH=1 to measure throughput")
	}
	size := int64(1 << 30)
	if n, err := fmt.Sscan(os.Getenv("FTPSGW_FTP_BENCH_MIB"), &size); err == nil && n == 1 {
		size <<= 20
	}
	curl := requireTool(t, "curl")
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	f, _ := os.Create(src)
	io.CopyN(f, rand.Reader, size)
	f.Close()
	for _, mode := range []string{"explicit", "none"} {
		t.Run("upstream tls "+mode, func(t *testing.T) {
			opts := ftptest.Options{}
			direct := []string{"-u", ftptest.User + ":" + ftptest.Password}
			if mode != "none" {
				opts.TLS = mode
			}
			srv := ftptest.Start(t, opts)
			if mode != "none" {
				direct = append(direct, "--ssl-reqd", "--cacert", srv.CAFile)
			}
			g := startBinary(t, ftpConfig(t, srv, mode)+`backend "local" "files" {
  root = "%[3]s/data"
}
user "bob" {
  password_hash = "`+mustHash(t, "bob-pw")+`"
  backend       = "files"
  home          = "/bob"
  permissions   = ["*"]
}
`)
			os.MkdirAll(filepath.Join(g.root, "bob"), 0o755)
			if err := os.Link(src, filepath.Join(g.root, "bob", "local.bin")); err != nil {
				t.Fatal(err)
			}
			gw := []string{"--ssl-reqd", "-k", "-u", "alice:alice-pw"}
			run := func(args ...string) float64 {
				start := time.Now()
				runTool(t, dir, curl, append([]string{"-sS"}, args...)...)
				return float64(size) / time.Since(start).Seconds() / 1e6
			}
			var upGW, upDirect, downGW, downDirect, downLocal []float64
			// Each round rotates which path goes first, and the uploads'
			// dirty pages are written back (sync) before the downloads, so
			// no download competes with another path's writeback.
			for round := range 5 {
				ups := []func(){
					func() { upGW = append(upGW, run(append(gw, "-T", src, "ftp://"+g.ctl+"/bench.bin")...)) },
					func() {
						upDirect = append(upDirect, run(append(direct, "-T", src, "ftp://"+srv.Addr+"/direct.bin")...))
					},
				}
				downs := []func(){
					func() { downGW = append(downGW, run(append(gw, "-o", "/dev/null", "ftp://"+g.ctl+"/bench.bin")...)) },
					func() {
						downDirect = append(downDirect, run(append(direct, "-o", "/dev/null", "ftp://"+srv.Addr+"/direct.bin")...))
					},
					func() {
						downLocal = append(downLocal, run("--ssl-reqd", "-k", "-u", "bob:bob-pw", "-o", "/dev/null", "ftp://"+g.ctl+"/local.bin"))
					},
				}
				// No upload replaces the last round's file: with the old
				// file's blocks freed under them, uploads on this machine
				// (ext4 mounted with discard) ran at full speed or at
				// about half of it, from one run to the next.
				os.Remove(filepath.Join(srv.DataDir, "alice", "bench.bin"))
				os.Remove(filepath.Join(srv.DataDir, "direct.bin"))
				syscall.Sync()
				for i := range ups {
					ups[(i+round)%len(ups)]()
				}
				syscall.Sync()
				for i := range downs {
					downs[(i+round)%len(downs)]()
				}
			}
			t.Logf("%d MiB, upstream tls %s, median MB/s: upload gateway %.0f vs direct %.0f (%.2fx); download gateway %.0f vs direct %.0f (%.2fx); runs up %.0f/%.0f down %.0f/%.0f",
				size>>20, mode, medianRate(upGW), medianRate(upDirect), medianRate(upGW)/medianRate(upDirect),
				medianRate(downGW), medianRate(downDirect), medianRate(downGW)/medianRate(downDirect), upGW, upDirect, downGW, downDirect)
			t.Logf("%d MiB, upstream tls %s: download from a local home through the same gateway %.0f MB/s (the ftp backend's download %.2fx of it); runs %.0f",
				size>>20, mode, medianRate(downLocal), medianRate(downGW)/medianRate(downLocal), downLocal)
		})
	}
}

// medianRate is the median of three or more rates.
func medianRate(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestFTPUpstreamAuthPassthrough: with credentials = "passthrough" and
// auth "upstream", a user the gateway does not list logs in with the
// upstream account's own name and password, and works as that account
// upstream; a wrong password, or a file user whose gateway password the
// upstream refuses, gets 530; an unreachable upstream gets 421.
func TestFTPUpstreamAuthPassthrough(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{TLS: "explicit"})
	g := startBinary(t, binaryHeader(8)+`backend "ftp" "legacy" {
  address     = "`+srv.Addr+`"
  tls         = "explicit"
  ca_file     = "`+srv.CAFile+`"
  credentials = "passthrough"
  op_timeout  = "5s"
}
defender {
  max_failures = 3
}
auth "upstream" {
  backend = "legacy"
  groups  = ["partners"]
}
group "partners" {
  permissions = ["list", "download", "upload"]
}
user "alice" {
  password_hash = "`+mustHash(t, "alice-pw")+`"
  backend       = "legacy"
  permissions   = ["*"]
}
`)
	c := g.dialFTP(t, "127.0.0.1")
	if err := c.Login(ftptest.User, ftptest.Password); err != nil {
		t.Fatalf("upstream account through the gateway: %v", err)
	}
	if err := c.Stor("hello.txt", strings.NewReader("from a partner")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(srv.DataDir, "hello.txt")); err != nil || string(b) != "from a partner" {
		t.Errorf("upstream file: %q, %v", b, err)
	}
	if err := c.Delete("hello.txt"); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("DELE without the group's delete permission: %v, want 550", err)
	}
	c.Quit()

	for _, login := range [][2]string{{ftptest.User, "wrong"}, {"nobody", "x"}, {"alice", "alice-pw"}} {
		c := g.dialFTP(t, "127.0.0.1")
		if err := c.Login(login[0], login[1]); err == nil || !strings.Contains(err.Error(), "530") {
			t.Errorf("login %s/%s: %v, want 530", login[0], login[1], err)
		}
		c.Quit()
	}
	// The three refusals counted for the defender: the address is banned,
	// closed at accept without a banner.
	if nc, err := net.DialTimeout("tcp", g.ctl, 2*time.Second); err == nil {
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if b, _ := io.ReadAll(nc); len(b) > 0 {
			t.Errorf("after three refused upstream logins the address is not banned: %q", b)
		}
		nc.Close()
	}
	ftpAuthFirst(t, srv)
	if strings.Contains(g.out.String(), ftptest.Password) {
		t.Fatal("the upstream password is in the gateway's log")
	}

	srv.Stop()
	c = g.dialFTP(t, "127.0.0.2")
	defer c.Quit()
	if err := c.Login(ftptest.User, ftptest.Password); err == nil || !strings.Contains(err.Error(), "421") {
		t.Errorf("login with the upstream down: %v, want 421", err)
	}
}
