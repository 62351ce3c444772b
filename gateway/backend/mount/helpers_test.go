package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
)

// spyFS wraps an FS: it records the changing calls that reach it, can
// remove capabilities, fail Stat or Usage, and counts Close and listing
// batches.
type spyFS struct {
	backend.FS
	capsOff  backend.Caps // removed from every Caps answer
	statErr  error        // returned by Stat when set
	usageErr error        // returned by Usage when set
	closeErr error        // returned by Close when set

	mu     sync.Mutex
	calls  []string       // guarded by mu
	closed int            // guarded by mu
	lists  []*countLister // guarded by mu
}

func newSpy(t *testing.T) *spyFS {
	t.Helper()
	fsys, err := backendtest.NewMemOpener().Open(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	return &spyFS{FS: fsys}
}

func (s *spyFS) record(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

// changes returns the changing calls that reached the FS so far.
func (s *spyFS) changes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *spyFS) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

func (s *spyFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if s.statErr != nil {
		return nil, s.statErr
	}
	return s.FS.Stat(ctx, name)
}

func (s *spyFS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	l, err := s.FS.ReadDir(ctx, name)
	if err != nil {
		return nil, err
	}
	c := &countLister{Lister: l}
	s.mu.Lock()
	s.lists = append(s.lists, c)
	s.mu.Unlock()
	return c, nil
}

func (s *spyFS) Create(ctx context.Context, name string, mode backend.WriteMode, off int64) (backend.Upload, error) {
	s.record("create %s", name)
	return s.FS.Create(ctx, name, mode, off)
}

func (s *spyFS) Mkdir(ctx context.Context, name string) error {
	s.record("mkdir %s", name)
	return s.FS.Mkdir(ctx, name)
}

func (s *spyFS) Remove(ctx context.Context, name string) error {
	s.record("remove %s", name)
	return s.FS.Remove(ctx, name)
}

func (s *spyFS) Rmdir(ctx context.Context, name string) error {
	s.record("rmdir %s", name)
	return s.FS.Rmdir(ctx, name)
}

func (s *spyFS) Rename(ctx context.Context, from, to string) error {
	s.record("rename %s %s", from, to)
	return s.FS.Rename(ctx, from, to)
}

func (s *spyFS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	s.record("chtimes %s", name)
	return s.FS.Chtimes(ctx, name, mtime)
}

func (s *spyFS) Caps(name string) backend.Caps { return s.FS.Caps(name) &^ s.capsOff }

func (s *spyFS) Usage(ctx context.Context) (backend.Usage, error) {
	if s.usageErr != nil {
		return backend.Usage{}, s.usageErr
	}
	return s.FS.Usage(ctx)
}

func (s *spyFS) Close() error {
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
	if err := s.FS.Close(); err != nil {
		return err
	}
	return s.closeErr
}

// countLister counts the batches and entries an inner Lister hands out.
type countLister struct {
	backend.Lister
	nexts, entries int // used by one goroutine, like the Lister
}

func (c *countLister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	batch, err := c.Lister.Next(ctx, n)
	c.nexts++
	c.entries += len(batch)
	return batch, err
}

// fixture is a composite with mounts at "archive" and "a/b".
type fixture struct {
	fs                backend.FS
	root, archive, ab *spyFS
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{root: newSpy(t), archive: newSpy(t), ab: newSpy(t)}
	m, err := New(f.root, []Point{{Path: "archive", FS: f.archive}, {Path: "a/b", FS: f.ab}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	f.fs = m
	return f
}

// spies names the fixture's FSs for table tests.
func (f *fixture) spies() map[string]*spyFS {
	return map[string]*spyFS{"root": f.root, "archive": f.archive, "ab": f.ab}
}

// resetAll forgets the calls recorded so far.
func (f *fixture) resetAll() {
	for _, s := range f.spies() {
		s.reset()
	}
}

// untouched fails unless no changing call reached any FS since resetAll.
func (f *fixture) untouched(t *testing.T, what string) {
	t.Helper()
	for name, s := range f.spies() {
		if c := s.changes(); len(c) > 0 {
			t.Errorf("%s: reached %s: %q", what, name, c)
		}
	}
}

func put(t *testing.T, fsys backend.FS, name, data string) {
	t.Helper()
	u, err := fsys.Create(t.Context(), name, backend.WriteReplace, 0)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if _, err := io.WriteString(u, data); err != nil {
		u.Abort()
		t.Fatalf("write %q: %v", name, err)
	}
	if err := u.Commit(); err != nil {
		t.Fatalf("Commit(%q): %v", name, err)
	}
}

func get(t *testing.T, fsys backend.FS, name string) string {
	t.Helper()
	r, err := fsys.Open(t.Context(), name, 0)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return string(b)
}

func mkdirs(t *testing.T, fsys backend.FS, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := fsys.Mkdir(t.Context(), n); err != nil {
			t.Fatalf("Mkdir(%q): %v", n, err)
		}
	}
}

// list drains dir and returns its entries by name, failing on a
// duplicate.
func list(t *testing.T, fsys backend.FS, dir string) map[string]fs.FileInfo {
	t.Helper()
	infos, err := backend.ReadAll(t.Context(), fsys, dir)
	if err != nil {
		t.Fatalf("ReadDir(%q): %v", dir, err)
	}
	out := make(map[string]fs.FileInfo, len(infos))
	for _, fi := range infos {
		if _, dup := out[fi.Name()]; dup {
			t.Errorf("ReadDir(%q) lists %q twice", dir, fi.Name())
		}
		out[fi.Name()] = fi
	}
	return out
}

// names is the sorted, comma-joined names in dir.
func names(t *testing.T, fsys backend.FS, dir string) string {
	t.Helper()
	var out []string
	for n := range list(t, fsys, dir) {
		out = append(out, n)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

var errBoom = errors.New("boom")
