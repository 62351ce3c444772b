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
type Defender struct {
	now func() time.Time

	mu        sync.Mutex
	cfg       DefenderConfig               // guarded by mu
	entries   map[netip.Addr]*list.Element // guarded by mu; values *defEntry
	lru       *list.List                   // guarded by mu; front: most recently seen
	lastSweep time.Time                    // guarded by mu
	max       int                          // entry cap
}

type defEntry struct {
	key         netip.Addr
	failures    int
	windowStart time.Time
	banUntil    time.Time
	offences    int
}

// NewDefender returns a defender using now as its clock (time.Now in
// production, a fake clock in tests). Zero fields of cfg get the defaults
// (5 failures, 10m window, 30m ban, 24h cap).
func NewDefender(cfg DefenderConfig, now func() time.Time) *Defender {
	if now == nil {
		now = time.Now
	}
	return &Defender{
		now:     now,
		cfg:     cfg.withDefaults(),
		entries: make(map[netip.Addr]*list.Element),
		lru:     list.New(),
		max:     defMaxEntries,
	}
}

// SetConfig applies a reloaded defender block; existing bans stay.
func (d *Defender) SetConfig(cfg DefenderConfig) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg = cfg.withDefaults()
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

// Banned reports whether ip is banned now, and until when.
func (d *Defender) Banned(ip netip.Addr) (bool, time.Time) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
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

// Failure records a failed login from ip; banned is true when this failure
// started a ban, which lasts until until. Failures while banned are not
// counted.
func (d *Defender) Failure(ip netip.Addr) (banned bool, until time.Time) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	e := d.entry(clientKey(ip))
	if now.Before(e.banUntil) {
		return false, time.Time{}
	}
	if e.failures == 0 || now.Sub(e.windowStart) >= d.cfg.Window {
		e.failures, e.windowStart = 0, now
	}
	e.failures++
	if e.failures < d.cfg.MaxFailures {
		return false, time.Time{}
	}
	if e.offences > 0 && now.Sub(e.banUntil) > defOffenceMemory {
		e.offences = 0
	}
	e.offences++
	ban := d.cfg.Ban
	for i := 1; i < e.offences && ban < d.cfg.MaxBan; i++ {
		ban *= 2
	}
	ban = min(ban, d.cfg.MaxBan)
	e.banUntil = now.Add(ban)
	e.failures, e.windowStart = 0, time.Time{}
	return true, e.banUntil
}

// Success resets ip's failure count. Remembered offences stay, so a
// client cannot shorten its next ban by logging in to one account.
func (d *Defender) Success(ip netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if el := d.entries[clientKey(ip)]; el != nil {
		e := el.Value.(*defEntry)
		e.failures, e.windowStart = 0, time.Time{}
	}
}

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
// offence to remember; at most once per defSweepEvery.
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
}

// len reports tracked entries (tests).
func (d *Defender) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}
