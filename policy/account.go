package policy

import (
	"container/list"
	"time"
)

// Per-account throttle (password spraying).
//
// The address defender cannot stop many addresses guessing one user
// name. So each user name collects a score: one point per failed login,
// from any address (exempt ones included: a trusted NAT may hide the
// sprayer), leaking away at one point per accountDecay (a leaky bucket:
// a client guessing slower than that is never throttled). Once
// the score reaches AccountFailures the name is throttled: attempts on it
// are spaced at least an interval apart, 1s at the threshold and doubling
// per further point up to AccountMaxDelay; no attempt waits longer than
// AccountMaxDelay. There is no lockout: the right password always works,
// at worst after AccountMaxDelay. Once throttled, a name admits at most
// about one attempt per AccountMaxDelay from sequential clients; parallel
// attempts beyond the queue each wait AccountMaxDelay, so their number is
// bounded by the gateway's pre-login connection caps, not here. After an
// attack stops, the throttle lifts within a few accountDecay periods.
//
// Names are counted whether or not they exist, so the delays are no
// oracle for valid user names. A success resets nothing (an attacker who
// knows one password gains nothing, and the real user's logins must not
// hand the attacker fresh free guesses). Memory is bounded: at most
// accountMaxEntries names (the least recently failed is forgotten beyond
// that, which resets its throttle: flooding 10,000 other names to clear one
// costs the attacker 10,000 failed logins, which the address defender
// counts) of at most accountMaxKey bytes each.

const (
	defDefaultAccountFailures = 5
	defDefaultAccountMaxDelay = 10 * time.Second
	accountBaseDelay          = time.Second
	accountDecay              = time.Minute
	accountMaxEntries         = 10_000
	accountMaxKey             = 256 // longer names share an entry with their prefix
)

// accountTable tracks user names; guarded by Defender.mu.
type accountTable struct {
	m   map[string]*list.Element // values *acctEntry
	lru *list.List               // front: most recently failed
	max int
}

type acctEntry struct {
	key     string
	score   int       // failures not yet forgotten
	decayAt time.Time // the next point is forgotten accountDecay after this
	next    time.Time // earliest start of the next attempt while throttled
}

func newAccountTable() accountTable {
	return accountTable{m: make(map[string]*list.Element), lru: list.New(), max: accountMaxEntries}
}

func accountKey(user string) string {
	if len(user) > accountMaxKey {
		return user[:accountMaxKey]
	}
	return user
}

// decayed returns e's score at now without changing e.
func (e *acctEntry) decayed(now time.Time) int {
	if e.score == 0 || now.Before(e.decayAt) {
		return e.score
	}
	k := now.Sub(e.decayAt) / accountDecay
	return max(e.score-int(min(k, time.Duration(e.score))), 0)
}

// decay forgets the points due by now.
func (e *acctEntry) decay(now time.Time) {
	if e.score == 0 || now.Before(e.decayAt) {
		return
	}
	k := now.Sub(e.decayAt) / accountDecay
	if k >= time.Duration(e.score) {
		e.score = 0
		return
	}
	e.score -= int(k)
	e.decayAt = e.decayAt.Add(k * accountDecay)
}

// accountSteps is how many points past the threshold reach maxDelay.
func accountSteps(maxDelay time.Duration) int {
	n := 0
	for d := accountBaseDelay; d < maxDelay && n < 30; d *= 2 {
		n++
	}
	return n
}

// accountInterval is the spacing for a score at or above the threshold.
func accountInterval(over int, maxDelay time.Duration) time.Duration {
	d := accountBaseDelay
	for i := 0; i < over && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// AccountDelay is called before a password for user is checked, with the
// name as the client sent it, and says how long to wait first; the
// gateway sleeps that long (while still honouring shutdown) and then
// checks the password as usual. Zero unless user is throttled. Each call
// on a throttled name takes the next slot, so concurrent attempts are
// spaced out rather than waiting side by side; the wait never exceeds
// AccountMaxDelay. Names that never failed are not stored.
func (d *Defender) AccountDelay(user string) time.Duration {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	el := d.accounts.m[accountKey(user)]
	if el == nil {
		return 0
	}
	e := el.Value.(*acctEntry)
	e.decay(now)
	free := d.cfg.AccountFailures
	if e.score < free {
		return 0
	}
	slot := now
	if e.next.After(slot) {
		slot = e.next
	}
	if limit := now.Add(d.cfg.AccountMaxDelay); slot.After(limit) {
		slot = limit
	}
	e.next = slot.Add(accountInterval(e.score-free, d.cfg.AccountMaxDelay))
	return slot.Sub(now)
}

// AccountFailure records a failed login for user (as the client sent it,
// existing or not; not for attempts refused unchecked, such as from a
// banned address). throttled is true when this failure made the name
// throttled, for one log line and a counter.
func (d *Defender) AccountFailure(user string) (throttled bool) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	t := &d.accounts
	key := accountKey(user)
	var e *acctEntry
	if el := t.m[key]; el != nil {
		t.lru.MoveToFront(el)
		e = el.Value.(*acctEntry)
	} else {
		for len(t.m) >= t.max {
			back := t.lru.Back()
			t.lru.Remove(back)
			delete(t.m, back.Value.(*acctEntry).key)
		}
		e = &acctEntry{key: key}
		t.m[key] = t.lru.PushFront(e)
	}
	e.decay(now)
	free := d.cfg.AccountFailures
	before := e.score
	if e.score == 0 {
		e.decayAt = now
	}
	e.score = min(e.score+1, free+accountSteps(d.cfg.AccountMaxDelay))
	return before < free && e.score >= free
}

// ThrottledAccounts counts user names throttled now, for a gauge.
func (d *Defender) ThrottledAccounts() int {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, el := range d.accounts.m {
		if el.Value.(*acctEntry).decayed(now) >= d.cfg.AccountFailures {
			n++
		}
	}
	return n
}

// sweep drops names with no points left and no pending slot.
func (t *accountTable) sweep(now time.Time) {
	for key, el := range t.m {
		e := el.Value.(*acctEntry)
		if e.decayed(now) == 0 && !now.Before(e.next) {
			t.lru.Remove(el)
			delete(t.m, key)
		}
	}
}

// accountsLen reports tracked names (tests).
func (d *Defender) accountsLen() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.accounts.m)
}
