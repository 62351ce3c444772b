package ftp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/ftp/ftptest"
)

// logBuffer collects a backend's log lines (and passes them to t.Log).
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openWith opens an Opener on srv's root with change applied to the
// config, logging into the returned buffer.
func openWith(t *testing.T, srv *ftptest.Server, change func(c *Config)) (*Opener, *logBuffer) {
	t.Helper()
	c := testConfig(srv, "/")
	if change != nil {
		change(c)
	}
	logs := &logBuffer{t: t}
	o, err := c.open("test", hclog.New(&hclog.LoggerOptions{Name: "backend", Level: hclog.Debug, Output: logs}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, logs
}

func mustOpen(t *testing.T, o *Opener, home string) backend.FS {
	t.Helper()
	fsys, err := o.Open(t.Context(), home)
	if err != nil {
		t.Fatalf("Open(%s): %v", home, err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func put(t *testing.T, fsys backend.FS, name string, data []byte) error {
	t.Helper()
	u, err := fsys.Create(t.Context(), name, backend.WriteReplace, 0)
	if err != nil {
		return err
	}
	if _, err := u.Write(data); err != nil {
		u.Abort()
		return err
	}
	return u.Commit()
}

func get(t *testing.T, fsys backend.FS, name string) ([]byte, error) {
	t.Helper()
	r, err := fsys.Open(t.Context(), name, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// TestIdleCloseReconnects: the upstream closes an idle session (vsftpd
// idle_session_timeout); the next call reconnects and works. With the
// keepalive on, the upstream never times the session out.
func TestIdleCloseReconnects(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{IdleTimeout: time.Second})
	o, logs := openWith(t, srv, func(c *Config) { c.Keepalive = "0s" })
	fsys := mustOpen(t, o, "/idle")
	if err := put(t, fsys, "f", []byte("before")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1800 * time.Millisecond) // vsftpd's idle timer has a 1 s resolution
	if got, err := get(t, fsys, "f"); err != nil || string(got) != "before" {
		t.Fatalf("after the upstream's idle close: %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "reconnecting") {
		t.Errorf("no reconnection logged")
	}
	fsys.Close()
	time.Sleep(100 * time.Millisecond)
	timeouts := strings.Count(srv.Log(), "421 Timeout.")
	if timeouts == 0 {
		t.Fatalf("vsftpd never timed the session out: the test proves nothing")
	}

	kept, _ := openWith(t, srv, func(c *Config) { c.Keepalive = "300ms" })
	fsys = mustOpen(t, kept, "/idle")
	time.Sleep(1800 * time.Millisecond)
	if _, err := fsys.Stat(t.Context(), "f"); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(srv.Log(), "421 Timeout."); n != timeouts {
		t.Errorf("with keepalive the upstream still timed %d sessions out", n-timeouts)
	}
}

// TestDropMidTransfer: killing the upstream's session process fails the
// download in flight with ErrUnavailable (the gateway answers 426), and
// the same session goes on with a new connection.
func TestDropMidTransfer(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{})
	o, _ := openWith(t, srv, nil)
	fsys := mustOpen(t, o, "/drop")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	if err := put(t, fsys, "big", big); err != nil {
		t.Fatal(err)
	}
	r, err := fsys.Open(t.Context(), "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	srv.KillSessions()
	_, err = io.Copy(io.Discard, r)
	r.Close()
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("download cut by the upstream: %v, want ErrUnavailable", err)
	}
	if err := put(t, fsys, "after", []byte("ok")); err != nil {
		t.Fatalf("the session did not survive: %v", err)
	}
	if got, err := get(t, fsys, "after"); err != nil || string(got) != "ok" {
		t.Errorf("after the drop: %q, %v", got, err)
	}
}

// TestMaxConnections: at the cap, Open and Authenticate fail with
// ErrUnavailable; a closed session frees its connection.
func TestMaxConnections(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{})
	o, _ := openWith(t, srv, func(c *Config) { c.MaxConnections = 2 })
	a := mustOpen(t, o, "/a")
	mustOpen(t, o, "/b")
	if _, err := o.Open(t.Context(), "/c"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Open at the cap: %v, want ErrUnavailable", err)
	}
	if err := o.Probe(t.Context()); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Probe at the cap: %v, want ErrUnavailable", err)
	}
	a.Close()
	mustOpen(t, o, "/c")
}

// TestPassthrough logs sessions in as their own users: a wrong password
// is fs.ErrPermission (the gateway's 530), an unreachable upstream
// ErrUnavailable, and reconnections use the user's credentials again.
// The password never reaches the log.
func TestPassthrough(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{})
	o, logs := openWith(t, srv, func(c *Config) {
		c.Credentials, c.User, c.PasswordFile = CredentialsPassthrough, "", ""
	})
	ctx := t.Context()
	good := backend.Credentials{User: ftptest.User, Password: ftptest.Password}
	bad := backend.Credentials{User: ftptest.User, Password: "not-the-password"}
	if !o.NeedsCredentials() {
		t.Errorf("NeedsCredentials = false")
	}
	if _, err := o.Open(ctx, "/"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Open without credentials: %v", err)
	}
	if err := o.Authenticate(ctx, good); err != nil {
		t.Errorf("Authenticate: %v", err)
	}
	for _, err := range []error{o.Authenticate(ctx, bad), openAs(ctx, o, bad)} {
		if !errors.Is(err, fs.ErrPermission) || errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("wrong password: %v, want fs.ErrPermission only", err)
		}
	}
	if err := o.Probe(ctx); err != nil {
		t.Errorf("Probe: %v", err)
	}
	fsys, err := o.OpenAs(ctx, "/pt", good)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if err := put(t, fsys, "mine", []byte("as the user")); err != nil {
		t.Fatal(err)
	}
	srv.KillSessions()
	if got, err := get(t, fsys, "mine"); err != nil || string(got) != "as the user" {
		t.Errorf("after a reconnection: %q, %v", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(srv.DataDir, "pt", "mine")); err != nil || string(b) != "as the user" {
		t.Errorf("at rest: %q, %v", b, err)
	}
	srv.Stop()
	if err := o.Authenticate(ctx, good); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Authenticate with the upstream down: %v, want ErrUnavailable", err)
	}
	if strings.Contains(logs.String(), ftptest.Password) || strings.Contains(logs.String(), bad.Password) {
		t.Errorf("a password reached the log")
	}
}

func openAs(ctx context.Context, o *Opener, cred backend.Credentials) error {
	fsys, err := o.OpenAs(ctx, "/", cred)
	if err == nil {
		fsys.Close()
	}
	return err
}

// TestCertificateChecks: a pinned fingerprint or the CA admits the
// upstream; another pin, another CA or the system roots refuse it with
// an error naming the presented certificate's fingerprint.
func TestCertificateChecks(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{TLS: "explicit"})
	other := filepath.Join(t.TempDir(), "other-ca.pem")
	os.WriteFile(other, testCA(t), 0o644)
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		ok     bool
	}{
		{"ca_file", func(c *Config) {}, true},
		{"pin", func(c *Config) { c.CAFile, c.Fingerprint = "", srv.Fingerprint }, true},
		{"pin and ca_file", func(c *Config) { c.Fingerprint = srv.Fingerprint }, true},
		{"other pin", func(c *Config) { c.CAFile, c.Fingerprint = "", "SHA256:"+strings.Repeat("00", 32) }, false},
		{"other CA", func(c *Config) { c.CAFile = other }, false},
		{"right pin, other CA", func(c *Config) { c.CAFile, c.Fingerprint = other, srv.Fingerprint }, false},
		{"system roots", func(c *Config) { c.CAFile = "" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := openWith(t, srv, tc.change)
			fsys, err := o.Open(t.Context(), "/tls")
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				defer fsys.Close()
				if err := put(t, fsys, "f", []byte("x")); err != nil {
					t.Errorf("upload: %v", err)
				}
				return
			}
			if err == nil {
				fsys.Close()
				t.Fatal("the upstream was admitted")
			}
			if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), srv.Fingerprint) {
				t.Errorf("refusal %v: want ErrUnavailable naming %s", err, srv.Fingerprint)
			}
		})
	}
}

// TestImplicitTLS runs a session over implicit FTPS (TLS from the first
// byte) with data connections resuming the control session.
func TestImplicitTLS(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{TLS: "implicit"})
	o, _ := openWith(t, srv, nil)
	fsys := mustOpen(t, o, "/implicit")
	if err := put(t, fsys, "f", []byte("implicit")); err != nil {
		t.Fatal(err)
	}
	if got, err := get(t, fsys, "f"); err != nil || string(got) != "implicit" {
		t.Errorf("read back %q, %v", got, err)
	}
	if infos, err := backend.ReadAll(t.Context(), fsys, "."); err != nil || len(infos) != 1 {
		t.Errorf("listing: %v, %v", infos, err)
	}
}

// TestPASVFallback: an upstream that refuses EPSV and announces another
// address in PASV still works: the backend falls back to PASV, connects
// to the control connection's peer, and logs it once.
func TestPASVFallback(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{DenyEPSV: true, PasvAddress: "192.0.2.7"})
	o, logs := openWith(t, srv, nil)
	fsys := mustOpen(t, o, "/pasv")
	for i := range 3 {
		if err := put(t, fsys, "f", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := get(t, fsys, "f"); err != nil || !bytes.Equal(got, []byte{2}) {
		t.Errorf("read back %q, %v", got, err)
	}
	log := logs.String()
	if n := strings.Count(log, "names another address"); n != 1 || !strings.Contains(log, "192.0.2.7") {
		t.Errorf("PASV substitution logged %d times:\n%s", n, log)
	}
	if n := strings.Count(srv.Log(), `"EPSV"`); n != 1 {
		t.Errorf("EPSV sent %d times on the session, want once (then PASV)", n)
	}
}

// TestHostileNames: CR and LF never reach the upstream, where they would
// start another command.
func TestHostileNames(t *testing.T) {
	srv := ftptest.Start(t, ftptest.Options{})
	o, _ := openWith(t, srv, nil)
	fsys := mustOpen(t, o, "/names")
	os.WriteFile(filepath.Join(srv.DataDir, "names", "victim"), []byte("x"), 0o644)
	ctx := t.Context()
	for _, name := range []string{"x\r\nDELE /names/victim", "x\nDELE /names/victim", "x\rDELE /names/victim"} {
		if _, err := fsys.Stat(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Stat(%q): %v", name, err)
		}
		if err := fsys.Mkdir(ctx, name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Mkdir(%q): %v", name, err)
		}
	}
	if _, err := o.Open(ctx, "/a\r\nRMD /names"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("home with CR LF: %v", err)
	}
	if strings.Contains(srv.Log(), "DELE /names/victim") || strings.Contains(srv.Log(), "RMD /names") {
		t.Errorf("an injected command reached the upstream")
	}
	if _, err := os.Stat(filepath.Join(srv.DataDir, "names", "victim")); err != nil {
		t.Errorf("victim gone: %v", err)
	}
}
