package policy

import (
	"net/netip"
)

// netRules is a compiled allow/deny pair of CIDR lists. Deny wins; an empty
// allow list allows every address not denied. Addresses and prefixes are
// compared unmapped (::ffff:10.1.2.3 is 10.1.2.3).
type netRules struct {
	allow []netPrefix
	deny  []netPrefix
	// Precomputed reasons, so checks do not allocate.
	reasonNotAllowed string
	reasonDefault    string
}

type netPrefix struct {
	p      netip.Prefix
	reason string
}

// compileNetRules validates and normalises prefixes. block is "network" for
// the global rules or "user" for a user's allow_from.
func compileNetRules(allow, deny []netip.Prefix, block, name string, errs *[]error) netRules {
	const field = "allow_from"
	r := netRules{
		reasonNotAllowed: "network:not in allow_from",
		reasonDefault:    "network:default allow",
	}
	if block == "user" {
		r.reasonNotAllowed = "user:" + name + " allow_from"
		r.reasonDefault = "user:" + name
	}
	conv := func(list []netip.Prefix, field string) []netPrefix {
		out := make([]netPrefix, 0, len(list))
		for _, pf := range list {
			n, ok := normPrefix(pf)
			if !ok {
				*errs = append(*errs, &ConfigError{Block: block, Name: name, Field: field,
					Msg: "invalid CIDR " + pf.String()})
				continue
			}
			reason := "network:" + field + " " + n.String()
			if block == "user" {
				reason = "user:" + name + " " + field + " " + n.String()
			}
			out = append(out, netPrefix{p: n, reason: reason})
		}
		return out
	}
	r.allow = conv(allow, field)
	r.deny = conv(deny, "deny_from")
	return r
}

// normPrefix masks pf and turns an IPv4-mapped IPv6 prefix of at least 96
// bits into its IPv4 form.
func normPrefix(pf netip.Prefix) (netip.Prefix, bool) {
	if !pf.IsValid() {
		return netip.Prefix{}, false
	}
	a := pf.Addr()
	if a.Zone() != "" {
		return netip.Prefix{}, false
	}
	if a.Is4In6() {
		if pf.Bits() < 96 {
			return netip.Prefix{}, false
		}
		pf = netip.PrefixFrom(a.Unmap(), pf.Bits()-96)
	}
	return pf.Masked(), true
}

// check decides one address.
func (r *netRules) check(a netip.Addr) Decision {
	if len(r.allow) == 0 && len(r.deny) == 0 {
		return Decision{Allowed: true, Reason: r.reasonDefault}
	}
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return Decision{Reason: "network:invalid address"}
	}
	for i := range r.deny {
		if r.deny[i].p.Contains(a) {
			return Decision{Reason: r.deny[i].reason}
		}
	}
	if len(r.allow) == 0 {
		return Decision{Allowed: true, Reason: r.reasonDefault}
	}
	for i := range r.allow {
		if r.allow[i].p.Contains(a) {
			return Decision{Allowed: true, Reason: r.allow[i].reason}
		}
	}
	return Decision{Reason: r.reasonNotAllowed}
}

// CheckConn applies the global network rules (Config.Network) to a client
// address: deny_from wins, then an empty allow_from allows everyone and a
// non-empty one only its networks. IPv4-mapped IPv6 addresses are unmapped
// first. It does not allocate.
func (p *Policy) CheckConn(client netip.Addr) Decision {
	return p.network.check(client)
}
