package ftp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// begin checks a call's context and name before anything reaches the
// upstream.
func begin(ctx context.Context, names ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if err := checkName(n); err != nil {
			return err
		}
	}
	return nil
}

// fail wraps an error with the operation and the name.
func fail(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ftp %s %s: %w", op, name, err)
}

// abs is name's absolute path on the upstream: only checked names are
// joined under the home, so nothing leaves it lexically.
func (s *FS) abs(name string) string { return path.Join(s.home, name) }

// Stat implements backend.FS.
func (s *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := begin(ctx, name); err != nil {
		return nil, fail("stat", name, err)
	}
	var fi fs.FileInfo
	err := s.do(ctx, func(l *link) error {
		e, st, err := l.look(s.abs(name), s.home)
		switch {
		case err != nil:
			return err
		case st == stMissing:
			return fs.ErrNotExist
		case st == stDenied:
			return fs.ErrPermission
		case e.Kind != kindFile && e.Kind != kindDir:
			return fmt.Errorf("not a file or directory: %w", fs.ErrPermission)
		}
		e.Name = path.Base(name)
		if name == "." {
			e.Name = "."
		}
		fi = info(e)
		return nil
	})
	return fi, fail("stat", name, err)
}

// Mkdir implements backend.FS.
func (s *FS) Mkdir(ctx context.Context, name string) error {
	if err := begin(ctx, name); err != nil {
		return fail("mkdir", name, err)
	}
	p := s.abs(name)
	return fail("mkdir", name, s.do(ctx, func(l *link) error {
		_, err := l.expect(257, "MKD", p)
		return explain(err, func() (error, error) {
			if _, st, err := l.look(p, s.home); err != nil || st != stMissing && st != stDenied {
				return fs.ErrExist, err
			}
			return l.dirProblem(path.Dir(p), s.home)
		})
	}))
}

// Remove implements backend.FS.
func (s *FS) Remove(ctx context.Context, name string) error {
	if err := begin(ctx, name); err != nil {
		return fail("remove", name, err)
	}
	p := s.abs(name)
	return fail("remove", name, s.do(ctx, func(l *link) error {
		_, err := l.expect(250, "DELE", p)
		return explain(err, func() (error, error) {
			_, st, err := l.look(p, s.home)
			return byState(st), err
		})
	}))
}

// Rmdir implements backend.FS. The home itself is never removed.
func (s *FS) Rmdir(ctx context.Context, name string) error {
	if err := begin(ctx, name); err != nil {
		return fail("rmdir", name, err)
	}
	if name == "." {
		return fail("rmdir", name, fmt.Errorf("the home: %w", fs.ErrPermission))
	}
	p := s.abs(name)
	return fail("rmdir", name, s.do(ctx, func(l *link) error {
		_, err := l.expect(250, "RMD", p)
		return explain(err, func() (error, error) { return l.whyNotRmdir(p, s.home) })
	}))
}

// whyNotRmdir explains a refused RMD.
func (l *link) whyNotRmdir(p, floor string) (error, error) {
	_, st, err := l.look(p, floor)
	switch {
	case err != nil:
		return nil, err
	case st == stFile:
		return backend.ErrNotDir, nil
	case st != stDir:
		return byState(st), nil
	}
	empty := true
	err = l.list(p, func(e entry) bool {
		empty = e.Name == "." || e.Name == ".." || e.Kind == kindSelf
		return empty
	})
	if err == nil && !empty {
		return backend.ErrNotEmpty, nil
	}
	return nil, err
}

// Rename implements backend.FS: RNFR and RNTO, which on a POSIX upstream
// is rename(2), atomic and replacing a file at to.
func (s *FS) Rename(ctx context.Context, from, to string) error {
	if err := begin(ctx, from, to); err != nil {
		return fail("rename", from, err)
	}
	if from == "." || to == "." {
		return fail("rename", from, fmt.Errorf("the home: %w", fs.ErrInvalid))
	}
	src, dst := s.abs(from), s.abs(to)
	return fail("rename", from, s.do(ctx, func(l *link) error {
		return l.rename(src, dst, s.home)
	}))
}

// rename runs RNFR and RNTO, explaining a refusal.
func (l *link) rename(src, dst, floor string) error {
	_, err := l.expect(350, "RNFR", src)
	if err == nil {
		_, err = l.expect(250, "RNTO", dst)
	}
	return explain(err, func() (error, error) {
		se, sst, err := l.look(src, floor)
		if err != nil || sst == stMissing || sst == stDenied {
			return byState(sst), err
		}
		if problem, err := l.dirProblem(path.Dir(dst), floor); problem != nil || err != nil {
			return problem, err
		}
		if strings.HasPrefix(dst, src+"/") {
			return fs.ErrInvalid, nil
		}
		_, dstSt, err := l.look(dst, floor)
		switch {
		case dstSt == stDir && se.Kind == kindFile:
			return backend.ErrIsDir, err
		case dstSt == stFile && se.Kind == kindDir:
			return fs.ErrExist, err
		}
		return nil, err
	})
}

// Chtimes implements backend.FS by MFMT, where FEAT offers it.
func (s *FS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	if err := begin(ctx, name); err != nil {
		return fail("chtimes", name, err)
	}
	if !s.caps.Has(backend.CapChtimes) {
		return fail("chtimes", name, fmt.Errorf("upstream has no MFMT: %w", errors.ErrUnsupported))
	}
	p := s.abs(name)
	return fail("chtimes", name, s.do(ctx, func(l *link) error {
		_, err := l.expect(213, "MFMT", mtime.UTC().Format("20060102150405")+" "+p)
		return explain(err, func() (error, error) {
			_, st, err := l.look(p, s.home)
			if st == stDir {
				return nil, err
			}
			return byState(st), err
		})
	}))
}

// Caps implements backend.FS, from the upstream's FEAT: append and
// directory renames always; MFMT gives CapChtimes; REST STREAM gives
// CapResume when the upstream also truncates after REST+STOR, which the
// first session measures (vsftpd does not; pure-ftpd does).
func (s *FS) Caps(string) backend.Caps { return s.caps }

// learnCaps works out the capabilities on the session's first link.
func (s *FS) learnCaps(ctx context.Context, l *link) backend.Caps {
	caps := backend.CapAppend | backend.CapRenameDir
	if l.feat.Has("MFMT") {
		caps |= backend.CapChtimes
	}
	if l.feat.RestStream() && l.feat.Has("SIZE") && s.o.resumeTruncates(ctx, l, s.home) {
		caps |= backend.CapResume
	}
	return caps
}

// resumeTruncates reports whether REST+STOR leaves exactly offset+written
// bytes, measured once per Opener with a hidden file in dir: "0123", then
// "a" at offset 1 must leave "0a". A failed measurement is not kept.
func (o *Opener) resumeTruncates(ctx context.Context, l *link, dir string) bool {
	switch o.truncates.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	name := path.Join(dir, probePrefix+rand.Text())
	err := l.store(name, []byte("0123"), 0)
	if err == nil {
		err = l.store(name, []byte("a"), 1)
	}
	var size int64 = -1
	if err == nil {
		if msg, serr := l.expect(213, "SIZE", name); serr == nil {
			size, _ = ftpclient.ParseSize(msg)
		}
	}
	l.cmd("DELE", name)
	switch {
	case err != nil || size < 0:
		o.log.Debug("could not measure whether the upstream truncates on resume", "error", err)
		return false
	case size == 2:
		o.truncates.Store(1)
		return true
	}
	o.log.Info("upstream does not truncate after REST+STOR; resumed uploads (REST before STOR) are not offered")
	o.truncates.Store(2)
	return false
}

// Usage implements backend.FS: unsupported, since it would walk the
// whole tree over the network (no CapUsage).
func (s *FS) Usage(context.Context) (backend.Usage, error) {
	return backend.Usage{}, fmt.Errorf("ftp usage: %w", errors.ErrUnsupported)
}
