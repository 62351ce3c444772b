package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
	"github.com/ftpsgw/ftpsgw/policy"
)

// wrapOpener opens sessions on an inner Opener and passes each FS through
// wrap, so a test can change what a backend reports or how it behaves.
type wrapOpener struct {
	backend.Opener
	wrap func(backend.FS) backend.FS
}

func (w wrapOpener) Open(ctx context.Context, home string) (backend.FS, error) {
	f, err := w.Opener.Open(ctx, home)
	if err != nil {
		return nil, err
	}
	return w.wrap(f), nil
}

// capsFS reports fewer capabilities than the FS under it has.
type capsFS struct {
	backend.FS
	drop backend.Caps
}

func (c capsFS) Caps(name string) backend.Caps { return c.FS.Caps(name) &^ c.drop }

// mountEnv: alice has "/" on the local backend and "/archive" on a mem
// backend; a rule makes "/archive/ro" read-only.
func mountEnv(t *testing.T) (*env, *backendtest.MemOpener) {
	mem := backendtest.NewMemOpener()
	e := newEnv(t, func(c *Config) { c.Backends["mem"] = mem })
	cfg := testPolicyConfig(t)
	cfg.Users[0].Mounts = []policy.MountConfig{{Path: "/archive", Backend: "mem", Dir: "/exports/alice"}}
	cfg.Users[0].Rules = []policy.RuleConfig{{Path: "/archive/ro/**", Permissions: []string{"list", "download"}}}
	e.setPolicy(cfg)
	return e, mem
}

func TestMountServesTwoBackends(t *testing.T) {
	e, mem := mountEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.put("/local.txt", []byte("on disk"))
	c.expect(257, "MKD /archive/sub")
	c.put("/archive/sub/remote.txt", []byte("in memory"))

	// Each file is where its mount says, and nowhere else.
	if b, err := os.ReadFile(filepath.Join(e.root, "alice", "local.txt")); err != nil || string(b) != "on disk" {
		t.Errorf("local file: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(e.root, "alice", "archive")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the mount leaked onto the local disk: %v", err)
	}
	memFS, err := mem.Open(t.Context(), "/exports/alice")
	if err != nil {
		t.Fatal(err)
	}
	defer memFS.Close()
	if fi, err := memFS.Stat(t.Context(), "sub/remote.txt"); err != nil || fi.Size() != int64(len("in memory")) {
		t.Errorf("mem file: %v, %v", fi, err)
	}

	// The mount point is a directory in its parent's listing.
	list, code, _ := c.transfer("MLSD /", nil)
	if code != 226 || !strings.Contains(string(list), "type=dir;") || !strings.Contains(string(list), " archive\r\n") {
		t.Errorf("MLSD / = %d %q, want the archive directory", code, list)
	}
	if got := string(c.get("/archive/sub/remote.txt")); got != "in memory" {
		t.Errorf("RETR through the mount: %q", got)
	}
	// A rename inside one mount works.
	c.expect(350, "RNFR /archive/sub/remote.txt")
	c.expect(250, "RNTO /archive/moved.txt")
}

func TestMountCrossRenameRefused(t *testing.T) {
	e, _ := mountEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.put("/local.txt", []byte("stays"))
	c.expect(350, "RNFR /local.txt")
	if code, msg := c.cmd("RNTO /archive/local.txt"); code != 553 || !strings.Contains(msg, "across") {
		t.Errorf("cross-mount RNTO = %d %q, want 553 naming the reason", code, msg)
	}
	if b, err := os.ReadFile(filepath.Join(e.root, "alice", "local.txt")); err != nil || string(b) != "stays" {
		t.Errorf("source after a refused cross-mount rename: %q, %v", b, err)
	}
	if code, _ := c.cmd("SIZE /archive/local.txt"); code != 550 {
		t.Errorf("target exists after a refused rename: SIZE = %d", code)
	}
}

func TestMountRulesSeeVirtualPaths(t *testing.T) {
	e, mem := mountEnv(t)
	memFS, err := mem.Open(t.Context(), "/exports/alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := memFS.Mkdir(t.Context(), "ro"); err != nil {
		t.Fatal(err)
	}
	memFS.Close()
	c := e.dial()
	c.login("alice", alicePW)
	if _, code, _ := c.transfer("STOR /archive/ro/x.txt", []byte("no")); code != 550 {
		t.Errorf("upload under a read-only rule across the mount = %d, want 550", code)
	}
	// The same rule, spelled another way, still holds.
	if _, code, _ := c.transfer("STOR /archive/./ro//x.txt", []byte("no")); code != 550 {
		t.Errorf("respelled path = %d, want 550", code)
	}
}

func TestCapabilitiesAnsweredBeforeData(t *testing.T) {
	mem := backendtest.NewMemOpener()
	lacks := backend.CapAppend | backend.CapResume | backend.CapChtimes | backend.CapRenameDir
	e := newEnv(t, func(c *Config) {
		c.Backends["files"] = wrapOpener{Opener: mem, wrap: func(f backend.FS) backend.FS { return capsFS{FS: f, drop: lacks} }}
	})
	c := e.dial()
	c.login("alice", alicePW)
	c.put("/f.txt", []byte("0123456789"))
	c.expect(257, "MKD /d")

	c.epsv()
	if code, _ := c.cmd("APPE /f.txt"); code != 504 {
		t.Errorf("APPE without the capability = %d, want 504 before any 150", code)
	}
	c.epsv()
	c.expect(350, "REST 5")
	if code, _ := c.cmd("STOR /f.txt"); code != 504 {
		t.Errorf("REST+STOR without the capability = %d, want 504", code)
	}
	if code, _ := c.cmd("MFMT 20200101000000 /f.txt"); code != 504 {
		t.Errorf("MFMT without the capability = %d, want 504", code)
	}
	c.expect(350, "RNFR /d")
	if code, msg := c.cmd("RNTO /e"); code != 550 || !strings.Contains(msg, "directory") {
		t.Errorf("directory rename without the capability = %d %q, want 550", code, msg)
	}
	// What the storage can do still works, and the file is intact.
	c.expect(350, "RNFR /f.txt")
	c.expect(250, "RNTO /g.txt")
	if got := string(c.get("/g.txt")); got != "0123456789" {
		t.Errorf("file after refused operations: %q", got)
	}
}

// gateFS holds a directory listing after its first batch until released,
// so a test can see the first entries arrive before the last are read.
type gateFS struct {
	backend.FS
	firstSent chan struct{}
	release   chan struct{}
}

func (g gateFS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	l, err := g.FS.ReadDir(ctx, name)
	if err != nil {
		return nil, err
	}
	return &gateLister{Lister: l, g: g}, nil
}

type gateLister struct {
	backend.Lister
	g     gateFS
	calls int
	once  sync.Once
}

func (l *gateLister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	l.calls++
	if l.calls == 2 {
		l.once.Do(func() { close(l.g.firstSent) })
		select {
		case <-l.g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return l.Lister.Next(ctx, n)
}

func TestListingStreams(t *testing.T) {
	g := gateFS{firstSent: make(chan struct{}), release: make(chan struct{})}
	mem := backendtest.NewMemOpener()
	e := newEnv(t, func(c *Config) {
		c.Backends["files"] = wrapOpener{Opener: mem, wrap: func(f backend.FS) backend.FS { g.FS = f; return g }}
	})
	// More entries than one batch.
	n := 3*backend.ListBatch + 7
	seed, err := mem.Open(t.Context(), "/alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := seed.Mkdir(t.Context(), fmt.Sprintf("d%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	seed.Close()

	c := e.dial()
	c.login("alice", alicePW)
	tc, dc := c.begin("NLST /")
	defer dc.Close()
	r := bufio.NewReader(tc)
	// The first line arrives while the backend is still held after its
	// first batch: the listing is not collected before it is sent.
	lineCh := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		lineCh <- l
	}()
	select {
	case l := <-lineCh:
		if !strings.HasPrefix(l, "d") {
			t.Errorf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no entry arrived before the whole directory was read")
	}
	close(g.release)
	rest, _ := io.ReadAll(r)
	tc.Close()
	if got := strings.Count(string(rest), "\r\n") + 1; got != n {
		t.Errorf("listed %d entries, want %d", got, n)
	}
	if code, msg := c.read(); code != 226 {
		t.Errorf("after listing: %d %s", code, msg)
	}
}

// usageFailFS cannot measure its usage.
type usageFailFS struct{ backend.FS }

func (usageFailFS) Usage(context.Context) (backend.Usage, error) {
	return backend.Usage{}, errors.New("usage walk failed")
}

func (usageFailFS) ReadDir(context.Context, string) (backend.Lister, error) {
	return nil, errors.New("listing failed")
}

func TestUnmeasuredQuotaRefusesUploads(t *testing.T) {
	mem := backendtest.NewMemOpener()
	e := newEnv(t, func(c *Config) {
		c.Backends["files"] = wrapOpener{Opener: mem, wrap: func(f backend.FS) backend.FS { return usageFailFS{f} }}
	})
	cfg := testPolicyConfig(t)
	cfg.Users[0].QuotaBytes = 1 << 20
	e.setPolicy(cfg)
	c := e.dial()
	c.login("alice", alicePW)
	if _, code, _ := c.transfer("STOR /x.txt", []byte("data")); code != 452 {
		t.Errorf("upload with an unmeasured quota = %d, want 452", code)
	}
	if e.srv.cfg.Quotas.Known("alice") {
		t.Error("a failed measurement was recorded as a usage")
	}
}

// commitGateFS holds every upload after its Commit until released.
type commitGateFS struct {
	backend.FS
	inCommit chan struct{}
	release  chan struct{}
}

func (g commitGateFS) Create(ctx context.Context, name string, m backend.WriteMode, off int64) (backend.Upload, error) {
	u, err := g.FS.Create(ctx, name, m, off)
	if err != nil {
		return nil, err
	}
	return &gatedUpload{Upload: u, g: g}, nil
}

type gatedUpload struct {
	backend.Upload
	g commitGateFS
}

// Commit publishes, then waits: an ABOR sent meanwhile finds the file
// already in place.
func (u *gatedUpload) Commit() error {
	err := u.Upload.Commit()
	close(u.g.inCommit)
	<-u.g.release
	return err
}

// TestAbortRacingCommitIsReportedAsItHappened: an ABOR that races an
// upload's commit is answered by what happened: 226 with the file
// published, or 426 with nothing published, never 426 with the file there.
func TestAbortRacingCommitIsReportedAsItHappened(t *testing.T) {
	g := commitGateFS{inCommit: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *Config) {
		c.Backends["files"] = wrapOpener{Opener: c.Backends["files"], wrap: func(f backend.FS) backend.FS { g.FS = f; return g }}
	})
	c := e.dial()
	c.login("alice", alicePW)
	tc, dc := c.begin("STOR done.txt")
	defer dc.Close()
	tc.Write([]byte("complete"))
	tc.Close()
	<-g.inCommit
	c.send("ABOR")
	time.Sleep(100 * time.Millisecond) // let ABOR reach the session
	close(g.release)
	code, msg := c.read()
	c.read() // ABOR's own reply
	_, err := os.Stat(filepath.Join(e.root, "alice", "done.txt"))
	published := err == nil
	switch {
	case code == 226 && !published:
		t.Errorf("226 %q but no file", msg)
	case code != 226 && published:
		t.Errorf("%d %q but the file was published", code, msg)
	case code != 226 && code != 426:
		t.Errorf("reply %d %q", code, msg)
	}
	var rec TransferRecord
	waitFor(t, func() bool {
		e.obs.mu.Lock()
		defer e.obs.mu.Unlock()
		if len(e.obs.recs) == 0 {
			return false
		}
		rec = e.obs.recs[len(e.obs.recs)-1]
		return true
	})
	if published != (rec.Result == TransferOK) {
		t.Errorf("transfer recorded %s, file published %v", rec.Result, published)
	}
}

// slowOpenOpener holds Open until released, so a login is in progress.
type slowOpenOpener struct {
	backend.Opener
	entered, release chan struct{}
}

func (o slowOpenOpener) Open(ctx context.Context, home string) (backend.FS, error) {
	close(o.entered)
	<-o.release
	return o.Opener.Open(ctx, home)
}

// TestShutdownSparesCommandInProgress: Shutdown answers a login that is
// being checked, then closes the session, instead of cutting it with 421.
func TestShutdownSparesCommandInProgress(t *testing.T) {
	slow := slowOpenOpener{Opener: backendtest.NewMemOpener(), entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(c *Config) { c.Backends["files"] = slow })
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(331, "USER alice")
	c.send("PASS %s", alicePW)
	<-slow.entered
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	time.Sleep(200 * time.Millisecond) // Shutdown's first sweep has run
	close(slow.release)
	if code, msg := c.read(); code != 230 {
		t.Errorf("login in progress at shutdown: %d %q, want 230", code, msg)
	}
	if code, _ := c.read(); code != 421 {
		t.Errorf("after the command: %d, want 421", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
