package sftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// FS is one gateway session on the SFTP server: its own SSH connection,
// redialled when it breaks, rooted at the user's home.
type FS struct {
	o        *Opener
	home     string // the home's server path, root + home
	realHome string // where the server resolves home; set by Open before use

	mu        sync.Mutex // serialises dialling
	cur       *link      // guarded by mu; nil or dead: the next call dials
	closed    bool       // guarded by mu
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// caps is what an SFTP server offers: everything but a cheap Usage.
const caps = backend.CapAppend | backend.CapResume | backend.CapChtimes | backend.CapRenameDir

// link returns the session's live connection, dialling a new one if the
// last one broke: the call that saw it break failed, this one goes on.
func (s *FS) link(ctx context.Context) (*link, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fs.ErrClosed
	}
	if s.cur != nil && !s.cur.dead() {
		return s.cur, nil
	}
	if s.cur != nil {
		s.o.log.Info("sftp reconnecting", "address", s.o.st.addr)
	}
	l, err := s.o.dial(ctx, &s.wg)
	if err != nil {
		return nil, err
	}
	s.cur = l
	return l, nil
}

// run performs fn on the session's connection under a watch (op_timeout,
// ctx) and maps its error (see watch.end).
func (s *FS) run(ctx context.Context, fn func(l *link) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, err := s.link(ctx)
	if err != nil {
		return err
	}
	return s.on(ctx, l, fn)
}

// on performs fn on a given connection (one that holds a file handle).
func (s *FS) on(ctx context.Context, l *link, fn func(l *link) error) error {
	w := l.watch(ctx, s.o.st.opTimeout)
	return w.end(fn(l))
}

// begin checks the context and the names of one operation.
func begin(ctx context.Context, op string, names ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, n := range names {
		if err := checkName(n); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

func fail(op, name string, err error) error {
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// full is the server path of a checked name.
func (s *FS) full(name string) string {
	if name == "." {
		return s.home
	}
	return path.Join(s.home, name)
}

// confine checks that the directory holding full resolves inside the
// home on the server, so a symbolic link planted on the server cannot
// lead a nested name out of it. Names directly in the home need no
// round trip.
func (s *FS) confine(c *sftp.Client, full string) error {
	dir := path.Dir(full)
	if full == s.home || dir == s.home {
		return nil
	}
	real, err := c.RealPath(dir)
	if err != nil {
		return err
	}
	if s.realHome != "/" && real != s.realHome && !strings.HasPrefix(real, s.realHome+"/") {
		return fmt.Errorf("directory resolves outside the home: %w", fs.ErrPermission)
	}
	return nil
}

// lstat describes full without following a final symbolic link, after
// confining its directory.
func (s *FS) lstat(c *sftp.Client, full string) (fs.FileInfo, error) {
	if err := s.confine(c, full); err != nil {
		return nil, err
	}
	return c.Lstat(full)
}

// errSpecial refuses symbolic links, devices, FIFOs and sockets.
var errSpecial = fmt.Errorf("not a regular file or directory: %w", fs.ErrPermission)

// plain reports whether fi is a regular file or a directory, the only
// kinds a session may use. Symbolic links are not followed: the server
// would resolve them without regard to the home.
func plain(fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() || fi.IsDir()
}

// info is the plain form sessions see: the bare name, the directory bit,
// permission bits, size and modification time from the server's
// attributes.
func info(name string, fi fs.FileInfo) fs.FileInfo {
	return backend.FileInfo{
		FName:    name,
		FSize:    fi.Size(),
		FMode:    fi.Mode() & (fs.ModeDir | fs.ModePerm),
		FModTime: fi.ModTime(),
	}
}

// Stat implements backend.FS.
func (s *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := begin(ctx, "stat", name); err != nil {
		return nil, err
	}
	var fi fs.FileInfo
	err := s.run(ctx, func(l *link) (err error) {
		fi, err = s.lstat(l.c, s.full(name))
		return err
	})
	if err != nil {
		return nil, fail("stat", name, err)
	}
	if !plain(fi) {
		return nil, fail("stat", name, errSpecial)
	}
	return info(path.Base(name), fi), nil
}

// Mkdir implements backend.FS.
func (s *FS) Mkdir(ctx context.Context, name string) error {
	if err := begin(ctx, "mkdir", name); err != nil {
		return err
	}
	if name == "." {
		return fail("mkdir", name, fs.ErrExist)
	}
	err := s.run(ctx, func(l *link) error {
		full := s.full(name)
		if err := s.confine(l.c, full); err != nil {
			return err
		}
		err := l.c.Mkdir(full)
		if err != nil && isFailure(err) { // EEXIST, ENOSPC, ...
			if _, lerr := l.c.Lstat(full); lerr == nil {
				return fmt.Errorf("%w: %w", fs.ErrExist, err)
			}
			return noSpace(l, path.Dir(full), err)
		}
		return err
	})
	if err != nil {
		return fail("mkdir", name, err)
	}
	return nil
}

// Remove implements backend.FS. A symbolic link is removed, not its
// target. The kind is checked first (SFTP's REMOVE would not say
// EISDIR); a file replaced by an empty directory in between is removed
// too.
func (s *FS) Remove(ctx context.Context, name string) error {
	if err := begin(ctx, "remove", name); err != nil {
		return err
	}
	if name == "." {
		return fail("remove", name, fs.ErrInvalid)
	}
	err := s.run(ctx, func(l *link) error {
		full := s.full(name)
		fi, err := s.lstat(l.c, full)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return backend.ErrIsDir
		}
		return l.c.Remove(full)
	})
	if err != nil {
		return fail("remove", name, err)
	}
	return nil
}

// Rmdir implements backend.FS. OpenSSH answers a generic failure for a
// directory that is not empty; on an existing directory that is taken for
// ErrNotEmpty.
func (s *FS) Rmdir(ctx context.Context, name string) error {
	if err := begin(ctx, "rmdir", name); err != nil {
		return err
	}
	if name == "." {
		return fail("rmdir", name, fs.ErrInvalid)
	}
	err := s.run(ctx, func(l *link) error {
		full := s.full(name)
		fi, err := s.lstat(l.c, full)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return backend.ErrNotDir
		}
		err = l.c.RemoveDirectory(full)
		if err != nil && isFailure(err) {
			return fmt.Errorf("%w: %w", backend.ErrNotEmpty, err)
		}
		return err
	})
	if err != nil {
		return fail("rmdir", name, err)
	}
	return nil
}

// Rename implements backend.FS with posix-rename@openssh.com, which is
// rename(2) on the server: atomic, replacing a file or an empty directory.
// Servers without it get SFTP's RENAME after removing a file in the way,
// which is not atomic.
func (s *FS) Rename(ctx context.Context, from, to string) error {
	if err := begin(ctx, "rename", from, to); err != nil {
		return err
	}
	if from == "." || to == "." {
		return fmt.Errorf("rename %s to %s: %w", from, to, fs.ErrInvalid)
	}
	err := s.run(ctx, func(l *link) error {
		return s.rename(l, s.full(from), s.full(to))
	})
	if err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return nil
}

func (s *FS) rename(l *link, from, to string) error {
	src, err := s.lstat(l.c, from)
	if err != nil {
		return err
	}
	dst, err := s.lstat(l.c, to)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	case exists && !src.IsDir() && dst.IsDir():
		return backend.ErrIsDir
	case exists && src.IsDir() && !dst.IsDir():
		return backend.ErrNotDir
	}
	if l.posixRename {
		err = l.c.PosixRename(from, to)
	} else {
		if exists && !dst.IsDir() {
			if err := l.c.Remove(to); err != nil {
				return err
			}
		}
		err = l.c.Rename(from, to)
	}
	if err != nil && isFailure(err) && exists && dst.IsDir() {
		return fmt.Errorf("%w: %w", backend.ErrNotEmpty, err)
	}
	return err
}

// Chtimes implements backend.FS. SFTP version 3 carries whole seconds
// from 1970 to 2106; the access time is kept.
func (s *FS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	if err := begin(ctx, "chtimes", name); err != nil {
		return err
	}
	if sec := mtime.Unix(); sec < 0 || sec > math.MaxUint32 {
		return fail("chtimes", name, fmt.Errorf("time %v out of range: %w", mtime, fs.ErrInvalid))
	}
	err := s.run(ctx, func(l *link) error {
		full := s.full(name)
		fi, err := s.lstat(l.c, full)
		if err != nil {
			return err
		}
		if !plain(fi) {
			return errSpecial
		}
		atime := mtime
		if st, ok := fi.Sys().(*sftp.FileStat); ok {
			atime = time.Unix(int64(st.Atime), 0)
		}
		return l.c.Chtimes(full, atime, mtime)
	})
	if err != nil {
		return fail("chtimes", name, err)
	}
	return nil
}

// Caps implements backend.FS: append, resume, Chtimes and directory
// renames; no CapUsage.
func (s *FS) Caps(string) backend.Caps { return caps }

// Usage implements backend.FS: measuring would mean walking the whole
// tree over the network, so it is unsupported.
func (s *FS) Usage(context.Context) (backend.Usage, error) {
	return backend.Usage{}, fmt.Errorf("sftp usage: %w", errors.ErrUnsupported)
}

// Close implements backend.FS: it closes the connection (transfers still
// running fail) and gives the connection slot back. Later calls return
// nil.
func (s *FS) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		l := s.cur
		s.cur = nil
		s.mu.Unlock()
		if l != nil {
			l.kill()
		}
		s.wg.Wait()
		s.o.release()
	})
	return nil
}
