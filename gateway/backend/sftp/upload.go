package sftp

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

	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// errAborted ends an upload's pipeline on Abort.
var errAborted = errors.New("upload aborted")

// copyBuf is the buffer ReadFrom reads the gateway's data into.
const copyBuf = 256 << 10

// Create implements backend.FS; see the package doc for how each mode
// writes.
func (s *FS) Create(ctx context.Context, name string, mode backend.WriteMode, offset int64) (backend.Upload, error) {
	if err := begin(ctx, "create", name); err != nil {
		return nil, err
	}
	if mode < backend.WriteReplace || mode > backend.WriteAt || (mode == backend.WriteAt && offset < 0) {
		return nil, fail("create", name, fs.ErrInvalid)
	}
	if name == "." {
		return nil, fail("create", name, backend.ErrIsDir)
	}
	u := &upload{s: s, ctx: ctx, name: name, full: s.full(name), mode: mode, offset: offset}
	err := s.run(ctx, func(l *link) error {
		u.l = l
		return u.open()
	})
	if err != nil {
		return nil, fail("create", name, err)
	}
	return u, nil
}

// open checks the target and opens the file the upload writes: a new
// temporary file in the target's directory, or the target itself.
func (u *upload) open() error {
	c := u.l.c
	fi, err := u.s.lstat(c, u.full)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	case exists && fi.IsDir():
		return backend.ErrIsDir
	case exists && !fi.Mode().IsRegular():
		return errSpecial
	}
	switch u.mode {
	case backend.WriteReplace, backend.WriteExclusive:
		if u.mode == backend.WriteExclusive && exists {
			return fs.ErrExist
		}
		u.tmp = path.Join(path.Dir(u.full), uploadPrefix+rand.Text())
		u.f, err = c.OpenFile(u.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		return noSpace(u.l, path.Dir(u.full), err)
	case backend.WriteAt:
		if (exists && u.offset > fi.Size()) || (!exists && u.offset > 0) {
			return fmt.Errorf("offset %d beyond the end: %w", u.offset, fs.ErrInvalid)
		}
	}
	// In place (append, at): no O_APPEND; the offset is explicit, so
	// pipelined writes land where they belong on any server.
	u.f, err = c.OpenFile(u.full, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return noSpace(u.l, path.Dir(u.full), err)
	}
	if err := u.position(); err != nil {
		u.f.Close()
		u.f = nil
		return err
	}
	return nil
}

// position re-checks the open file (it may have changed since the lstat)
// and sets the offset: the end for append, the requested one for at.
func (u *upload) position() error {
	fi, err := u.f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errSpecial
	}
	switch {
	case u.mode == backend.WriteAppend:
		u.offset = fi.Size()
	case u.offset > fi.Size():
		return fmt.Errorf("offset %d beyond the end: %w", u.offset, fs.ErrInvalid)
	}
	_, err = u.f.Seek(u.offset, io.SeekStart)
	return err
}

// upload is one upload. Writes feed a pipe whose other end is pkg/sftp's
// concurrent ReadFrom, running in its own goroutine from the first
// Write to Commit or Abort, so up to concurrency write requests are in
// flight however the gateway slices its writes.
type upload struct {
	s      *FS
	l      *link // the connection holding the handle
	ctx    context.Context
	name   string
	full   string // the target's server path
	mode   backend.WriteMode
	offset int64 // where writing starts (append: the old size)

	mu     sync.Mutex // serialises Commit and Abort; guards what follows
	f      *sftp.File // nil once closed
	tmp    string     // WriteReplace, WriteExclusive: the temporary file until published
	done   bool       // Commit or Abort ran
	pw     *io.PipeWriter
	res    chan result // the pipeline's outcome
	cancel context.CancelFunc
}

// result is what the pipeline goroutine reports.
type result struct {
	n   int64
	err error
}

var (
	_ backend.Upload = (*upload)(nil)
	_ io.ReaderFrom  = (*upload)(nil)
)

// Write implements io.Writer. It returns once the pipeline has taken p,
// before the server acknowledges it; a server error shows at a later
// Write or at Commit.
func (u *upload) Write(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, fail("write", u.name, err)
	}
	u.mu.Lock()
	if u.done {
		u.mu.Unlock()
		return 0, fail("write", u.name, fs.ErrClosed)
	}
	if u.pw == nil {
		u.start()
	}
	pw := u.pw
	u.mu.Unlock()
	n, err := pw.Write(p)
	if err != nil {
		return n, fail("write", u.name, err)
	}
	return n, nil
}

// ReadFrom implements io.ReaderFrom, so io.Copy fills the pipeline in
// large pieces.
func (u *upload) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, copyBuf)
	return io.CopyBuffer(writerOnly{u}, readerOnly{r}, buf)
}

type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

// start runs the pipeline; mu must be held.
func (u *upload) start() {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(u.ctx)
	u.pw, u.cancel = pw, cancel
	u.res = make(chan result, 1)
	w := u.l.watch(ctx, u.s.o.st.opTimeout)
	src := &pausingReader{w: w, r: pr}
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
	go func() {
		n, err := u.f.ReadFromWithConcurrency(src, u.s.o.st.concurrency)
		if src.err != nil && errors.Is(err, src.err) {
			w.end(nil)
			err = src.err // cancelled or aborted on the gateway's side
		} else {
			err = w.end(noSpace(u.l, path.Dir(u.full), err))
		}
		stop()
		pr.CloseWithError(errOr(err, errAborted))
		u.res <- result{n, err}
	}()
}

// errOr returns err, or alt when err is nil.
func errOr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// pausingReader pauses the watch while the pipeline waits for the
// gateway's data, so op_timeout measures only waits on the server.
type pausingReader struct {
	w   *watch
	r   io.Reader
	err error // the reader's first error other than io.EOF
}

func (p *pausingReader) Read(b []byte) (int, error) {
	p.w.pause()
	n, err := p.r.Read(b)
	p.w.resume()
	if err != nil && err != io.EOF && p.err == nil {
		p.err = err
	}
	return n, err
}

// finish ends the pipeline (abort: with errAborted) and returns the bytes
// it wrote; mu must be held.
func (u *upload) finish(abort bool) (int64, error) {
	if u.pw == nil {
		return 0, nil
	}
	if abort {
		u.pw.CloseWithError(errAborted)
		u.cancel()
	} else {
		u.pw.Close()
	}
	r := <-u.res
	u.cancel()
	return r.n, r.err
}

// Commit implements backend.Upload: the remaining data is written and
// acknowledged, a WriteAt upload truncated to offset+written, the file
// fsynced (fsync@openssh.com, when offered) and closed, and a temporary
// file renamed onto the target (replacing it, or only if the name is free
// for WriteExclusive). Any failure removes the temporary file and leaves
// the target as it was.
func (u *upload) Commit() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	n, err := u.finish(false)
	if err == nil {
		err = u.ctx.Err()
	}
	if err == nil {
		err = u.s.on(u.ctx, u.l, func(l *link) error { return u.publish(n) })
	}
	if err != nil {
		u.discard()
		return fail("commit", u.name, err)
	}
	return nil
}

// publish makes the written data the target's; mu must be held.
func (u *upload) publish(written int64) error {
	dir := path.Dir(u.full)
	if u.mode == backend.WriteAt {
		if err := u.f.Truncate(u.offset + written); err != nil {
			return err
		}
	}
	if u.l.fsync {
		if err := u.f.Sync(); err != nil {
			return noSpace(u.l, dir, err)
		}
	}
	err := u.f.Close()
	u.f = nil
	if err != nil {
		return noSpace(u.l, dir, err)
	}
	switch u.mode {
	case backend.WriteReplace:
		err = u.replace()
	case backend.WriteExclusive:
		err = u.exclusive()
	}
	if err == nil {
		u.tmp = ""
	}
	return err
}

// replace renames the temporary file over the target.
func (u *upload) replace() error {
	c := u.l.c
	if u.l.posixRename {
		return c.PosixRename(u.tmp, u.full)
	}
	// SFTP's RENAME refuses an existing target: not atomic without the
	// extension.
	if err := c.Remove(u.full); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return c.Rename(u.tmp, u.full)
}

// exclusive renames the temporary file to the target only if the name is
// free. SFTP's RENAME must fail on an existing target (OpenSSH implements
// it with link(2), which is atomic); the lstat first also catches
// servers that replace.
func (u *upload) exclusive() error {
	c := u.l.c
	if _, err := c.Lstat(u.full); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	err := c.Rename(u.tmp, u.full)
	if err != nil && isFailure(err) {
		if _, lerr := c.Lstat(u.full); lerr == nil {
			return fmt.Errorf("%w: %w", fs.ErrExist, err)
		}
	}
	return err
}

// Abort implements backend.Upload. A temporary file is removed (on a new
// connection if the upload's broke); data that WriteAppend or WriteAt
// already wrote stays, as the client asked.
func (u *upload) Abort() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	u.finish(true)
	if err := u.discard(); err != nil {
		return fail("abort", u.name, err)
	}
	return nil
}

// discard closes the handle and removes a temporary file, best effort;
// mu must be held.
func (u *upload) discard() error {
	if u.f != nil && !u.l.dead() {
		f := u.f
		u.s.on(u.ctx, u.l, func(*link) error { return f.Close() })
	}
	u.f = nil
	if u.tmp == "" {
		return nil
	}
	tmp := u.tmp
	u.tmp = ""
	// The context may be cancelled: removing the temporary file must
	// still happen, bounded by op_timeout.
	err := u.s.run(context.WithoutCancel(u.ctx), func(l *link) error { return l.c.Remove(tmp) })
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		u.s.o.log.Warn("sftp upload temporary file not removed", "file", tmp, "error", err)
		return err
	}
	return nil
}
