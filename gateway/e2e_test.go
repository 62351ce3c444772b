package gateway

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/policy"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// requirePeer finds a real client program. Missing: the test fails in CI
// (CI=true) and is skipped elsewhere.
func requirePeer(t *testing.T, name string) string { return testkit.RequireTool(t, name) }

// run executes a client with a time limit and returns its combined output.
func run(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(120 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("%s timed out", name)
	}
}

func (e *env) url(path string) string { return "ftp://" + e.addr + "/" + path }

func TestCurlUploadDownloadList(t *testing.T) {
	curl := requirePeer(t, "curl")
	// curl turns TLS 1.2 session tickets off and resumes TLS 1.2 only by
	// session id, which Go's TLS server does not offer; so curl's data
	// connections are bound on TLS 1.3 (its default) and, on TLS 1.2,
	// work only with session_reuse = "observe" or an exemption
	// (TestCurlTLS12ResumesOnlyBySessionID).
	for _, tc := range []struct {
		tlsMax      string
		reuse       ReuseMode
		wantUnbound bool
	}{
		{"1.3", ReuseRequired, false},
		{"1.2", ReuseObserve, true},
	} {
		t.Run("tls"+tc.tlsMax, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.SessionReuse = tc.reuse })
			dir := t.TempDir()
			data := make([]byte, 5<<20+3)
			rand.Read(data)
			os.WriteFile(filepath.Join(dir, "up.bin"), data, 0o644)
			base := []string{"--ssl-reqd", "-k", "-sS", "--tls-max", tc.tlsMax, "-u", "alice:" + alicePW}
			if out, err := run(t, dir, curl, append(base, "-T", "up.bin", e.url("up.bin"))...); err != nil {
				t.Fatalf("curl upload: %v\n%s", err, out)
			}
			if !bytes.Equal([]byte(e.file("alice/up.bin")), data) {
				t.Fatal("uploaded file differs")
			}
			if out, err := run(t, dir, curl, append(base, "-o", "down.bin", e.url("up.bin"))...); err != nil {
				t.Fatalf("curl download: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(filepath.Join(dir, "down.bin"))
			if !bytes.Equal(got, data) {
				t.Fatal("downloaded file differs")
			}
			out, err := run(t, dir, curl, append(base, e.url(""))...)
			if err != nil || !strings.Contains(out, " up.bin") {
				t.Fatalf("curl list: %v\n%s", err, out)
			}
			// Forced PASV (no EPSV) and NLST.
			out, err = run(t, dir, curl, append(base, "--disable-epsv", "-l", e.url(""))...)
			if err != nil || strings.TrimSpace(out) != "up.bin" {
				t.Fatalf("curl PASV NLST: %v\n%q", err, out)
			}
			if unbound := e.obs.unbound(); (unbound > 0) != tc.wantUnbound {
				t.Errorf("unbound data connections: %d, want some: %v", unbound, tc.wantUnbound)
			}
			if e.obs.get("data:no_session_reuse") != 0 {
				t.Error("data connections refused")
			}
		})
	}
}

func TestCurlRefusedWithoutTLSAndOnBadPassword(t *testing.T) {
	curl := requirePeer(t, "curl")
	e := newEnv(t)
	dir := t.TempDir()
	out, err := run(t, dir, curl, "-sS", "-u", "alice:"+alicePW, e.url(""))
	if err == nil || !strings.Contains(out, "530") {
		t.Errorf("plain FTP login was not refused with 530: %v\n%s", err, out)
	}
	out, err = run(t, dir, curl, "--ssl-reqd", "-k", "-sS", "-u", "alice:wrong", e.url(""))
	if err == nil || !strings.Contains(out, "530") {
		t.Errorf("bad password not refused: %v\n%s", err, out)
	}
}

func TestLftpPutGetMirror(t *testing.T) {
	lftp := requirePeer(t, "lftp")
	for _, prio := range []string{"NORMAL", "NORMAL:-VERS-TLS1.3"} {
		t.Run(prio, func(t *testing.T) { lftpSession(t, lftp, prio) })
	}
}

func lftpSession(t *testing.T, lftp, priority string) {
	e := newEnv(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	want := map[string][32]byte{}
	for i := range 200 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%7), fmt.Sprintf("sub%d", i%3), fmt.Sprintf("file-%03d.dat", i))
		b := make([]byte, 100+i*37)
		rand.Read(b)
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), b, 0o644)
		want[rel] = sha256.Sum256(b)
	}
	os.WriteFile(filepath.Join(dir, "single.txt"), []byte("one file\n"), 0o644)
	script := strings.Join([]string{
		"set ftp:ssl-force true",
		"set ftp:ssl-protect-data true",
		"set ssl:verify-certificate no",
		"set ssl:priority " + priority,
		"set net:max-retries 1",
		"set net:timeout 20",
		"set cmd:fail-exit true",
		fmt.Sprintf("open -u alice,%s ftp://%s", alicePW, e.addr),
		"put single.txt -o single.txt",
		"get single.txt -o single-back.txt",
		"cls -l",
		"mirror -R --parallel=2 src tree",
		"mirror tree back",
		"bye",
	}, "\n")
	os.WriteFile(filepath.Join(dir, "script.lftp"), []byte(script), 0o644)
	out, err := run(t, dir, lftp, "-f", "script.lftp")
	if err != nil {
		t.Fatalf("lftp: %v\n%s", err, out)
	}
	if !strings.Contains(out, "single.txt") {
		t.Errorf("cls output lacks single.txt:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "single-back.txt")); string(got) != "one file\n" {
		t.Errorf("lftp get: %q", got)
	}
	for _, root := range []string{filepath.Join(e.root, "alice/tree"), filepath.Join(dir, "back")} {
		n := 0
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			b, _ := os.ReadFile(p)
			if sum, ok := want[rel]; !ok || sum != sha256.Sum256(b) {
				t.Errorf("%s: %s differs or is unexpected", root, rel)
			}
			n++
			return nil
		})
		if n != len(want) {
			t.Errorf("%s: %d files, want %d", root, n, len(want))
		}
	}
	if e.obs.get("data:no_session_reuse") != 0 {
		t.Error("lftp's data connections were not bound to their session")
	}
}

const ftplibScript = `
import ftplib, io, ssl, sys
host, port, user, pw, reuse = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1"
ctx = ssl.create_default_context()
if sys.argv[6] == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
class Reusing(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
cls = Reusing if reuse else ftplib.FTP_TLS
f = cls(context=ctx, timeout=20)
f.connect(host, port)
f.auth()
f.login(user, pw)
f.prot_p()
try:
    names = f.nlst()
    print("NLST", " ".join(names))
    f.storbinary("STOR from-python.bin", io.BytesIO(b"py" * 50000))
    print("STORED")
except ftplib.error_perm as e:
    print("ERR", str(e))
f.quit()
`

func TestPythonFtplibNeedsSessionReuse(t *testing.T) {
	py := requirePeer(t, "python3")
	e := newEnv(t, shortData) // a refused data connection waits data_timeout for another
	e.writeFile("alice/py.txt", "x")
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.Permissions = []string{"list", "download", "upload", "overwrite"} }))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "client.py"), []byte(ftplibScript), 0o644)
	host, port, _ := net.SplitHostPort(e.addr)
	for _, ver := range []string{"1.3", "1.2"} {
		out, err := run(t, dir, py, "client.py", host, port, "alice", alicePW, "0", ver)
		if err != nil || !strings.Contains(out, "ERR 522") {
			t.Errorf("TLS %s ftplib without reuse: want 522, got %v\n%s", ver, err, out)
		}
		out, err = run(t, dir, py, "client.py", host, port, "alice", alicePW, "1", ver)
		if err != nil || !strings.Contains(out, "py.txt") || !strings.Contains(out, "STORED") {
			t.Errorf("TLS %s ftplib with session= reuse: %v\n%s", ver, err, out)
		}
		if got := e.file("alice/from-python.bin"); got != strings.Repeat("py", 50000) {
			t.Errorf("TLS %s ftplib upload stored %d bytes", ver, len(got))
		}
	}
}

func TestGoFTPClientLibrary(t *testing.T) {
	e := newEnv(t)
	conf := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	c, err := ftp.Dial(e.addr, ftp.DialWithExplicitTLS(conf), ftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := c.Login("alice", alicePW); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("lib.txt", strings.NewReader("via library")); err != nil {
		t.Fatal(err)
	}
	r, err := c.Retr("lib.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "via library" {
		t.Errorf("RETR: %q", b)
	}
	entries, err := c.List("/")
	if err != nil || len(entries) != 1 || entries[0].Name != "lib.txt" || entries[0].Size != 11 {
		t.Errorf("MLSD via library: %v %+v", err, entries)
	}
	if err := c.Rename("lib.txt", "lib2.txt"); err != nil {
		t.Error(err)
	}
	if _, err := c.FileSize("lib.txt"); err == nil {
		t.Error("SIZE of renamed file succeeded")
	}
}

func TestCurlReadOnlyHiddenAndDropBox(t *testing.T) {
	curl := requirePeer(t, "curl")
	e := newEnv(t)
	e.writeFile("alice/doc.txt", "read me")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "up.txt"), []byte("upload"), 0o644)
	as := func(user, pw string, args ...string) (string, error) {
		return run(t, dir, curl, append([]string{"--ssl-reqd", "-k", "-sS", "-u", user + ":" + pw}, args...)...)
	}
	// Read-only bob: list and download work, every write is refused.
	if out, err := as("bob", bobPW, e.url("")); err != nil || !strings.Contains(out, " doc.txt") {
		t.Errorf("bob list: %v\n%s", err, out)
	}
	if out, err := as("bob", bobPW, e.url("doc.txt")); err != nil || out != "read me" {
		t.Errorf("bob download: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"-T", "up.txt", e.url("new.txt")},
		{"-T", "up.txt", e.url("doc.txt")},
		{"--append", "-T", "up.txt", e.url("doc.txt")},
		{"-Q", "DELE doc.txt", e.url("")},
		{"-Q", "MKD d", e.url("")},
		{"-Q", "RNFR doc.txt", "-Q", "RNTO x.txt", e.url("")},
	} {
		if out, err := as("bob", bobPW, args...); err == nil || !strings.Contains(out, "550") {
			t.Errorf("bob %v: want a 550 failure, got %v\n%s", args, err, out)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(e.root, "alice"))
	if len(entries) != 1 || e.file("alice/doc.txt") != "read me" {
		t.Errorf("bob changed the disk: %v", entries)
	}
	// carol: the hidden subtree is absent and unreachable; the drop box
	// takes new files only.
	if out, err := as("carol", carolPW, e.url("")); err != nil || strings.Contains(out, "secret") || !strings.Contains(out, "incoming") {
		t.Errorf("carol list: %v\n%s", err, out)
	}
	if out, err := as("carol", carolPW, e.url("secret/plans.txt")); err == nil || strings.Contains(out, "hidden") {
		t.Errorf("carol read a hidden file: %v\n%s", err, out)
	}
	if out, err := as("carol", carolPW, e.url("secret/")); err == nil {
		t.Errorf("carol listed a hidden directory:\n%s", out)
	}
	if out, err := as("carol", carolPW, "-T", "up.txt", e.url("incoming/up.txt")); err != nil {
		t.Errorf("drop box upload: %v\n%s", err, out)
	}
	if out, err := as("carol", carolPW, "-T", "up.txt", e.url("incoming/up.txt")); err == nil {
		t.Errorf("drop box overwrite allowed:\n%s", out)
	}
	if e.file("carol/incoming/up.txt") != "upload" {
		t.Error("drop box file missing")
	}
}
