package ftp

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

const (
	// spareLinger is how long a session keeps an idle connection beyond
	// its first (opened for concurrent calls) before it quits it.
	spareLinger = 2 * time.Second
	// tick is the maintenance interval at most: keepalives and spares.
	tick = time.Second
)

// FS is one session's view of the upstream, rooted at the user's home.
// It holds one control connection, opened at Open and closed at Close; a
// call made while that connection is busy (a transfer in progress) opens
// another, which is quit after spareLinger idle. Every connection counts
// against max_connections.
type FS struct {
	o    *Opener
	cred *backend.Credentials
	home string // absolute path of the home on the upstream
	caps backend.Caps

	mu     sync.Mutex
	idle   []*link // guarded by mu: links no call holds, oldest first
	closed bool    // guarded by mu
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newFS(o *Opener, cred *backend.Credentials, home string, l *link) *FS {
	return &FS{o: o, cred: cred, home: home, stop: make(chan struct{})}
}

// start parks the first link and starts the maintenance goroutine.
func (s *FS) start(l *link) {
	s.put(l)
	s.wg.Go(s.maintain)
}

// get returns an idle link that is still alive, or a new one. An idle
// link the upstream closed (idle timeout, restart) is dropped here, so
// the call goes on a fresh connection.
func (s *FS) get(ctx context.Context) (*link, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, fmt.Errorf("session closed: %w", fs.ErrClosed)
		}
		var l *link
		if n := len(s.idle); n > 0 {
			l, s.idle = s.idle[n-1], s.idle[:n-1]
		}
		s.mu.Unlock()
		if l == nil {
			break
		}
		if l.alive() {
			return l, nil
		}
		s.o.log.Debug("upstream closed an idle connection; reconnecting")
		l.kill()
	}
	return s.o.dial(ctx, s.cred)
}

// put gives l back: parked for the next call, or closed when it broke or
// the session is closed.
func (s *FS) put(l *link) {
	if l.dead.Load() {
		l.kill()
		return
	}
	l.idle = time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.quit()
		return
	}
	s.idle = append(s.idle, l)
	s.mu.Unlock()
}

// do runs f on a link, bound to ctx, and classifies its error.
func (s *FS) do(ctx context.Context, f func(l *link) error) error {
	l, err := s.get(ctx)
	if err != nil {
		return err
	}
	end := l.c.Bind(ctx)
	err = l.classify(ctx, f(l))
	end()
	s.put(l)
	return err
}

// maintain sends NOOP on idle links every keepalive and quits spare
// links after spareLinger, until Close.
func (s *FS) maintain() {
	every := tick
	if k := s.o.st.keepalive; k > 0 && k < every {
		every = k
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.tidy()
		}
	}
}

// tidy quits spares idle too long and refreshes links idle for
// keepalive.
func (s *FS) tidy() {
	now := time.Now()
	var spare, stale []*link
	s.mu.Lock()
	keep := s.idle[:0]
	for i, l := range s.idle {
		switch idle := now.Sub(l.idle); {
		case i < len(s.idle)-1 && idle > spareLinger:
			spare = append(spare, l)
		case s.o.st.keepalive > 0 && idle >= s.o.st.keepalive:
			stale = append(stale, l)
		default:
			keep = append(keep, l)
		}
	}
	s.idle = keep
	s.mu.Unlock()
	for _, l := range spare {
		l.quit()
	}
	for _, l := range stale {
		s.keepalive(l)
	}
}

// keepalive sends NOOP on an idle link and parks it again; a link that
// fails it is dropped (the next call reconnects).
func (s *FS) keepalive(l *link) {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.st.opTimeout)
	defer cancel()
	if !l.alive() {
		l.kill()
		return
	}
	end := l.c.Bind(ctx)
	_, err := l.expect(200, "NOOP", "")
	end()
	if err != nil {
		s.o.log.Debug("keepalive failed; the next call reconnects", "error", err)
		l.kill()
		return
	}
	s.put(l)
}

// Close implements backend.FS: it quits the idle links; one held by an
// open reader or upload is quit when that ends.
func (s *FS) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	for _, l := range idle {
		l.quit()
	}
	return nil
}
