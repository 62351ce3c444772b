package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

var _ backend.FS = (*mountFS)(nil)

// Stat implements backend.FS. A mount point is described by Stat(".") on
// its FS under its own name; an ancestor by the root FS's directory, or as
// a plain synthetic directory when the root lacks one.
func (m *mountFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := check(ctx, "stat", name); err != nil {
		return nil, err
	}
	t := m.route(name)
	switch {
	case t.kind == atPoint:
		return pointInfo(ctx, t.pt, path.Base(name))
	case t.kind == ancestor && name != ".":
		return m.ancestorInfo(ctx, name)
	}
	fi, err := t.fs.Stat(ctx, t.name)
	return fi, t.wrap(err)
}

// ReadDir implements backend.FS. Listings of "." and of ancestors yield
// the synthetic entries first, then the root FS's entries streamed with
// same-named ones hidden (see lister).
func (m *mountFS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	if err := check(ctx, "readdir", name); err != nil {
		return nil, err
	}
	t := m.route(name)
	if t.kind != ancestor {
		l, err := t.fs.ReadDir(ctx, t.name)
		return l, t.wrap(err)
	}
	inner, err := m.root.ReadDir(ctx, name)
	if err != nil {
		if name == "." || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, backend.ErrNotDir)) {
			return nil, err
		}
		inner = nil // a synthetic directory: only the mounts below it
	}
	kids := m.children(name)
	l := &lister{inner: inner, hide: make(map[string]bool, len(kids))}
	for _, c := range kids {
		l.synth = append(l.synth, m.childInfo(ctx, c))
		l.hide[c.elem] = true
	}
	return l, nil
}

// Open implements backend.FS.
func (m *mountFS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := check(ctx, "open", name); err != nil {
		return nil, err
	}
	t := m.route(name)
	if t.kind == ancestor || t.kind == atPoint {
		return nil, refuse("open", name, "a directory", backend.ErrIsDir)
	}
	r, err := t.fs.Open(ctx, t.name, offset)
	return r, t.wrap(err)
}

// Create implements backend.FS.
func (m *mountFS) Create(ctx context.Context, name string, mode backend.WriteMode, offset int64) (backend.Upload, error) {
	if err := check(ctx, "create", name); err != nil {
		return nil, err
	}
	t := m.route(name)
	if t.kind == ancestor || t.kind == atPoint {
		return nil, refuse("create", name, "a directory", backend.ErrIsDir)
	}
	u, err := t.fs.Create(ctx, t.name, mode, offset)
	return u, t.wrap(err)
}

// Mkdir implements backend.FS. Mount points and ancestors already exist.
func (m *mountFS) Mkdir(ctx context.Context, name string) error {
	if err := check(ctx, "mkdir", name); err != nil {
		return err
	}
	t := m.route(name)
	switch t.kind {
	case atPoint:
		return refuse("mkdir", name, "a mount point", fs.ErrExist)
	case ancestor:
		return refuse("mkdir", name, "holds a mount point", fs.ErrExist)
	}
	return t.wrap(t.fs.Mkdir(ctx, t.name))
}

// Remove implements backend.FS. Mount points and ancestors are directories.
func (m *mountFS) Remove(ctx context.Context, name string) error {
	if err := check(ctx, "remove", name); err != nil {
		return err
	}
	t := m.route(name)
	if t.kind == ancestor || t.kind == atPoint {
		return refuse("remove", name, "a directory", backend.ErrIsDir)
	}
	return t.wrap(t.fs.Remove(ctx, t.name))
}

// Rmdir implements backend.FS. A mount point cannot be removed
// (fs.ErrPermission) and an ancestor is never empty (backend.ErrNotEmpty).
func (m *mountFS) Rmdir(ctx context.Context, name string) error {
	if err := check(ctx, "rmdir", name); err != nil {
		return err
	}
	t := m.route(name)
	switch t.kind {
	case atPoint:
		return refuse("rmdir", name, "a mount point", fs.ErrPermission)
	case ancestor:
		return refuse("rmdir", name, "holds a mount point", backend.ErrNotEmpty)
	}
	return t.wrap(t.fs.Rmdir(ctx, t.name))
}

// Rename implements backend.FS. It renames only within one FS; anything
// else fails before either FS is touched (see the package doc for which
// error each case gets).
func (m *mountFS) Rename(ctx context.Context, from, to string) error {
	if err := check(ctx, "rename", from, to); err != nil {
		return err
	}
	f, t := m.route(from), m.route(to)
	why := func(what string, sentinel error) error {
		return fmt.Errorf("rename %s to %s: %s: %w", from, to, what, sentinel)
	}
	switch {
	case f.kind == atPoint:
		return why("source is a mount point", fs.ErrPermission)
	case t.kind == atPoint:
		return why("target is a mount point", fs.ErrPermission)
	case f.kind == ancestor:
		return why("source holds a mount point", backend.ErrCrossMount)
	case t.kind == ancestor:
		return why("target holds a mount point", fs.ErrExist)
	case f.pt != t.pt:
		return why("different storages", backend.ErrCrossMount)
	}
	return f.wrap(f.fs.Rename(ctx, f.name, t.name))
}

// Chtimes implements backend.FS. On a mount point it sets the mounted FS's
// "."; on an ancestor the root FS's directory, refusing a synthetic one.
func (m *mountFS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	if err := check(ctx, "chtimes", name); err != nil {
		return err
	}
	t := m.route(name)
	if t.kind == ancestor && name != "." {
		fi, err := m.root.Stat(ctx, name)
		if (err == nil && !fi.IsDir()) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, backend.ErrNotDir) {
			return refuse("chtimes", name, "a synthetic directory", fs.ErrPermission)
		}
		if err != nil {
			return err
		}
	}
	return t.wrap(t.fs.Chtimes(ctx, t.name, mtime))
}

// Caps implements backend.FS: the capabilities of the FS that owns name.
func (m *mountFS) Caps(name string) backend.Caps {
	t := m.route(name)
	return t.fs.Caps(t.name)
}

// Usage implements backend.FS: the sum over the root and every mount. If
// any of them cannot measure its usage, neither can the composite.
func (m *mountFS) Usage(ctx context.Context) (backend.Usage, error) {
	total, err := m.root.Usage(ctx)
	if err != nil {
		return backend.Usage{}, fmt.Errorf("usage of root: %w", err)
	}
	for _, p := range m.points {
		u, err := p.fs.Usage(ctx)
		if err != nil {
			return backend.Usage{}, fmt.Errorf("usage of mount %s: %w", p.path, err)
		}
		total = total.Add(u)
	}
	return total, nil
}

// Close implements backend.FS: it closes the root and every mounted FS
// and joins their errors. Later calls return the first call's result.
func (m *mountFS) Close() error {
	m.closeOnce.Do(func() {
		errs := []error{m.root.Close()}
		for _, p := range m.points {
			if err := p.fs.Close(); err != nil {
				errs = append(errs, fmt.Errorf("mount %s: %w", p.path, err))
			}
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}
