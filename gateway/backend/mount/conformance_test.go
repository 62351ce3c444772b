package mount

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
)

// mountOpener opens composite sessions: the home on one memory backend,
// with the same home on a second one mounted at "mnt". view picks what the
// suite drives.
type mountOpener struct {
	root, mnt *backendtest.MemOpener
	view      func(backend.FS) backend.FS
}

func (o *mountOpener) Open(ctx context.Context, home string) (backend.FS, error) {
	r, err := o.root.Open(ctx, home)
	if err != nil {
		return nil, err
	}
	m, err := o.mnt.Open(ctx, home)
	if err != nil {
		r.Close()
		return nil, err
	}
	fsys, err := New(r, []Point{{Path: "mnt", FS: m}})
	if err != nil {
		return nil, errors.Join(err, r.Close(), m.Close())
	}
	return o.view(fsys), nil
}

func (o *mountOpener) Probe(ctx context.Context) error {
	return errors.Join(o.root.Probe(ctx), o.mnt.Probe(ctx))
}

func (o *mountOpener) Close() error { return errors.Join(o.root.Close(), o.mnt.Close()) }

// opTimeout is the memory openers' per-operation timeout.
const opTimeout = 100 * time.Millisecond

// harness builds the suite's Harness over mountOpeners: view is what the
// suite drives, the caps are the two storages', and onMnt says that the
// suite's names live on the mounted storage (where Deny must act). Kill,
// Stop and Stall act on both storages of every opener still in use.
func harness(view func(backend.FS) backend.FS, rootCaps, mntCaps backend.Caps, onMnt bool) backendtest.Harness {
	var mu sync.Mutex
	live := map[*backendtest.MemOpener]bool{}
	newMem := func(t *testing.T, caps backend.Caps, limit int64) *backendtest.MemOpener {
		o := backendtest.NewMemOpener()
		o.SetCaps(caps)
		o.SetOpTimeout(opTimeout)
		o.SetLimit(limit)
		mu.Lock()
		live[o] = true
		mu.Unlock()
		t.Cleanup(func() {
			mu.Lock()
			delete(live, o)
			mu.Unlock()
		})
		return o
	}
	newOpener := func(t *testing.T, limit int64) backend.Opener {
		return &mountOpener{root: newMem(t, rootCaps, limit), mnt: newMem(t, mntCaps, limit), view: view}
	}
	each := func(f func(o *backendtest.MemOpener) func()) func() {
		mu.Lock()
		defer mu.Unlock()
		var undo []func()
		for o := range live {
			undo = append(undo, f(o))
		}
		return func() {
			for _, u := range undo {
				u()
			}
		}
	}
	return backendtest.Harness{
		New:   func(t *testing.T) backend.Opener { return newOpener(t, 0) },
		Small: func(t *testing.T) backend.Opener { return newOpener(t, 1<<20) },
		Kill: func(t *testing.T) {
			each(func(o *backendtest.MemOpener) func() { o.Kill(); return func() {} })
		},
		Stop:  func(t *testing.T) func() { return each((*backendtest.MemOpener).Stop) },
		Stall: func(t *testing.T) func() { return each((*backendtest.MemOpener).Stall) },
		Deny: func(t *testing.T, o backend.Opener, home, name string) {
			mo := o.(*mountOpener)
			target := mo.root
			if onMnt {
				target = mo.mnt
			}
			if err := target.Deny(home, name); err != nil {
				t.Fatal(err)
			}
		},
		OpTimeout: opTimeout,
		InHeap:    true,
	}
}

// The suite asserts the exact listing of an empty home, which a mount
// point in it would break, so it drives the composite in two views:
//
//   - Root: calls go to the composite as they are, so the suite's names
//     route to the root FS beside the mount, and "." is an ancestor (Open,
//     Create, Rmdir and Rename of "." are the composite's own refusals).
//     Only the "mnt" entry is left out of listings of ".".
//   - Mounted: every name is prefixed with "mnt/", so every call routes
//     into the mounted FS and the suite's "." is the mount point.
//
// MixedCaps mounts a storage without any optional capability on a full
// one: Caps must come from the storage the name lives on. The big transfer
// moves 64 MiB: the composite hands out the mounted FS's own readers and
// uploads, so there is no data path of its own to load with 1 GiB.
func TestConformance(t *testing.T) {
	t.Setenv("FTPSGW_SUITE_BIG", "0")
	hide := func(fsys backend.FS) backend.FS { return hideMount{fsys} }
	sub := func(fsys backend.FS) backend.FS { return subView{fsys} }
	t.Run("Root", func(t *testing.T) {
		backendtest.RunHarness(t, harness(hide, backend.AllCaps, backend.AllCaps, false))
	})
	t.Run("Mounted", func(t *testing.T) {
		backendtest.RunHarness(t, harness(sub, backend.AllCaps, backend.AllCaps, true))
	})
	t.Run("MixedCaps", func(t *testing.T) {
		backendtest.RunHarness(t, harness(sub, backend.AllCaps, 0, true))
	})
}

// hideMount leaves the "mnt" entry out of listings of "."; it changes
// nothing else.
type hideMount struct{ backend.FS }

func (h hideMount) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	l, err := h.FS.ReadDir(ctx, name)
	if err != nil || name != "." {
		return l, err
	}
	return dropMnt{l}, nil
}

type dropMnt struct{ backend.Lister }

func (d dropMnt) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	batch, err := d.Lister.Next(ctx, n)
	var out []fs.FileInfo
	for _, fi := range batch {
		if fi.Name() != "mnt" {
			out = append(out, fi)
		}
	}
	return out, err
}

// subView is the composite seen from its mount point "mnt". It prefixes
// names without checking them: every invalid name stays invalid with the
// prefix, so the composite's own checks are what the suite sees.
type subView struct{ m backend.FS }

func in(name string) string {
	if name == "." {
		return "mnt"
	}
	return "mnt/" + name
}

func (s subView) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	return s.m.Stat(ctx, in(name))
}

func (s subView) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	return s.m.ReadDir(ctx, in(name))
}

func (s subView) Open(ctx context.Context, name string, off int64) (io.ReadCloser, error) {
	return s.m.Open(ctx, in(name), off)
}

func (s subView) Create(ctx context.Context, name string, mode backend.WriteMode, off int64) (backend.Upload, error) {
	return s.m.Create(ctx, in(name), mode, off)
}

func (s subView) Mkdir(ctx context.Context, name string) error  { return s.m.Mkdir(ctx, in(name)) }
func (s subView) Remove(ctx context.Context, name string) error { return s.m.Remove(ctx, in(name)) }
func (s subView) Rmdir(ctx context.Context, name string) error  { return s.m.Rmdir(ctx, in(name)) }

func (s subView) Rename(ctx context.Context, from, to string) error {
	return s.m.Rename(ctx, in(from), in(to))
}

func (s subView) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	return s.m.Chtimes(ctx, in(name), mtime)
}

func (s subView) Caps(name string) backend.Caps { return s.m.Caps(in(name)) }

func (s subView) Usage(ctx context.Context) (backend.Usage, error) { return s.m.Usage(ctx) }

func (s subView) Close() error { return s.m.Close() }
