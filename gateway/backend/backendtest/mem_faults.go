package backendtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// memFaults is the fault state of a MemOpener, guarded by its mutex. The
// methods below set it so that tests (the suite's failure table, the
// gateway's own tests) can make the memory backend fail as a remote
// storage would.
type memFaults struct {
	gen       uint64        // bumped by Kill and Stop: older sessions are dead
	down      bool          // Stop: the storage cannot be reached
	stall     chan struct{} // Stall: non-nil while frozen, closed on resume
	opTimeout time.Duration // how long an operation waits on a stall
	limit     int64         // SetLimit: capacity in bytes, 0 for none
	caps      backend.Caps  // SetCaps
	uploads   map[*memUpload]struct{}
}

// errDown is what sessions see while the storage is stopped or after
// their session was killed.
var errDown = fmt.Errorf("memory storage: connection lost: %w", backend.ErrUnavailable)

// errUnsupported reports a call whose capability SetCaps took away.
func errUnsupported(c backend.Caps) error {
	return fmt.Errorf("capability %#x switched off: %w", uint32(c), errors.ErrUnsupported)
}

// Kill ends every live session, as a dropped connection would: their
// operations, open readers, listings and uploads fail with an error
// wrapping backend.ErrUnavailable. Sessions opened afterwards work.
func (o *MemOpener) Kill() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.f.gen++
}

// Stop makes the storage unreachable until restart is called: Open and
// Probe fail with backend.ErrUnavailable, and live sessions die as with
// Kill. The data is kept. restart may be called more than once.
func (o *MemOpener) Stop() (restart func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.f.gen++
	o.f.down = true
	return sync.OnceFunc(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.f.down = false
	})
}

// Stall freezes the storage until resume is called: every operation
// (including Read and Write on open transfers) waits, and gives up after
// the SetOpTimeout duration with an error wrapping
// context.DeadlineExceeded, or when its context is done. resume may be
// called more than once.
func (o *MemOpener) Stall() (resume func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ch := make(chan struct{})
	o.f.stall = ch
	return sync.OnceFunc(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		close(ch)
		if o.f.stall == ch {
			o.f.stall = nil
		}
	})
}

// SetOpTimeout sets how long an operation waits while the storage is
// stalled; 0 (the default) waits for the operation's context only.
func (o *MemOpener) SetOpTimeout(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.f.opTimeout = d
}

// SetLimit caps the bytes the storage holds, counting the data of
// uploads not yet committed; a write beyond it fails with an error
// wrapping backend.ErrNoSpace. 0 (the default) means no limit.
func (o *MemOpener) SetLimit(bytes int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.f.limit = bytes
}

// SetCaps sets the capabilities sessions report; the operations of the
// others then fail with an error wrapping errors.ErrUnsupported. The
// default is backend.AllCaps.
func (o *MemOpener) SetCaps(c backend.Caps) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.f.caps = c
}

// Deny makes the storage refuse access to name, relative to home, as a
// chmod 000 would: listing or opening it, and anything below it, fails
// with an error wrapping fs.ErrPermission. Stat of name itself works.
func (o *MemOpener) Deny(home, name string) error {
	rel, err := backend.CheckHome(home)
	if err == nil {
		err = backend.CheckName(name)
	}
	if err != nil {
		return fmt.Errorf("deny: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.root
	for e := range strings.SplitSeq(backend.Join(rel, name), "/") {
		if e == "." {
			continue
		}
		c, ok := n.children[e]
		if !ok || !n.dir {
			return fmt.Errorf("deny %s in %s: no such entry", name, home)
		}
		n = c
	}
	n.denied = true
	return nil
}

// alive reports why the session cannot be used, if it cannot; the lock
// must be held.
func (m *memFS) alive() error {
	switch {
	case m.closed:
		return fs.ErrClosed
	case m.o.f.down || m.gen != m.o.f.gen:
		return errDown
	}
	return nil
}

// stallWait waits while the storage is stalled, for at most the
// operation timeout; the lock must not be held.
func (o *MemOpener) stallWait(ctx context.Context) error {
	o.mu.Lock()
	ch, d := o.f.stall, o.f.opTimeout
	o.mu.Unlock()
	if ch == nil {
		return nil
	}
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		return fmt.Errorf("memory storage did not answer within %v: %w", d, context.DeadlineExceeded)
	}
}

// checkSpace fails with backend.ErrNoSpace if the storage cannot take
// grow more bytes; the lock must be held.
func (o *MemOpener) checkSpace(grow int64) error {
	if o.f.limit <= 0 || grow <= 0 {
		return nil
	}
	used := o.root.usage().Bytes
	for u := range o.f.uploads {
		used += u.buf.size
	}
	if used+grow > o.f.limit {
		return fmt.Errorf("%d of %d bytes used, %d more do not fit: %w", used, o.f.limit, grow, backend.ErrNoSpace)
	}
	return nil
}
