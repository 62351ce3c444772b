package sftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"

	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Open implements backend.FS. The reader holds a handle on the session's
// current connection; if that connection breaks, the download fails
// (backend.ErrUnavailable) and is not resumed on a new one.
func (s *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := begin(ctx, "open", name); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fail("open", name, fs.ErrInvalid)
	}
	r := &reader{s: s, ctx: ctx, name: name}
	err := s.run(ctx, func(l *link) error {
		r.l = l
		return r.open(offset)
	})
	if err != nil {
		return nil, fail("open", name, err)
	}
	return r, nil
}

// open checks the kind (by name, then on the handle) and opens at offset.
func (r *reader) open(offset int64) error {
	c, full := r.l.c, r.s.full(r.name)
	fi, err := r.s.lstat(c, full)
	if err != nil {
		return err
	}
	if err := regular(fi); err != nil {
		return err
	}
	f, err := c.Open(full)
	if err != nil {
		return err
	}
	if fi, err = f.Stat(); err == nil {
		err = regular(fi)
	}
	if err == nil {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return err
	}
	r.f = f
	return nil
}

// regular refuses what is not a regular file.
func regular(fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return backend.ErrIsDir
	case !fi.Mode().IsRegular():
		return errSpecial
	}
	return nil
}

// reader is a download. The first Read starts a pipeline: pkg/sftp's
// concurrent WriteTo runs in its own goroutine into a pipe that Read
// drains, so up to concurrency read requests are in flight whatever the
// size of the caller's buffer. io.Copy on a fresh reader uses WriteTo,
// which runs the same copy without the pipe.
type reader struct {
	s    *FS
	l    *link
	ctx  context.Context
	name string

	mu     sync.Mutex // guards what follows; held by WriteTo and Close
	f      *sftp.File // the handle, closed by Close
	pr     *io.PipeReader
	res    chan error // the pipeline's outcome
	cancel context.CancelFunc
	closed bool
}

var (
	_ io.ReadCloser = (*reader)(nil)
	_ io.WriterTo   = (*reader)(nil)
)

// Read implements io.Reader. It fails once the context is cancelled.
func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fail("read", r.name, err)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, fail("read", r.name, fs.ErrClosed)
	}
	if r.pr == nil {
		r.start()
	}
	pr := r.pr
	r.mu.Unlock()
	n, err := pr.Read(p)
	if err != nil && err != io.EOF {
		err = fail("read", r.name, err)
	}
	return n, err
}

// start runs the pipeline; mu must be held. The pipe is closed with the
// copy's outcome (nil: io.EOF to Read), or with the context's error once
// it is cancelled.
func (r *reader) start() {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(r.ctx)
	r.pr, r.cancel = pr, cancel
	r.res = make(chan error, 1)
	stop := context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
	go func() {
		_, err := r.copyTo(ctx, pw)
		stop()
		pw.CloseWithError(err)
		r.res <- err
	}()
}

// WriteTo implements io.WriterTo. On a reader not yet read from it is
// pkg/sftp's WriteTo straight into dst.
func (r *reader) WriteTo(dst io.Writer) (int64, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fail("read", r.name, err)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, fail("read", r.name, fs.ErrClosed)
	}
	if r.pr != nil {
		r.mu.Unlock()
		return io.CopyBuffer(dst, readerOnly{r}, make([]byte, copyBuf))
	}
	defer r.mu.Unlock()
	n, err := r.copyTo(r.ctx, dst)
	if err != nil {
		err = fail("read", r.name, err)
	}
	return n, err
}

// copyTo copies the rest of the file to dst under a watch whose clock
// runs only while the server is awaited, not while dst (the gateway's
// side) is slow.
func (r *reader) copyTo(ctx context.Context, dst io.Writer) (int64, error) {
	w := r.l.watch(ctx, r.s.o.st.opTimeout)
	pw := &pausingWriter{w: w, dst: dst, ctx: ctx}
	n, err := r.f.WriteTo(pw)
	if pw.err != nil && errors.Is(err, pw.err) {
		w.end(nil)
		return n, pw.err // the gateway's side failed or gave up
	}
	return n, w.end(err)
}

// pausingWriter pauses the watch while it writes to the gateway's side,
// and stops the download once the context is cancelled.
type pausingWriter struct {
	w   *watch
	dst io.Writer
	ctx context.Context
	err error // the first error of dst or ctx; used by one goroutine
}

func (p *pausingWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		p.err = err
		return 0, err
	}
	p.w.pause()
	n, err := p.dst.Write(b)
	p.w.resume()
	if err != nil {
		p.err = err
	}
	return n, err
}

// Close implements io.Closer: it stops a pipeline and closes the handle
// on the server unless the connection is gone (then there is nothing to
// close). Failures to close a read handle are not reported: the data was
// read.
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.pr != nil {
		r.pr.CloseWithError(fs.ErrClosed)
		r.cancel()
		<-r.res
	}
	if r.l.dead() {
		return nil
	}
	w := r.l.watch(r.ctx, r.s.o.st.opTimeout)
	if err := w.end(r.f.Close()); err != nil && r.ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
		r.s.o.log.Debug("sftp close of a read handle failed", "error", err)
	}
	return nil
}
