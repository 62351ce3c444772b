package gateway

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// instrumentedFS times every backend call for the observer.
type instrumentedFS struct {
	fs   backend.FS
	name string
	obs  Observer
}

func instrument(f backend.FS, name string, obs Observer) backend.FS {
	return &instrumentedFS{fs: f, name: name, obs: obs}
}

func (i *instrumentedFS) done(op string, start time.Time, err error) {
	i.obs.BackendOp(i.name, op, time.Since(start), err)
}

func (i *instrumentedFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	t := time.Now()
	fi, err := i.fs.Stat(ctx, name)
	i.done("stat", t, expectedMissing(err))
	return fi, err
}

func (i *instrumentedFS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	t := time.Now()
	l, err := i.fs.ReadDir(ctx, name)
	i.done("readdir", t, err)
	return l, err
}

func (i *instrumentedFS) Open(ctx context.Context, name string, off int64) (io.ReadCloser, error) {
	t := time.Now()
	r, err := i.fs.Open(ctx, name, off)
	i.done("open", t, err)
	return r, err
}

func (i *instrumentedFS) Create(ctx context.Context, name string, m backend.WriteMode, off int64) (backend.Upload, error) {
	t := time.Now()
	u, err := i.fs.Create(ctx, name, m, off)
	i.done("create", t, err)
	return u, err
}

func (i *instrumentedFS) Mkdir(ctx context.Context, name string) error {
	t := time.Now()
	err := i.fs.Mkdir(ctx, name)
	i.done("mkdir", t, err)
	return err
}

func (i *instrumentedFS) Remove(ctx context.Context, name string) error {
	t := time.Now()
	err := i.fs.Remove(ctx, name)
	i.done("remove", t, err)
	return err
}

func (i *instrumentedFS) Rmdir(ctx context.Context, name string) error {
	t := time.Now()
	err := i.fs.Rmdir(ctx, name)
	i.done("rmdir", t, err)
	return err
}

func (i *instrumentedFS) Rename(ctx context.Context, from, to string) error {
	t := time.Now()
	err := i.fs.Rename(ctx, from, to)
	i.done("rename", t, err)
	return err
}

func (i *instrumentedFS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	t := time.Now()
	err := i.fs.Chtimes(ctx, name, mtime)
	i.done("chtimes", t, err)
	return err
}

func (i *instrumentedFS) Caps(name string) backend.Caps { return i.fs.Caps(name) }

func (i *instrumentedFS) Usage(ctx context.Context) (backend.Usage, error) {
	t := time.Now()
	n, err := i.fs.Usage(ctx)
	if !errors.Is(err, errors.ErrUnsupported) {
		i.done("usage", t, err)
	}
	return n, err
}

func (i *instrumentedFS) Close() error { return i.fs.Close() }

// expectedMissing keeps "not found" out of the backend error count: a
// stat of a missing file is an answer, not a storage failure.
func expectedMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

var _ backend.FS = (*instrumentedFS)(nil)
