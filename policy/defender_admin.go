package policy

import (
	"net/netip"
	"slices"
	"time"
)

// Ban is one ban in force, for the admin API.
type Ban struct {
	Client   netip.Addr // an IPv4 address or the start of an IPv6 /64
	Until    time.Time
	Offences int // bans this client has had, this one included
}

// Bans lists the bans in force now, soonest to end first.
func (d *Defender) Bans() []Ban {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Ban
	for k, el := range d.entries {
		e := el.Value.(*defEntry)
		if now.Before(e.banUntil) {
			out = append(out, Ban{Client: k, Until: e.banUntil, Offences: e.offences})
		}
	}
	slices.SortFunc(out, func(a, b Ban) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return a.Client.Compare(b.Client) // deterministic for equal ends
	})
	return out
}

// Unban lifts the ban on ip's client (its /64 for IPv6) and forgets its
// failures and offences; it reports whether a ban was in force.
func (d *Defender) Unban(ip netip.Addr) bool {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	el := d.entries[clientKey(ip)]
	if el == nil {
		return false
	}
	e := el.Value.(*defEntry)
	was := now.Before(e.banUntil)
	d.lru.Remove(el)
	delete(d.entries, e.key)
	return was
}
