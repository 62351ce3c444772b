package ftp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// Create implements backend.FS; see the package doc for how each mode
// writes.
func (s *FS) Create(ctx context.Context, name string, mode backend.WriteMode, offset int64) (backend.Upload, error) {
	if err := begin(ctx, name); err != nil {
		return nil, fail("create", name, err)
	}
	switch {
	case mode < backend.WriteReplace || mode > backend.WriteAt || mode == backend.WriteAt && offset < 0:
		return nil, fail("create", name, fs.ErrInvalid)
	case name == ".":
		return nil, fail("create", name, backend.ErrIsDir)
	case mode == backend.WriteAt && !s.caps.Has(backend.CapResume):
		return nil, fail("create", name, fmt.Errorf("upstream cannot resume uploads: %w", errors.ErrUnsupported))
	}
	l, err := s.get(ctx)
	if err != nil {
		return nil, fail("create", name, err)
	}
	u := &upload{s: s, l: l, ctx: ctx, end: l.c.Bind(ctx), name: name, target: s.abs(name), mode: mode, verb: "STOR"}
	if err := u.open(offset); err != nil {
		err = l.classify(ctx, err)
		u.end()
		s.put(l)
		return nil, fail("create", name, err)
	}
	return u, nil
}

// upload is one upload: a STOR (or APPE) in progress on the link it
// holds. Write is used by one goroutine; Abort may come from another and
// cuts a blocked Write short.
type upload struct {
	s      *FS
	l      *link
	ctx    context.Context
	end    func()
	name   string
	target string // the target's upstream path
	mode   backend.WriteMode
	verb   string // STOR or APPE
	tmp    string // WriteReplace, WriteExclusive: the temporary file

	mu   sync.Mutex // serialises Commit and Abort; guards what follows
	d    *ftpclient.Data
	err  error // a failed Write: Commit returns it
	done bool  // Commit or Abort ran
}

var _ backend.Upload = (*upload)(nil)

// open checks the target as the mode needs and starts the transfer.
func (u *upload) open(offset int64) error {
	l, home := u.l, u.s.home
	dst, off := u.target, int64(0)
	switch u.mode {
	case backend.WriteExclusive, backend.WriteReplace:
		if u.mode == backend.WriteExclusive {
			if _, st, err := l.look(u.target, home); err != nil || st != stMissing && st != stDenied {
				return errOr(err, fs.ErrExist)
			}
		}
		u.tmp = path.Join(path.Dir(u.target), uploadPrefix+rand.Text())
		dst = u.tmp
	case backend.WriteAppend:
		u.verb = "APPE"
	case backend.WriteAt:
		size, err := l.sizeOf(u.target, home)
		if err != nil {
			return err
		}
		if offset > max(size, 0) {
			return fmt.Errorf("offset %d beyond the end: %w", offset, fs.ErrInvalid)
		}
		off = offset
	}
	d, err := l.transfer(u.verb, dst, off)
	if err != nil {
		return explain(err, func() (error, error) {
			if problem, err := l.dirProblem(path.Dir(u.target), home); problem != nil || err != nil {
				return problem, err
			}
			_, st, err := l.look(u.target, home)
			if st == stDir {
				return backend.ErrIsDir, err
			}
			return nil, err
		})
	}
	u.d = d
	return nil
}

// errOr returns err, or alt when err is nil.
func errOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// sizeOf returns the size of the file p, -1 when it is missing.
func (l *link) sizeOf(p, floor string) (int64, error) {
	msg, err := l.expect(213, "SIZE", p)
	if err == nil {
		return ftpclient.ParseSize(msg)
	}
	var missing bool
	err = explain(err, func() (error, error) {
		_, st, err := l.look(p, floor)
		missing = st == stMissing
		return byState(st), err
	})
	if missing {
		return -1, nil
	}
	return 0, err
}

// Write implements io.Writer: straight onto the data connection.
func (u *upload) Write(p []byte) (int, error) {
	u.mu.Lock()
	if u.done || u.err != nil {
		err := errOr(u.err, fs.ErrClosed)
		u.mu.Unlock()
		return 0, fail("write", u.name, err)
	}
	d := u.d
	u.mu.Unlock()
	n, err := d.Write(p)
	if err == nil {
		return n, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return n, fail("write", u.name, fs.ErrClosed)
	}
	u.err = fail("write", u.name, u.writeFailed(err))
	return n, u.err
}

// writeFailed explains a failed write: the upstream may have cut the data
// connection on purpose (quota: 552, a full disk), and says so on the
// control connection. mu must be held.
func (u *upload) writeFailed(err error) error {
	if u.ctx.Err() == nil && !u.l.dead.Load() {
		rep, rerr := u.d.Abort()
		if rerr == nil && rep.Class() != 2 {
			err = newReplyError(u.verb, rep.Code, rep.Message())
		}
	}
	return u.l.classify(u.ctx, err)
}

// Commit implements backend.Upload: the upstream confirms the data (226),
// then, for replace and exclusive, the temporary file is renamed over the
// target (exclusive: after checking that the target is still missing).
// On any failure the temporary file is removed.
func (u *upload) Commit() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	err := u.err
	if err == nil {
		err = u.l.finish(u.d)
		if err == nil && u.tmp != "" {
			err = u.publish()
		}
		err = fail("commit", u.name, u.l.classify(u.ctx, err))
	}
	u.release()
	if err != nil {
		u.cleanup()
	}
	return err
}

// publish renames the temporary file onto the target.
func (u *upload) publish() error {
	if u.mode == backend.WriteExclusive {
		if _, st, err := u.l.look(u.target, u.s.home); err != nil || st != stMissing && st != stDenied {
			return errOr(err, fs.ErrExist)
		}
	}
	if err := u.l.rename(u.tmp, u.target, u.s.home); err != nil {
		return err
	}
	u.tmp = ""
	return nil
}

// Abort implements backend.Upload: the transfer is abandoned and the
// temporary file removed; the target is untouched (replace, exclusive).
func (u *upload) Abort() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	if u.err == nil {
		u.l.abandon(u.d)
	}
	u.release()
	u.cleanup()
	return nil
}

// release gives the link back; mu must be held.
func (u *upload) release() {
	u.end()
	u.s.put(u.l)
}

// cleanup removes the temporary file, on any working link of the session
// (a new one if the upload's broke), even after the upload's context
// ended.
func (u *upload) cleanup() {
	if u.tmp == "" {
		return
	}
	tmp := u.tmp
	u.tmp = ""
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), u.s.o.st.opTimeout)
	defer cancel()
	err := u.s.do(ctx, func(l *link) error {
		c, msg, err := l.cmd("DELE", tmp)
		if err == nil && c/100 != 2 && c != 550 {
			err = newReplyError("DELE", c, msg)
		}
		return err
	})
	if err != nil {
		u.s.o.log.Warn("could not remove an upload's temporary file", "file", tmp, "error", err)
	}
}
