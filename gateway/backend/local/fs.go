package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// info converts an os FileInfo to the plain form sessions see: the bare
// name, the directory bit and permission bits only.
func info(name string, fi fs.FileInfo) fs.FileInfo {
	return backend.FileInfo{
		FName:    name,
		FSize:    fi.Size(),
		FMode:    fi.Mode() & (fs.ModeDir | fs.ModePerm),
		FModTime: fi.ModTime(),
	}
}

// plain reports whether fi is a regular file or a directory, the only
// kinds a session may use.
func plain(fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() || fi.IsDir()
}

// errSpecial refuses devices, FIFOs and sockets.
var errSpecial = fmt.Errorf("not a regular file or directory: %w", fs.ErrPermission)

// Stat implements backend.FS. Symbolic links are followed inside the home.
func (l *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	w, err := l.beginOne(ctx, "stat", name)
	if err != nil {
		return nil, err
	}
	fi, err := w.stat(l.root, name)
	if err != nil {
		return nil, l.fail("stat", name, err)
	}
	if !plain(fi) {
		return nil, l.fail("stat", name, errSpecial)
	}
	return info(path.Base(name), fi), nil
}

// Open implements backend.FS.
func (l *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	w, err := l.beginOne(ctx, "open", name)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, l.fail("open", name, fs.ErrInvalid)
	}
	// Check the kind before opening: opening a FIFO for reading would block.
	// Someone with shell access could swap the file in between; the fstat
	// below still refuses the result, only the open itself could block.
	fi, err := w.stat(l.root, name)
	if err != nil {
		return nil, l.fail("open", name, err)
	}
	if fi.IsDir() {
		return nil, l.fail("open", name, backend.ErrIsDir)
	}
	if !fi.Mode().IsRegular() {
		return nil, l.fail("open", name, errSpecial)
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, l.fail("open", name, err)
	}
	if err := checkRegular(f); err != nil {
		f.Close()
		return nil, l.fail("open", name, err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, l.fail("open", name, err)
		}
	}
	return &reader{ctx: ctx, f: f}, nil
}

// checkRegular refuses an open file that is not a regular file.
func checkRegular(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return backend.ErrIsDir
	}
	if !fi.Mode().IsRegular() {
		return errSpecial
	}
	return nil
}

// Mkdir implements backend.FS.
func (l *FS) Mkdir(ctx context.Context, name string) error {
	if err := l.begin(ctx, "mkdir", name); err != nil {
		return err
	}
	if name == "." {
		return l.fail("mkdir", name, fs.ErrExist)
	}
	if err := l.root.Mkdir(name, 0o755); err != nil {
		return l.fail("mkdir", name, err)
	}
	return nil
}

// Remove implements backend.FS. A symbolic link is removed, not its
// target.
//
// os.Root.Remove removes empty directories too, so the kind is checked
// first; if a file is replaced by an empty directory between the two
// calls, that directory is removed. Only the session's own concurrent
// commands can cause that, with no loss of data.
func (l *FS) Remove(ctx context.Context, name string) error {
	if err := l.begin(ctx, "remove", name); err != nil {
		return err
	}
	if name == "." {
		return l.fail("remove", name, fs.ErrInvalid)
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return l.fail("remove", name, err)
	}
	if fi.IsDir() {
		return l.fail("remove", name, backend.ErrIsDir)
	}
	if err := l.root.Remove(name); err != nil {
		return l.fail("remove", name, err)
	}
	return nil
}

// Rmdir implements backend.FS. The same check-then-remove window as in
// Remove applies: a directory replaced by a file in between would be
// unlinked.
func (l *FS) Rmdir(ctx context.Context, name string) error {
	if err := l.begin(ctx, "rmdir", name); err != nil {
		return err
	}
	if name == "." {
		return l.fail("rmdir", name, fs.ErrInvalid)
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return l.fail("rmdir", name, err)
	}
	if !fi.IsDir() {
		return l.fail("rmdir", name, backend.ErrNotDir)
	}
	if err := l.root.Remove(name); err != nil {
		if errors.Is(err, syscall.EEXIST) { // some systems say EEXIST for non-empty
			err = fmt.Errorf("%w: %w", backend.ErrNotEmpty, err)
		}
		return l.fail("rmdir", name, err)
	}
	return nil
}

// Rename implements backend.FS with rename(2): atomic, replacing a file or
// an empty directory at to.
func (l *FS) Rename(ctx context.Context, from, to string) error {
	if err := l.begin(ctx, "rename", from, to); err != nil {
		return err
	}
	if from == "." || to == "." {
		return fmt.Errorf("rename %s to %s: %w", from, to, fs.ErrInvalid)
	}
	if err := l.root.Rename(from, to); err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, mapErr(err, l.escape))
	}
	return nil
}

// Chtimes implements backend.FS; the access time is left alone.
func (l *FS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	if err := l.begin(ctx, "chtimes", name); err != nil {
		return err
	}
	if err := l.root.Chtimes(name, time.Time{}, mtime); err != nil {
		return l.fail("chtimes", name, err)
	}
	return nil
}
