package sftp

import (
	"context"
	"io"
	"io/fs"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// ReadDir implements backend.FS with a streamed listing (see lister):
// each Next reads one batch from the server. Hidden backend files,
// symbolic links and special files are left out.
func (s *FS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	if err := begin(ctx, "readdir", name); err != nil {
		return nil, err
	}
	dl := &dirLister{s: s, name: name}
	err := s.run(ctx, func(l *link) error {
		dl.l = l
		return dl.open(s.full(name))
	})
	if err != nil {
		return nil, fail("readdir", name, err)
	}
	return dl, nil
}

// open checks that full is a directory (not a symbolic link to one) and
// opens it on the listing session.
func (dl *dirLister) open(full string) error {
	if full != dl.s.home {
		fi, err := dl.s.lstat(dl.l.c, full)
		switch {
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return errSpecial
		case !fi.IsDir():
			return backend.ErrNotDir
		}
	}
	ls, err := dl.l.lister()
	if err != nil {
		return err
	}
	dl.ls = ls
	dl.handle, err = ls.opendir(full)
	return err
}

// dirLister streams one directory through the link's listing session.
type dirLister struct {
	s      *FS
	l      *link
	ls     *lister
	name   string
	handle string
	buf    []fs.FileInfo // fetched, not yet returned
	eof    bool
	closed bool
}

var _ backend.Lister = (*dirLister)(nil)

// Next implements backend.Lister.
func (dl *dirLister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	if dl.closed {
		return nil, fail("readdir", dl.name, fs.ErrClosed)
	}
	for len(dl.buf) == 0 && !dl.eof {
		if err := ctx.Err(); err != nil {
			return nil, fail("readdir", dl.name, err)
		}
		var entries []entry
		err := dl.s.on(ctx, dl.l, func(*link) (err error) {
			entries, err = dl.ls.readdir(dl.handle)
			return err
		})
		if err == io.EOF {
			dl.eof = true
			break
		}
		if err != nil {
			return nil, fail("readdir", dl.name, err)
		}
		dl.keep(entries)
	}
	if len(dl.buf) == 0 {
		dl.buf = nil
		return nil, io.EOF
	}
	k := len(dl.buf)
	if n > 0 && n < k {
		k = n
	}
	out := dl.buf[:k:k]
	dl.buf = dl.buf[k:]
	return out, nil
}

// keep adds the entries a session may see to the buffer.
func (dl *dirLister) keep(entries []entry) {
	for _, e := range entries {
		if e.name == "." || e.name == ".." || strings.HasPrefix(e.name, reservedPrefix) || strings.Contains(e.name, "/") {
			continue
		}
		if !e.mode.IsRegular() && !e.mode.IsDir() {
			continue
		}
		dl.buf = append(dl.buf, backend.FileInfo{
			FName:    e.name,
			FSize:    e.size,
			FMode:    e.mode & (fs.ModeDir | fs.ModePerm),
			FModTime: e.mtime,
		})
	}
}

// Close implements backend.Lister: the handle is closed on the server
// (within op_timeout) unless the connection is gone.
func (dl *dirLister) Close() error {
	if dl.closed {
		return nil
	}
	dl.closed = true
	dl.buf = nil
	if dl.l.dead() {
		return nil
	}
	err := dl.s.on(context.Background(), dl.l, func(*link) error { return dl.ls.closeHandle(dl.handle) })
	if err != nil {
		return fail("readdir close", dl.name, err)
	}
	return nil
}
