package ftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// Open implements backend.FS: RETR, after REST when offset > 0. The end
// of the data is only taken for the end of the file once the upstream
// confirms the transfer (226): a connection cut midway is an error, never
// a short file.
func (s *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := begin(ctx, name); err != nil {
		return nil, fail("open", name, err)
	}
	switch {
	case offset < 0:
		return nil, fail("open", name, fmt.Errorf("negative offset: %w", fs.ErrInvalid))
	case name == ".":
		return nil, fail("open", name, backend.ErrIsDir)
	}
	l, err := s.get(ctx)
	if err != nil {
		return nil, fail("open", name, err)
	}
	end := l.c.Bind(ctx)
	p := s.abs(name)
	d, err := l.transfer("RETR", p, offset)
	if err != nil {
		err = explain(err, func() (error, error) {
			_, st, err := l.look(p, s.home)
			return byState(st), err
		})
		err = l.classify(ctx, err)
		end()
		s.put(l)
		return nil, fail("open", name, err)
	}
	return backend.ReadAhead(&reader{s: s, l: l, d: d, ctx: ctx, end: end, name: name}), nil
}

// reader is an open download, read ahead (backend.ReadAhead). Read is
// used by one goroutine; Close may come from another and cuts a blocked
// Read short.
type reader struct {
	s    *FS
	l    *link
	d    *ftpclient.Data
	ctx  context.Context
	end  func()
	name string

	mu       sync.Mutex
	err      error // guarded by mu: sticky; io.EOF at the end
	released bool  // guarded by mu: the link is given back
}

// Read implements io.Reader.
func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := r.d.Read(p)
	if err == nil {
		return n, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil { // closed meanwhile
		return n, r.err
	}
	if errors.Is(err, io.EOF) {
		err = r.l.finish(r.d)
	}
	if err != nil {
		r.err = fail("read", r.name, r.l.classify(r.ctx, err))
	} else {
		r.err = io.EOF
	}
	r.release()
	return n, r.err
}

// release gives the link back; mu must be held.
func (r *reader) release() {
	if !r.released {
		r.released = true
		r.end()
		r.s.put(r.l)
	}
}

// Close implements io.Closer: before the end, the transfer is abandoned
// (data connection closed, the upstream's 426 read).
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = fail("read", r.name, fs.ErrClosed)
		r.l.abandon(r.d)
	}
	r.release()
	return nil
}

// fetch reads the file p whole (at most limit bytes), for probes.
func (l *link) fetch(p string, limit int64) ([]byte, error) {
	d, err := l.transfer("RETR", p, 0)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, io.LimitReader(d, limit))
	if err != nil {
		l.kill()
		return nil, err
	}
	return buf.Bytes(), l.finish(d)
}

// store writes data to p (from offset, by REST, when offset > 0), for
// probes.
func (l *link) store(p string, data []byte, offset int64) error {
	d, err := l.transfer("STOR", p, offset)
	if err != nil {
		return err
	}
	if _, err := d.Write(data); err != nil {
		l.kill()
		return err
	}
	return l.finish(d)
}
