package tlsmgr

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Bounds of the session registry. A ticket minted on a control connection
// (before its session logged in) names its session only; the registry says
// who that session turned out to be. Sessions are kept while open and, if
// they logged in, for closedRetention after they close, but never more than
// maxClosed closed sessions (the oldest go first). Sessions that never
// logged in are forgotten at close: their tickets bind to no one. Tickets
// minted after login carry the user and address themselves and need no
// record.
const (
	closedRetention = 24 * time.Hour
	maxClosed       = 16384
	// bindWait is how long a data handshake that offers the control ticket
	// of a sibling session still logging in waits for that login (parallel
	// clients share one ticket cache, so the sibling's ticket can arrive
	// before the sibling's PASS has been answered). As long as the
	// gateway's data handshake limit: on a CPU-starved machine, four
	// argon2id logins at once took 10 s, and 5 s refused curl -Z's
	// rightful data connections (binding other_session).
	bindWait = 10 * time.Second
)

// record is what the registry knows about one FTP session. Fields after
// ready are guarded by registry.mu.
type record struct {
	ready chan struct{} // closed at the first Bind or at close

	user     string // "" until the session logs in
	addr     netip.Addr
	closed   bool
	closedAt time.Time
}

// registry maps session tokens to records. It is safe for concurrent use.
type registry struct {
	now func() time.Time

	mu     sync.Mutex
	byTok  map[token]*record
	closed []closedTok // close order, oldest first; guarded by mu
}

type closedTok struct {
	tok token
	at  time.Time
}

func newRegistry(now func() time.Time) *registry {
	return &registry{now: now, byTok: map[token]*record{}}
}

// open registers a new session.
func (r *registry) open(t token) *record {
	rec := &record{ready: make(chan struct{})}
	r.mu.Lock()
	r.byTok[t] = rec
	r.mu.Unlock()
	return rec
}

// bind records the session's user and client address (again after REIN).
func (r *registry) bind(rec *record, user string, addr netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec.closed {
		return
	}
	first := rec.user == ""
	rec.user, rec.addr = user, addr.Unmap()
	if first {
		close(rec.ready)
	}
}

// identity returns the user and address of rec ("" if it never logged in).
func (r *registry) identity(rec *record) (string, netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rec.user, rec.addr
}

// close marks the session closed, keeps it if it logged in, and prunes.
func (r *registry) close(t token, rec *record) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec.closed {
		return
	}
	rec.closed = true
	if rec.user == "" {
		close(rec.ready)
		delete(r.byTok, t)
	} else {
		rec.closedAt = now
		r.closed = append(r.closed, closedTok{t, now})
	}
	r.pruneLocked(now)
}

// pruneLocked forgets closed sessions past the retention or the cap.
func (r *registry) pruneLocked(now time.Time) {
	n := 0
	for n < len(r.closed) && (len(r.closed)-n > maxClosed || now.Sub(r.closed[n].at) > closedRetention) {
		delete(r.byTok, r.closed[n].tok)
		n++
	}
	if n > 0 {
		r.closed = append(r.closed[:0], r.closed[n:]...)
	}
}

// lookup returns the minting session's user and address for a ticket that
// names session t only. If that session is open and has not logged in
// yet, it waits for its login until deadline or ctx ends. known is false
// when the session is unknown (never existed here, closed without login,
// or forgotten) or has not logged in.
func (r *registry) lookup(ctx context.Context, t token, deadline time.Time) (user string, addr netip.Addr, known bool) {
	r.mu.Lock()
	rec := r.byTok[t]
	if rec != nil && !rec.closed && rec.user == "" {
		r.mu.Unlock()
		wait := time.NewTimer(time.Until(deadline))
		select {
		case <-rec.ready:
		case <-wait.C:
		case <-ctx.Done():
		}
		wait.Stop()
		r.mu.Lock()
	}
	defer r.mu.Unlock()
	if rec == nil || rec.user == "" {
		return "", netip.Addr{}, false
	}
	if rec.closed && r.now().Sub(rec.closedAt) > closedRetention {
		return "", netip.Addr{}, false
	}
	return rec.user, rec.addr, true
}

// size reports how many sessions are known (open and closed), for tests.
func (r *registry) size() (open, closed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byTok) - len(r.closed), len(r.closed)
}
