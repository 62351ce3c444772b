package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Create implements backend.FS; see the package doc for how each mode
// writes.
func (l *FS) Create(ctx context.Context, name string, mode backend.WriteMode, offset int64) (backend.Upload, error) {
	if err := l.begin(ctx, "create", name); err != nil {
		return nil, err
	}
	if mode < backend.WriteReplace || mode > backend.WriteAt || (mode == backend.WriteAt && offset < 0) {
		return nil, l.fail("create", name, fs.ErrInvalid)
	}
	if name == "." {
		return nil, l.fail("create", name, backend.ErrIsDir)
	}
	fi, err := l.root.Stat(name)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, l.fail("create", name, err)
	case exists && fi.IsDir():
		return nil, l.fail("create", name, backend.ErrIsDir)
	case exists && !fi.Mode().IsRegular():
		return nil, l.fail("create", name, errSpecial)
	}
	u := &upload{fs: l, ctx: ctx, name: name, mode: mode, created: !exists}
	u.wb = l.durability.syncs() && earlyWriteback && haveWriteback
	switch mode {
	case backend.WriteReplace, backend.WriteExclusive:
		if mode == backend.WriteExclusive && exists {
			return nil, l.fail("create", name, fs.ErrExist)
		}
		if u.f, err = l.openUnnamed(path.Dir(name)); u.f != nil {
			u.anon = true
		} else if err == nil {
			u.tmp = path.Join(path.Dir(name), uploadPrefix+rand.Text())
			u.f, err = l.root.OpenFile(u.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		}
	case backend.WriteAppend:
		u.f, err = l.root.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	case backend.WriteAt:
		if (exists && offset > fi.Size()) || (!exists && offset > 0) {
			return nil, fmt.Errorf("create %s: offset %d beyond the end: %w", name, offset, fs.ErrInvalid)
		}
		u.offset = offset
		u.f, err = l.root.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	}
	if err != nil {
		return nil, l.fail("create", name, err)
	}
	if mode == backend.WriteAppend || mode == backend.WriteAt {
		if err := u.checkInPlace(); err != nil {
			u.f.Close()
			return nil, l.fail("create", name, err)
		}
	}
	return u, nil
}

// upload is one upload. The mutex serialises Write with a Commit or Abort
// from another goroutine.
type upload struct {
	fs   *FS
	ctx  context.Context
	name string
	tmp  string // WriteReplace, WriteExclusive: the temporary file, if named
	// anon: the upload's file has no name yet (O_TMPFILE, see
	// unnamed.go); Commit links it under its name. Guarded by mu.
	anon   bool
	mode   backend.WriteMode
	offset int64 // WriteAt
	// created: no file had the name at Create, so a WriteAppend or
	// WriteAt upload adds a directory entry that must be synced too.
	created bool

	mu        sync.Mutex
	f         *os.File // guarded by mu
	written   int64    // guarded by mu
	done      bool     // guarded by mu
	wb        bool     // early writeback on; guarded by mu
	base      int64    // file offset where the upload began; guarded by mu
	submitted int64    // bytes after base handed to writeback; guarded by mu
	wbErr     error    // the error that ended writeback; guarded by mu
}

// checkInPlace re-checks, on the open file, what Create checked by name:
// a regular file at least offset bytes long (it may have changed in
// between), and positions a WriteAt upload.
func (u *upload) checkInPlace() error {
	if err := checkRegular(u.f); err != nil {
		return err
	}
	fi, err := u.f.Stat()
	if err != nil {
		return err
	}
	if u.mode != backend.WriteAt {
		// Only a hint for early writeback: a concurrent appender can move
		// the end, and Commit's fsync covers the whole file anyway.
		u.base = fi.Size()
		return nil
	}
	if u.offset > fi.Size() {
		return fmt.Errorf("offset %d beyond the end: %w", u.offset, fs.ErrInvalid)
	}
	u.base = u.offset
	_, err = u.f.Seek(u.offset, io.SeekStart)
	return err
}

// Write implements io.Writer. It fails once the upload's context is
// cancelled.
func (u *upload) Write(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, fmt.Errorf("write %s: %w", u.name, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return 0, fmt.Errorf("write %s: %w", u.name, fs.ErrClosed)
	}
	n, err := u.f.Write(p)
	u.written += int64(n)
	if err == nil {
		err = u.writeback()
	}
	if err != nil {
		return n, u.fs.fail("write", u.name, err)
	}
	return n, nil
}

// Commit implements backend.Upload. With a cancelled context it aborts
// instead. Unless the durability is DurabilityNone, the file is fsynced
// before it gets its name and the directory after.
func (u *upload) Commit() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	if err := u.ctx.Err(); err != nil {
		u.discard()
		return fmt.Errorf("commit %s: %w", u.name, err)
	}
	// A writeback error that Write reported stays: the kernel reports it
	// once, so the fsync below would not see it again.
	err := u.wbErr
	if u.mode == backend.WriteAt {
		err = errors.Join(err, u.f.Truncate(u.offset+u.written))
	}
	// Data reaches the disk before the name points at it.
	syncs := u.fs.durability.syncs()
	if u.anon {
		return u.commitUnnamed(err, syncs)
	}
	if syncs {
		err = errors.Join(err, u.syncFile())
	}
	err = errors.Join(err, u.f.Close())
	if err != nil {
		if u.tmp != "" {
			u.fs.root.Remove(u.tmp)
		}
		return u.fs.fail("commit", u.name, err)
	}
	switch u.mode {
	case backend.WriteReplace:
		err = u.fs.root.Rename(u.tmp, u.name)
	case backend.WriteExclusive:
		err = u.linkExclusive()
	}
	if err != nil {
		u.fs.root.Remove(u.tmp)
		return u.fs.fail("commit", u.name, err)
	}
	if syncs && (u.tmp != "" || u.created) {
		// The file is complete under its name already; a failure here
		// only means the name may not survive a crash, and is reported
		// so that the client does not count on it.
		if err := u.syncDir(); err != nil {
			return u.fs.fail("commit", u.name, err)
		}
	}
	return nil
}

// linkExclusive moves the temporary file to its name only if the name is
// free. link(2) fails with EEXIST atomically; on filesystems without hard
// links it falls back to check-then-rename, where a file created at the
// name between the check and the rename is replaced.
func (u *upload) linkExclusive() error {
	root := u.fs.root
	err := root.Link(u.tmp, u.name)
	switch {
	case err == nil:
		root.Remove(u.tmp)
		return nil
	case errors.Is(err, fs.ErrExist), errors.Is(err, fs.ErrNotExist), errors.Is(err, u.fs.escape):
		return err
	}
	if _, lerr := root.Lstat(u.name); lerr == nil {
		return fs.ErrExist
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return lerr
	}
	return root.Rename(u.tmp, u.name)
}

// Abort implements backend.Upload. A temporary file is removed; data that
// WriteAppend or WriteAt already wrote stays, as the client asked.
func (u *upload) Abort() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	return u.discard()
}

// discard closes the file and removes a temporary; mu must be held.
func (u *upload) discard() error {
	err := u.f.Close()
	if u.tmp != "" {
		if rerr := u.fs.root.Remove(u.tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return u.fs.fail("abort", u.name, err)
	}
	return nil
}
