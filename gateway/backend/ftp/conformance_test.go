package ftp

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
	"github.com/ftpsgw/ftpsgw/gateway/backend/ftp/ftptest"
)

// testOpTimeout is op_timeout in the tests: short, so the Stall subtest
// is quick, and long enough for -race on a loaded machine.
const testOpTimeout = 3 * time.Second

// testMemBound is the heap growth one transfer or listing may cause.
const testMemBound = 16 << 20

// testLogger routes the backend's logs through t.Log.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "backend", Level: hclog.Debug, Output: testWriter{t}})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testConfig is a Config for srv's test user with root at the upstream
// path root, in srv's TLS mode (verified by srv's CA).
func testConfig(srv *ftptest.Server, root string) *Config {
	c := NewConfig()
	c.Address = srv.Addr
	c.User = ftptest.User
	c.PasswordFile = srv.PasswordFile
	c.Root = root
	c.OpTimeout = testOpTimeout.String()
	c.Keepalive = "1s"
	c.TLS = TLSNone
	if srv.Opts.TLS != "" {
		c.TLS = srv.Opts.TLS
		c.CAFile = srv.CAFile
	}
	return c
}

// harness opens backends on servers, each over a fresh root directory,
// and remembers where each root lies on disk.
type harness struct {
	mu   sync.Mutex
	dirs map[backend.Opener]string // on-disk root of each Opener
}

// newOpener creates a fresh root on srv (owned by the test user) and an
// Opener over it.
func (h *harness) newOpener(t *testing.T, srv *ftptest.Server) *Opener {
	t.Helper()
	name := "r" + strings.ToLower(rand.Text()[:10])
	disk := filepath.Join(srv.DataDir, name)
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(srv.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if err := os.Chown(disk, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}
	o, err := testConfig(srv, "/"+name).open("test", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.dirs[o] = disk
	h.mu.Unlock()
	return o
}

// deny makes the directory unreadable and unwritable for the test user.
func (h *harness) deny(t *testing.T, o backend.Opener, home, name string) {
	h.mu.Lock()
	disk := h.dirs[o]
	h.mu.Unlock()
	if disk == "" {
		t.Fatal("Deny: unknown Opener")
	}
	dir := filepath.Join(disk, filepath.FromSlash(strings.TrimPrefix(home, "/")), filepath.FromSlash(name))
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
}

// runSuite runs the conformance suite against srv with every fault hook.
func runSuite(t *testing.T, srv *ftptest.Server) {
	h := &harness{dirs: map[backend.Opener]string{}}
	backendtest.RunHarness(t, backendtest.Harness{
		New:  func(t *testing.T) backend.Opener { return h.newOpener(t, srv) },
		Kill: func(t *testing.T) { srv.KillSessions() },
		Stop: func(t *testing.T) func() {
			srv.Stop()
			var once sync.Once
			return func() {
				once.Do(func() {
					if err := srv.Restart(); err != nil {
						t.Errorf("restart: %v", err)
					}
				})
			}
		},
		Deny: h.deny,
		Small: func(t *testing.T) backend.Opener {
			if srv.Opts.Server != ftptest.PureFTPd {
				t.Skip("vsftpd answers a full disk with 451 Failure writing to local file, its reply to any local " +
					"write error: nothing tells ENOSPC apart, so it stays a generic failure (451); pure-ftpd's run checks 552")
			}
			small := ftptest.Start(t, ftptest.Options{Server: ftptest.PureFTPd, QuotaMB: 1})
			return h.newOpener(t, small)
		},
		Stall: func(t *testing.T) func() {
			srv.Stall()
			return srv.Resume
		},
		OpTimeout: testOpTimeout,
		MemBound:  testMemBound,
	})
}

func TestConformanceVsftpd(t *testing.T) {
	runSuite(t, ftptest.Start(t, ftptest.Options{}))
}

// The FTPS and pure-ftpd runs move 64 MiB in BigTransfer (1 GiB takes
// seconds per run under -race; the plain vsftpd run moves the whole
// GiB), with the same heap bound.

func TestConformanceVsftpdTLS(t *testing.T) {
	t.Setenv("FTPSGW_SUITE_BIG", "0")
	runSuite(t, ftptest.Start(t, ftptest.Options{TLS: "explicit"}))
}

func TestConformancePureFTPd(t *testing.T) {
	t.Setenv("FTPSGW_SUITE_BIG", "0")
	runSuite(t, ftptest.Start(t, ftptest.Options{Server: ftptest.PureFTPd}))
}
