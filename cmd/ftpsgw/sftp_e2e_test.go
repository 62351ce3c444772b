package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ftpsgw/ftpsgw/gateway/backend/sftp/sshdtest"
)

// sftpConfig is a gateway whose alice lives on a real sshd and whose bob
// has "/" on the local disk and "/archive" on the same sshd.
func sftpConfig(t *testing.T, srv *sshdtest.Server, knownHosts string) string {
	return binaryHeader(4) + `backend "local" "files" {
  root = "%[3]s/data"
}
backend "sftp" "remote" {
  address          = "` + srv.Addr + `"
  user             = "` + sshdtest.User + `"
  private_key_file = "` + srv.ClientKey + `"
  known_hosts_file = "` + knownHosts + `"
  root             = "` + sshdtest.RemoteDataDir + `"
  op_timeout       = "5s"
}
user "alice" {
  password_hash = "` + mustHash(t, "alice-pw") + `"
  backend       = "remote"
  home          = "/alice"
  permissions   = ["*"]
}
user "bob" {
  password_hash = "` + mustHash(t, "bob-pw") + `"
  backend       = "files"
  home          = "/bob"
  permissions   = ["*"]
  mount "/archive" {
    backend = "remote"
    path    = "/bob-archive"
  }
}
`
}

// sumTree returns the sha256 of every regular file under root, by
// relative path.
func sumTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out.String())
		}
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s timed out\n%s", name, out.String())
	}
	return out.String()
}

// TestSFTPBackendThroughGateway drives real clients through the real
// binary onto a real OpenSSH sshd.
func TestSFTPBackendThroughGateway(t *testing.T) {
	lftp := requireTool(t, "lftp")
	curl := requireTool(t, "curl")
	srv := sshdtest.Start(t, sshdtest.Options{})
	g := startBinary(t, sftpConfig(t, srv, srv.KnownHosts))

	t.Run("lftp mirror", func(t *testing.T) {
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
		script := strings.Join([]string{
			"set ftp:ssl-force true",
			"set ftp:ssl-protect-data true",
			"set ssl:verify-certificate no",
			"set net:max-retries 1",
			"set net:timeout 20",
			"set cmd:fail-exit true",
			"open -u alice,alice-pw ftp://" + g.ctl,
			"mirror -R --parallel=2 src tree",
			"mirror tree back",
			"bye",
		}, "\n")
		os.WriteFile(filepath.Join(dir, "script.lftp"), []byte(script), 0o644)
		runTool(t, dir, lftp, "-f", "script.lftp")
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
	})

	t.Run("curl upload then HASH", func(t *testing.T) {
		dir := t.TempDir()
		b := make([]byte, 3<<20+17)
		rand.Read(b)
		os.WriteFile(filepath.Join(dir, "up.bin"), b, 0o644)
		runTool(t, dir, curl, "-sS", "--ssl-reqd", "-k", "-u", "alice:alice-pw", "-T", "up.bin", "ftp://"+g.ctl+"/up.bin")
		sum := sha256.Sum256(b)
		c := rawLogin(t, g.ctl, "127.0.0.1", "alice", "alice-pw")
		code, msg := c.cmd("HASH up.bin")
		if code != 213 || !strings.Contains(strings.ToLower(msg), hex.EncodeToString(sum[:])) {
			t.Errorf("HASH = %d %q, want 213 with %x", code, msg, sum)
		}
		if at, err := os.ReadFile(filepath.Join(srv.DataDir, "alice", "up.bin")); err != nil || !bytes.Equal(at, b) {
			t.Errorf("at rest on the sshd: %d bytes, %v", len(at), err)
		}
	})

	t.Run("local root with an sftp mount", func(t *testing.T) {
		c := g.dialFTP(t, "127.0.0.1")
		defer c.Quit()
		if err := c.Login("bob", "bob-pw"); err != nil {
			t.Fatal(err)
		}
		if err := c.Stor("here.txt", strings.NewReader("local")); err != nil {
			t.Fatal(err)
		}
		if err := c.Stor("archive/there.txt", strings.NewReader("remote")); err != nil {
			t.Fatal(err)
		}
		names, err := c.NameList("/")
		if err != nil {
			t.Fatal(err)
		}
		if !containsName(names, "archive") || !containsName(names, "here.txt") {
			t.Errorf("NLST / = %q, want archive and here.txt", names)
		}
		if b, err := os.ReadFile(filepath.Join(srv.DataDir, "bob-archive", "there.txt")); err != nil || string(b) != "remote" {
			t.Errorf("mounted file at rest: %q, %v", b, err)
		}
		if b, err := os.ReadFile(filepath.Join(g.root, "bob", "here.txt")); err != nil || string(b) != "local" {
			t.Errorf("local file at rest: %q, %v", b, err)
		}
		// Moves inside each storage work; across them, nothing moves.
		if err := c.Rename("archive/there.txt", "archive/moved.txt"); err != nil {
			t.Errorf("rename inside the mount: %v", err)
		}
		if err := c.Rename("here.txt", "moved-here.txt"); err != nil {
			t.Errorf("rename on the local disk: %v", err)
		}
		err = c.Rename("moved-here.txt", "archive/x.txt")
		if err == nil || !strings.Contains(err.Error(), "553") {
			t.Errorf("cross-mount rename: %v, want 553", err)
		}
		if _, err := os.Stat(filepath.Join(g.root, "bob", "moved-here.txt")); err != nil {
			t.Errorf("source gone after a refused cross-mount rename: %v", err)
		}
	})

	t.Run("sshd stopped mid-download", func(t *testing.T) {
		big := make([]byte, 96<<20)
		rand.Read(big[:1<<20])
		os.MkdirAll(filepath.Join(srv.DataDir, "alice"), 0o755)
		if err := os.WriteFile(filepath.Join(srv.DataDir, "alice", "big.bin"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		c := g.dialFTP(t, "127.0.0.1")
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
		srv.Stop()
		defer func() {
			if err := srv.Restart(); err != nil {
				t.Errorf("restart sshd: %v", err)
			}
		}()
		srv.KillSessions()
		io.Copy(io.Discard, r)
		err = r.Close()
		if err == nil || !strings.Contains(err.Error(), "426") {
			t.Errorf("download cut by the storage: %v, want 426", err)
		}
		c.Quit()
		// With the server gone, a new login is told the storage is down.
		n := rawConnect(t, g.ctl, "127.0.0.1")
		code, _ := n.loginCode("alice", "alice-pw")
		if code != 421 {
			t.Errorf("login with sshd down = %d, want 421", code)
		}
	})
}

func containsName(names []string, want string) bool {
	for _, n := range names {
		if strings.TrimPrefix(n, "/") == want {
			return true
		}
	}
	return false
}

// loginCode sends USER and PASS and returns PASS's reply.
func (c *ftpc) loginCode(user, pw string) (int, string) {
	c.want(331, "USER "+user)
	return c.cmd("PASS " + pw)
}

// TestSFTPWrongHostKeyRefusedAtStart: a pinned host key that does not match
// the server's stops serve, and the log names the key the server offered.
func TestSFTPWrongHostKeyRefusedAtStart(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	dir := t.TempDir()
	other := filepath.Join(dir, "other_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(other + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte(fmt.Sprintf("[127.0.0.1]:%d %s", srv.Port, pub)), 0o644)

	cfgDir := t.TempDir()
	os.MkdirAll(filepath.Join(cfgDir, "data"), 0o755)
	path := filepath.Join(cfgDir, "gw.hcl")
	body := fmt.Sprintf(sftpConfig(t, srv, kh), fmt.Sprint(freePort(t)), fmt.Sprint(freePort(t)), cfgDir)
	os.WriteFile(path, []byte(body), 0o600)
	cmd := exec.Command(binPath, "serve", "-config", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("serve with a wrong host key: %v, want exit 1", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		t.Fatalf("serve started with a wrong pinned host key:\n%s", out.String())
	}
	fp := ssh.FingerprintSHA256(srv.HostKey)
	if !strings.Contains(out.String(), fp) {
		t.Errorf("log lacks the offered key's fingerprint %s:\n%s", fp, out.String())
	}
}
