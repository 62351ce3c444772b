package sftp

import (
	"crypto/rand"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
	"github.com/ftpsgw/ftpsgw/gateway/backend/sftp/sshdtest"
)

// testOpTimeout is op_timeout in the tests: short, so the Stall subtest
// is quick, and long enough for -race on a loaded machine.
const testOpTimeout = 3 * time.Second

// testLogger routes the backend's logs through t.Log.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "backend",
		Level:  hclog.Debug,
		Output: testWriter{t},
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testConfig is a Config for srv with root at the server path root.
func testConfig(srv *sshdtest.Server, root string) *Config {
	c := NewConfig()
	c.Address = srv.Addr
	c.User = sshdtest.User
	c.PrivateKeyFile = srv.ClientKey
	c.KnownHostsFile = srv.KnownHosts
	c.Root = root
	c.OpTimeout = testOpTimeout.String()
	c.Keepalive = "1s"
	return c
}

// harness opens backends on one server, each over a fresh root
// directory, and remembers where each root lies on disk.
type harness struct {
	srv  *sshdtest.Server
	mu   sync.Mutex
	dirs map[backend.Opener]string // on-disk root of each Opener
}

// newOpener creates a fresh root on srv (owned by the test user) and an
// Opener over it.
func (h *harness) newOpener(t *testing.T, srv *sshdtest.Server) backend.Opener {
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
	if uid, gid := ownerOf(fi); os.Lchown(disk, uid, gid) != nil {
		t.Fatal(err)
	}
	o, err := testConfig(srv, path.Join(sshdtest.RemoteDataDir, name)).open("test", testLogger(t))
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

func TestConformance(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	h := &harness{srv: srv, dirs: map[backend.Opener]string{}}
	backendtest.RunHarness(t, backendtest.Harness{
		New:  func(t *testing.T) backend.Opener { return h.newOpener(t, srv) },
		Kill: func(t *testing.T) { srv.KillSessions() },
		Stop: func(t *testing.T) func() {
			srv.Stop()
			var once sync.Once
			return func() {
				once.Do(func() {
					if err := srv.Restart(); err != nil {
						t.Errorf("restart sshd: %v", err)
					}
				})
			}
		},
		Deny: h.deny,
		Small: func(t *testing.T) backend.Opener {
			small := sshdtest.Start(t, sshdtest.Options{SmallDisk: "1m"})
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

// testMemBound is the heap growth one transfer or listing may cause.
const testMemBound = 16 << 20
