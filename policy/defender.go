package policy

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Defender defaults and bounds.
const (
	defDefaultMaxFailures = 5
	defDefaultWindow      = 10 * time.Minute
	defDefaultBan         = 30 * time.Minute
	defDefaultMaxBan      = 24 * time.Hour
	// defOffenceMemory is how long after a ban ends a new ban still counts
	// as a repeat offence (doubling).
	defOffenceMemory = 24 * time.Hour
	// defMaxEntries caps tracked clients; the least recently seen is
	// evicted beyond it.
	defMaxEntries = 100_000
	defSweepEvery = time.Minute
)

// withDefaults fills zero fields; negative ones are refused by Compile and
// treated as zero here.
func (c DefenderConfig) withDefaults() DefenderConfig {
	if c.MaxFailures <= 0 {
		c.MaxFailures = defDefaultMaxFailures
	}
	if c.Window <= 0 {
		c.Window = defDefaultWindow
	}
	if c.Ban <= 0 {
		c.Ban = defDefaultBan
	}
	if c.MaxBan <= 0 {
		c.MaxBan = max(defDefaultMaxBan, c.Ban)
	}
	if c.AccountFailures <= 0 {
		c.AccountFailures = defDefaultAccountFailures
	}
	if c.AccountMaxDelay <= 0 {
		c.AccountMaxDelay = defDefaultAccountMaxDelay
	}
	// A private, normalised copy: the caller's slice is not aliased, and
	// invalid prefixes (refused by Compile) are dropped.
	ex := make([]netip.Prefix, 0, len(c.Exempt))
	for _, pf := range c.Exempt {
		if n, ok := normPrefix(pf); ok {
			ex = append(ex, n)
		}
	}
	c.Exempt = ex
	return c
}

func compileDefender(c DefenderConfig, errs *[]error) DefenderConfig {
	bad := func(field, msg string) {
		*errs = append(*errs, &ConfigError{Block: "defender", Field: field, Msg: msg})
	}
	if c.MaxFailures < 0 {
		bad("max_failures", "must not be negative")
	}
	if c.Window < 0 {
		bad("window", "must not be negative")
	}
	if c.Ban < 0 {
		bad("ban", "must not be negative")
	}
	if c.MaxBan < 0 {
		bad("max_ban", "must not be negative")
	}
	if c.AccountFailures < 0 {
		bad("account_failures", "must not be negative")
	}
	if c.AccountMaxDelay < 0 {
		bad("account_max_delay", "must not be negative")
	}
	for _, pf := range c.Exempt {
		if _, ok := normPrefix(pf); !ok {
			bad("exempt", "invalid CIDR "+pf.String())
		}
	}
	d := c.withDefaults()
	if c.MaxBan > 0 && d.MaxBan < d.Ban {
		bad("max_ban", "must not be shorter than ban")
	}
	return d
}

// DefenderConfig returns the defender block with defaults applied, for
// Defender.SetConfig on reload.
func (p *Policy) DefenderConfig() DefenderConfig { return p.defender }

// Defender counts failed logins per client and bans offenders: after
// MaxFailures failures within Window (counted from the first failure) the
// client is banned for Ban, doubled for each repeat offence up to MaxBan.
// A client is an IPv4 address or an IPv6 /64 (one customer's network), so
// rotating through a prefix does not evade it. Offences are remembered for
// 24 hours after a ban ends. At most 100,000 clients are tracked; beyond
// that the least recently seen is forgotten. Expired entries are swept once
// a minute. Safe for concurrent use; outlives reloads.
//
// Addresses in Exempt are never counted and never banned.
//
// A successful login changes nothing: it neither clears nor decays the
// address's failure count (nor the account throttle's), so an attacker
// holding one valid account cannot log in to it between guesses to reset
// the counter. A legitimate user who mistyped keeps those failures until
// the window ends.
//
// Failures while a client is banned still count (PASS on a connection
// opened before the ban, which the gateway refuses without checking the
// password): every MaxFailures of them is a further offence that extends
// the ban from now with the next, doubled, duration.
//
// The defender also throttles attempts per user name, against password
// spraying from many addresses: see AccountDelay.
type Defender struct {
	now func() time.Time

	mu        sync.Mutex
	cfg       DefenderConfig               // guarded by mu; defaults applied, Exempt normalised
	entries   map[netip.Addr]*list.Element // guarded by mu; values *defEntry
	lru       *list.List                   // guarded by mu; front: most recently seen
	lastSweep time.Time                    // guarded by mu
	max       int                          // entry cap
	accounts  accountTable                 // guarded by mu
}

type defEntry struct {
	key         netip.Addr
	failures    int
	windowStart time.Time
	banUntil    time.Time
	banFailures int // failures since the current ban started
	offences    int
}

// NewDefender returns a defender using now as its clock (time.Now in
// production, a fake clock in tests). Zero fields of cfg get the defaults
// (5 failures, 10m window, 30m ban, 24h cap; accounts: 5 failures, 10s
// maximum delay).
func NewDefender(cfg DefenderConfig, now func() time.Time) *Defender {
	if now == nil {
		now = time.Now
	}
	return &Defender{
		now:      now,
		cfg:      cfg.withDefaults(),
		entries:  make(map[netip.Addr]*list.Element),
		lru:      list.New(),
		max:      defMaxEntries,
		accounts: newAccountTable(),
	}
}

// SetConfig applies a reloaded defender block. Existing bans stay, except
// for addresses the new block exempts, which are forgotten.
func (d *Defender) SetConfig(cfg DefenderConfig) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg = cfg.withDefaults()
	for key, el := range d.entries {
		if d.exempt(key) {
			d.lru.Remove(el)
			delete(d.entries, key)
		}
	}
}

// exempt reports whether ip is in an exempt network. d.mu is held.
func (d *Defender) exempt(ip netip.Addr) bool {
	if len(d.cfg.Exempt) == 0 {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, pf := range d.cfg.Exempt {
		if pf.Contains(ip) {
			return true
		}
	}
	return false
}

// Exempt reports whether ip is in an exempt network.
func (d *Defender) Exempt(ip netip.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exempt(ip)
}

// clientKey is the unit a ban applies to.
func clientKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// Banned reports whether ip is banned now, and until when. Exempt
// addresses are never banned. The gateway asks at accept and again at PASS,
// so a ban reaches connections opened before it.
func (d *Defender) Banned(ip netip.Addr) (bool, time.Time) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	if d.exempt(ip) {
		return false, time.Time{}
	}
	el := d.entries[clientKey(ip)]
	if el == nil {
		return false, time.Time{}
	}
	e := el.Value.(*defEntry)
	if now.Before(e.banUntil) {
		d.lru.MoveToFront(el)
		return true, e.banUntil
	}
	return false, time.Time{}
}

// Failure records a failed login from ip. banned is true when this failure
// started a ban or, while ip is banned, extended it (each MaxFailures
// failures during a ban are a further offence); the ban then lasts until
// until. Exempt addresses are not counted.
func (d *Defender) Failure(ip netip.Addr) (banned bool, until time.Time) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	if d.exempt(ip) {
		return false, time.Time{}
	}
	e := d.entry(clientKey(ip))
	if now.Before(e.banUntil) {
		e.banFailures++
		if e.banFailures < d.cfg.MaxFailures {
			return false, time.Time{}
		}
		return true, d.ban(e, now)
	}
	if e.failures == 0 || now.Sub(e.windowStart) >= d.cfg.Window {
		e.failures, e.windowStart = 0, now
	}
	e.failures++
	if e.failures < d.cfg.MaxFailures {
		return false, time.Time{}
	}
	return true, d.ban(e, now)
}

// ban records one more offence for e and bans it from now for Ban,
// doubled per remembered offence up to MaxBan; a ban in force is only ever
// lengthened. It returns the end of the ban. d.mu is held.
func (d *Defender) ban(e *defEntry, now time.Time) time.Time {
	if e.offences > 0 && now.Sub(e.banUntil) > defOffenceMemory {
		e.offences = 0
	}
	e.offences++
	ban := d.cfg.Ban
	for i := 1; i < e.offences && ban < d.cfg.MaxBan; i++ {
		ban *= 2
	}
	ban = min(ban, d.cfg.MaxBan)
	if until := now.Add(ban); until.After(e.banUntil) {
		e.banUntil = until
	}
	e.failures, e.windowStart, e.banFailures = 0, time.Time{}, 0
	return e.banUntil
}

// Success records a successful login from ip. It deliberately changes
// nothing (see Defender): kept so callers have one place to report
// successes should a future policy need them.
func (d *Defender) Success(ip netip.Addr) {}

// ActiveBans counts bans in force now.
func (d *Defender) ActiveBans() int {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, el := range d.entries {
		if now.Before(el.Value.(*defEntry).banUntil) {
			n++
		}
	}
	return n
}

// entry returns key's entry, created (evicting the least recently seen
// beyond the cap) and marked as seen.
func (d *Defender) entry(key netip.Addr) *defEntry {
	if el := d.entries[key]; el != nil {
		d.lru.MoveToFront(el)
		return el.Value.(*defEntry)
	}
	for len(d.entries) >= d.max {
		back := d.lru.Back()
		d.lru.Remove(back)
		delete(d.entries, back.Value.(*defEntry).key)
	}
	e := &defEntry{key: key}
	d.entries[key] = d.lru.PushFront(e)
	return e
}

// sweep drops entries with no ban, no open failure window and no
// offence to remember, and accounts with nothing left to remember; at most
// once per defSweepEvery.
func (d *Defender) sweep(now time.Time) {
	if now.Sub(d.lastSweep) < defSweepEvery {
		return
	}
	d.lastSweep = now
	for key, el := range d.entries {
		e := el.Value.(*defEntry)
		switch {
		case now.Before(e.banUntil):
		case e.failures > 0 && now.Sub(e.windowStart) < d.cfg.Window:
		case e.offences > 0 && now.Sub(e.banUntil) <= defOffenceMemory:
		default:
			d.lru.Remove(el)
			delete(d.entries, key)
		}
	}
	d.accounts.sweep(now)
}

// len reports tracked entries (tests).
func (d *Defender) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}
