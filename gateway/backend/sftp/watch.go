package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// cancelGrace is how long a request may still run after its context is
// cancelled before the link is closed under it. A healthy server answers
// long before; a stalled one would otherwise hold the caller until
// op_timeout.
const cancelGrace = time.Second

// watch bounds the requests of one operation on a link: if the server
// does not answer within the timeout (or within cancelGrace of ctx being
// cancelled), the link is killed, which makes the requests fail at once.
// pkg/sftp's calls take no context; this is how they honour one.
//
// A long transfer pauses the watch while it waits on the gateway's side
// (the FTP client) and resumes it when it needs the server again, so the
// timeout measures server stalls, not the whole transfer.
type watch struct {
	l   *link
	d   time.Duration
	ctx context.Context

	mu        sync.Mutex
	t         *time.Timer // guarded by mu (Reset and Stop)
	deadline  time.Time   // guarded by mu: when t is due; earlier firings are stale
	paused    bool        // guarded by mu
	ended     bool        // guarded by mu
	cancelled bool        // guarded by mu
	fired     error       // guarded by mu: why the watch killed the link
	stopCtx   func() bool
}

// watch starts a watch of d on l for ctx.
func (l *link) watch(ctx context.Context, d time.Duration) *watch {
	w := &watch{l: l, d: d, ctx: ctx}
	w.mu.Lock()
	w.deadline = time.Now().Add(d)
	w.t = time.AfterFunc(d, w.fire)
	w.mu.Unlock()
	w.stopCtx = context.AfterFunc(ctx, w.onCancel)
	return w
}

func (w *watch) fire() {
	w.mu.Lock()
	if w.ended || w.paused || w.fired != nil || time.Now().Before(w.deadline) {
		w.mu.Unlock()
		return
	}
	w.fired = errOpTimeout
	if w.cancelled {
		w.fired = w.ctx.Err()
	}
	w.mu.Unlock()
	w.l.kill()
}

func (w *watch) onCancel() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancelled = true
	if !w.ended && !w.paused {
		w.arm(cancelGrace)
	}
}

// arm (re)starts the timer; mu must be held.
func (w *watch) arm(d time.Duration) {
	w.deadline = time.Now().Add(d)
	w.t.Reset(d)
}

// pause stops the clock while the operation waits on the gateway's side.
func (w *watch) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = true
	w.t.Stop()
}

// resume restarts the clock with a full timeout (cancelGrace once
// cancelled): progress was made.
func (w *watch) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = false
	if w.ended {
		return
	}
	if w.cancelled {
		w.arm(cancelGrace)
		return
	}
	w.arm(w.d)
}

// end stops the watch and turns the operation's error into the backend's
// terms: a timeout wraps context.DeadlineExceeded, a cancellation the
// context's error, a broken connection backend.ErrUnavailable (and the
// link is killed so the next call redials), a server status the io/fs or
// backend sentinel (see mapStatus). io.EOF passes unchanged.
func (w *watch) end(err error) error {
	w.mu.Lock()
	w.ended = true
	w.t.Stop()
	fired := w.fired
	w.mu.Unlock()
	w.stopCtx()
	switch {
	case errors.Is(fired, errOpTimeout):
		return fmt.Errorf("%w: no answer within %v, connection closed: %w", context.DeadlineExceeded, w.d, errOpTimeout)
	case fired != nil:
		return fired
	case err == nil || err == io.EOF:
		return err
	}
	if transport(err, w.l) {
		w.l.kill()
		err = fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
	} else {
		err = mapErr(err)
	}
	if cerr := w.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// transport reports whether err means the connection is broken rather
// than that the server refused the request.
func transport(err error, l *link) bool {
	var se *sftp.StatusError
	switch {
	case l.dead():
		return true
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, sftp.ErrSSHFxNoConnection):
		return true
	case errors.As(err, &se), err == io.EOF:
		return false
	}
	for _, s := range refusals {
		if errors.Is(err, s) {
			return false
		}
	}
	return true
}

// refusals are the errors that mean the server answered (or this package
// decided): the connection is fine.
var refusals = []error{
	fs.ErrNotExist, fs.ErrPermission, fs.ErrClosed, fs.ErrExist, fs.ErrInvalid,
	backend.ErrNotDir, backend.ErrIsDir, backend.ErrNotEmpty, backend.ErrNoSpace,
	errors.ErrUnsupported, context.Canceled, context.DeadlineExceeded,
}
