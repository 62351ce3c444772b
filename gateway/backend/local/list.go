package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// ReadDir implements backend.FS. The directory is opened through the
// session's os.Root and read in batches by Lister.Next, in the order the
// filesystem returns entries; nothing is read ahead. Listings leave out
// the backend's own hidden files, special files, and symbolic links that
// dangle or leave the home; other links are shown as what they point to.
func (l *FS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	if err := l.begin(ctx, "readdir", name); err != nil {
		return nil, err
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, l.fail("readdir", name, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.IsDir() {
		err = backend.ErrNotDir
	}
	if err != nil {
		f.Close()
		return nil, l.fail("readdir", name, err)
	}
	return &lister{fs: l, name: name, f: f}, nil
}

// lister streams one open directory. The mutex only serialises Close
// with a Next running in another goroutine.
type lister struct {
	fs   *FS
	name string

	mu  sync.Mutex
	f   *os.File // guarded by mu; nil once closed
	eof bool     // guarded by mu
}

// Next implements backend.Lister. It reads at most n directory entries
// (backend.ListBatch when n <= 0) per system call batch and skips the
// hidden ones, so it may read several batches to return a non-empty one.
func (d *lister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	if n <= 0 {
		n = backend.ListBatch
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.f == nil:
		return nil, fmt.Errorf("readdir %s: %w", d.name, fs.ErrClosed)
	case d.eof:
		return nil, io.EOF
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("readdir %s: %w", d.name, err)
		}
		entries, err := d.f.ReadDir(n)
		out := d.infos(entries)
		if errors.Is(err, io.EOF) {
			d.eof = true
			if len(out) == 0 {
				return nil, io.EOF
			}
			return out, nil
		}
		if err != nil {
			return out, d.fs.fail("readdir", d.name, err)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

// infos converts the entries a session may see.
func (d *lister) infos(entries []fs.DirEntry) []fs.FileInfo {
	out := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), reservedPrefix) {
			continue
		}
		var fi fs.FileInfo
		var err error
		if e.Type()&fs.ModeSymlink != 0 {
			if !d.fs.follow {
				continue
			}
			fi, err = d.fs.root.Stat(path.Join(d.name, e.Name()))
		} else {
			fi, err = e.Info()
		}
		if err != nil || !plain(fi) {
			continue // vanished, dangling, escaping or special
		}
		out = append(out, info(e.Name(), fi))
	}
	return out
}

// Close implements backend.Lister.
func (d *lister) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
