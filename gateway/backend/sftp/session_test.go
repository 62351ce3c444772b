package sftp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/sftp/sshdtest"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// openOn builds an Opener on srv's data directory, changed by mutate, and
// closes it at the end of the test.
func openOn(t *testing.T, srv *sshdtest.Server, log hclog.Logger, mutate func(c *Config)) *Opener {
	t.Helper()
	c := testConfig(srv, sshdtest.RemoteDataDir)
	if mutate != nil {
		mutate(c)
	}
	if log == nil {
		log = testLogger(t)
	}
	o, err := c.open("test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// sessionOn opens home on o and closes it at the end of the test.
func sessionOn(t *testing.T, o *Opener, home string) *FS {
	t.Helper()
	fsys, err := o.Open(t.Context(), home)
	if err != nil {
		t.Fatalf("Open(%q): %v", home, err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys.(*FS)
}

func put(t *testing.T, fsys backend.FS, name, data string) {
	t.Helper()
	u, err := fsys.Create(t.Context(), name, backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(u, data); err != nil {
		u.Abort()
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is the shared concurrent-safe buffer.
type syncBuffer = testkit.Buffer

// TestWrongHostKey pins another key for the server's address: Open and
// Probe fail, and the error and the log name the presented key's SHA256
// fingerprint; neither names the client key.
func TestWrongHostKey(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	other := rsaPublicKey(t)
	line := "[127.0.0.1]:" + itoa(srv.Port) + " " + string(ssh.MarshalAuthorizedKey(other))
	line += "[127.0.0.1]:" + itoa(srv.Port) + " " + string(ssh.MarshalAuthorizedKey(mustEd25519(t)))
	if err := os.WriteFile(wrong, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
	o := openOn(t, srv, log, func(c *Config) { c.KnownHostsFile = wrong })
	fp := ssh.FingerprintSHA256(srv.HostKey)

	_, err := o.Open(t.Context(), "/")
	if !errors.Is(err, ErrHostKey) || !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("Open with a wrong pinned key: %v, want ErrHostKey and ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), fp) {
		t.Errorf("error %q does not name the presented key %s", err, fp)
	}
	if err := o.Probe(t.Context()); !errors.Is(err, ErrHostKey) {
		t.Errorf("Probe with a wrong pinned key: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, fp) || !strings.Contains(out, "host key refused") {
		t.Errorf("log does not name the refused key %s:\n%s", fp, out)
	}
	key, _ := os.ReadFile(srv.ClientKey)
	if strings.Contains(out, string(key[40:80])) {
		t.Errorf("log contains client key material")
	}
	// sshd's per-connection process exits on its own once the client has
	// closed; give it a moment before counting.
	n := srv.Connections()
	for deadline := time.Now().Add(5 * time.Second); n != 0 && time.Now().Before(deadline); n = srv.Connections() {
		time.Sleep(50 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("%d connections left open after refusals", n)
	}
}

// TestPasswordLogin logs in with password_file only, and a wrong
// password is unavailable (421), not logged.
func TestPasswordLogin(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{Password: true})
	o := openOn(t, srv, nil, func(c *Config) { c.PrivateKeyFile, c.PasswordFile = "", srv.PasswordFile })
	fsys := sessionOn(t, o, "/pw")
	put(t, fsys, "f", "by password")

	bad := filepath.Join(t.TempDir(), "password")
	os.WriteFile(bad, []byte("not-the-password\n"), 0o600)
	var logs syncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
	wrong := openOn(t, srv, log, func(c *Config) { c.PrivateKeyFile, c.PasswordFile = "", bad })
	if _, err := wrong.Open(t.Context(), "/pw"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("wrong password: %v, want ErrUnavailable", err)
	}
	if strings.Contains(logs.String(), "not-the-password") || strings.Contains(logs.String(), sshdtest.Password) {
		t.Errorf("a password reached the log:\n%s", logs.String())
	}
}

// TestConnectionsPerSession: one SSH connection per FS, at most
// max_connections of them; Close gives the slot back.
func TestConnectionsPerSession(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, func(c *Config) { c.MaxConnections = 2 })
	a := sessionOn(t, o, "/a")
	b := sessionOn(t, o, "/b")
	put(t, a, "f", "a")
	put(t, b, "f", "b")
	if n := srv.Connections(); n != 2 {
		t.Errorf("2 sessions hold %d connections", n)
	}
	if _, err := o.Open(t.Context(), "/c"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Open beyond max_connections: %v, want ErrUnavailable", err)
	}
	if err := o.Probe(t.Context()); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Probe beyond max_connections: %v, want ErrUnavailable", err)
	}
	a.Close()
	c := sessionOn(t, o, "/c")
	put(t, c, "f", "c")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Open(t.Context(), "/d"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Open after Opener.Close: %v", err)
	}
	if _, err := c.Stat(t.Context(), "f"); err != nil {
		t.Errorf("a session open before Opener.Close stopped working: %v", err)
	}
}

// TestReconnect drops the connection between calls: at most the first
// call after the drop fails (ErrUnavailable); the next redials and the
// session goes on.
func TestReconnect(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, nil)
	fsys := sessionOn(t, o, "/u")
	put(t, fsys, "f", "kept")
	for round := range 3 {
		srv.KillSessions()
		failures := 0
		for i := 0; i < 3; i++ {
			_, err := fsys.Stat(t.Context(), "f")
			if err == nil {
				break
			}
			failures++
			if !errors.Is(err, backend.ErrUnavailable) {
				t.Fatalf("round %d: Stat after the drop: %v, want ErrUnavailable", round, err)
			}
		}
		if failures > 1 {
			t.Fatalf("round %d: %d calls failed after one drop, want at most 1", round, failures)
		}
	}
	if got := readAll(t, fsys, "f"); got != "kept" {
		t.Errorf("f holds %q after reconnects", got)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("after reconnects the session holds %d connections, want 1", n)
	}
}

func readAll(t *testing.T, fsys backend.FS, name string) string {
	t.Helper()
	r, err := fsys.Open(t.Context(), name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOpTimeout freezes the server: a call fails after op_timeout with
// context.DeadlineExceeded, and once the server answers again the next
// call on the same session works.
func TestOpTimeout(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	const timeout = time.Second
	o := openOn(t, srv, nil, func(c *Config) { c.OpTimeout, c.Keepalive = timeout.String(), "0s" })
	fsys := sessionOn(t, o, "/u")
	put(t, fsys, "f", "x")
	srv.Stall()
	start := time.Now()
	_, err := fsys.Stat(t.Context(), "f")
	took := time.Since(start)
	srv.Resume()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stat on a stalled server: %v, want context.DeadlineExceeded", err)
	}
	if took < timeout || took > 3*timeout {
		t.Errorf("Stat failed after %v, op_timeout %v", took, timeout)
	}
	if _, err := fsys.Stat(t.Context(), "f"); err != nil {
		t.Errorf("Stat after the server resumed: %v", err)
	}
}

// TestCancelOnStalledServer: a cancelled call returns within about
// cancelGrace even though the server answers nothing.
func TestCancelOnStalledServer(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, func(c *Config) { c.OpTimeout = "30s" })
	fsys := sessionOn(t, o, "/u")
	put(t, fsys, "f", "x")
	srv.Stall()
	defer srv.Resume()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := fsys.Stat(ctx, "f")
	if took := time.Since(start); took > cancelGrace+2*time.Second {
		t.Errorf("cancelled Stat took %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled Stat: %v, want the context's error", err)
	}
}

// TestKeepaliveClosesDeadConnection: with no call in flight, an
// unanswered keepalive closes the connection.
func TestKeepaliveClosesDeadConnection(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, func(c *Config) { c.Keepalive, c.OpTimeout = "200ms", "500ms" })
	fsys := sessionOn(t, o, "/u")
	fsys.mu.Lock()
	l := fsys.cur
	fsys.mu.Unlock()
	time.Sleep(500 * time.Millisecond)
	if l.dead() {
		t.Fatal("a healthy connection was closed")
	}
	srv.Stall()
	select {
	case <-l.done:
	case <-time.After(3 * time.Second):
		t.Error("the connection to a stalled server is still open")
	}
	srv.Resume()
	if _, err := fsys.Stat(t.Context(), "."); err != nil {
		t.Errorf("Stat after the keepalive closed the connection: %v", err)
	}
}

// TestTemporaryRemovedAfterDrop: an upload cut by a dropped connection
// leaves no temporary file on the server's disk, and the target is
// untouched.
func TestTemporaryRemovedAfterDrop(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, nil)
	fsys := sessionOn(t, o, "/u")
	put(t, fsys, "f", "old")
	u, err := fsys.Create(t.Context(), "f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	if _, err := u.Write(chunk); err != nil {
		t.Fatal(err)
	}
	srv.KillSessions()
	for i := 0; i < 64 && err == nil; i++ {
		_, err = u.Write(chunk)
	}
	if err == nil {
		err = u.Commit()
	}
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("upload across a drop: %v, want ErrUnavailable", err)
	}
	if err := u.Abort(); err != nil {
		t.Errorf("Abort after the drop: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(srv.DataDir, "u"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "f" {
		t.Errorf("on disk after the drop: %q, want only f", names)
	}
	if b, _ := os.ReadFile(filepath.Join(srv.DataDir, "u", "f")); string(b) != "old" {
		t.Errorf("target holds %q", b)
	}
}

// TestSymlinksConfined plants symbolic links on the server: links are
// not listed and not followed, and a nested name through a link that
// leaves the home is refused; a link that stays inside works.
func TestSymlinksConfined(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, nil)
	alice := sessionOn(t, o, "/alice")
	bob := sessionOn(t, o, "/bob")
	put(t, bob, "secret", "bob's")
	if err := alice.Mkdir(t.Context(), "sub"); err != nil {
		t.Fatal(err)
	}
	put(t, alice, "sub/mine", "alice's")
	home := filepath.Join(srv.DataDir, "alice")
	for link, target := range map[string]string{"out": "../bob", "file": "../bob/secret", "in": "sub", "abs": "/data/bob"} {
		if err := os.Symlink(target, filepath.Join(home, link)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	infos, err := backend.ReadAll(ctx, alice, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range infos {
		if fi.Name() != "sub" {
			t.Errorf("listing shows %q", fi.Name())
		}
	}
	for _, name := range []string{"out/secret", "abs/secret", "file"} {
		if _, err := alice.Stat(ctx, name); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Stat(%s): %v, want fs.ErrPermission", name, err)
		}
		if r, err := alice.Open(ctx, name, 0); !errors.Is(err, fs.ErrPermission) {
			if err == nil {
				r.Close()
			}
			t.Errorf("Open(%s): %v, want fs.ErrPermission", name, err)
		}
	}
	if _, err := alice.ReadDir(ctx, "out"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("ReadDir(out): %v, want fs.ErrPermission", err)
	}
	if err := alice.Mkdir(ctx, "out/planted"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Mkdir(out/planted): %v, want fs.ErrPermission", err)
	}
	if _, err := alice.Create(ctx, "out/planted", backend.WriteReplace, 0); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Create(out/planted): %v, want fs.ErrPermission", err)
	}
	if err := alice.Chtimes(ctx, "file", time.Unix(0, 0)); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Chtimes(file): %v, want fs.ErrPermission", err)
	}
	if got := readAll(t, alice, "in/mine"); got != "alice's" {
		t.Errorf("in/mine (a link inside the home) holds %q", got)
	}
	if got := readAll(t, bob, "secret"); got != "bob's" {
		t.Errorf("bob's file changed: %q", got)
	}
}

// TestProbeMissingRoot: Probe fails when root does not exist, and
// creates nothing.
func TestProbeMissingRoot(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, func(c *Config) { c.Root = "/data/missing" })
	if err := o.Probe(t.Context()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Probe on a missing root: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(srv.DataDir, "missing")); err == nil {
		t.Errorf("Probe created the root")
	}
}

// TestUnreachableAtOpen: nothing listens: Open fails fast with
// ErrUnavailable.
func TestUnreachableAtOpen(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	o := openOn(t, srv, nil, nil)
	srv.Stop()
	start := time.Now()
	if _, err := o.Open(t.Context(), "/u"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Open with the server down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > testOpTimeout {
		t.Errorf("Open took %v to fail on a refused connection", took)
	}
}

// TestNoSpaceFromGenericFailure documents what OpenSSH 9.2 sends for
// ENOSPC on a write: the generic SSH_FX_FAILURE, which the backend turns
// into ErrNoSpace after statvfs@openssh.com shows the filesystem full.
func TestNoSpaceFromGenericFailure(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{SmallDisk: "1m"})
	o := openOn(t, srv, nil, nil)
	fsys := sessionOn(t, o, "/")
	u, err := fsys.Create(t.Context(), "big", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("z"), 64<<10)
	for n := 0; n < 4<<20 && err == nil; n += len(chunk) {
		_, err = u.Write(chunk)
	}
	if err == nil {
		err = u.Commit()
	}
	u.Abort()
	t.Logf("4 MiB into 1 MiB: %v", err)
	if !errors.Is(err, backend.ErrNoSpace) || !isFailure(err) {
		t.Errorf("error %v: want ErrNoSpace over SSH_FX_FAILURE", err)
	}
	if entries, _ := os.ReadDir(srv.DataDir); len(entries) != 0 {
		t.Errorf("left on the full disk: %v", entries)
	}
}
