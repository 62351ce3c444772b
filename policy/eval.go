package policy

// Decision algorithm (Decide):
//
//  1. Resolve the subject against this snapshot: a file user by name (so a
//     reload applies to sessions in flight; a removed user gets nothing),
//     an LDAP user by the group names fixed at login, or the anonymous
//     block. Anything else is denied ("default").
//  2. Hidden subtrees: if any proper ancestor of vpath other than "/"
//     resolves (by step 3) to a rule with no permissions, vpath is Hidden.
//  3. The user's own rules are searched first; the most specific matching
//     one decides (see rules.go for the order; equally specific matches
//     intersect). Only when none of the user's rules matches are the rules
//     of all its groups searched the same way, as one pool.
//  4. A rule with no permissions makes vpath Hidden. Otherwise the rule's
//     permissions replace the user's and groups' lists.
//  5. No rule: the union of the user's and its groups' permissions.
//  6. perm is allowed only if every bit of it is in the result; PermNone
//     is never allowed. Everything else is denied by default.

const reasonDefault = "default"

// subject is what a Decision is taken for, resolved from an Identity.
type subject struct {
	u      *user    // file user, or nil
	groups []*group // file user's groups
	names  []string // LDAP user's group names, looked up in p.groups
	base   Perm     // anonymous permissions
	reason string   // reason for base permissions
}

// resolve finds id's subject in this snapshot.
func (p *Policy) resolve(id *Identity) (subject, bool) {
	if id == nil {
		return subject{}, false
	}
	switch id.Source {
	case "file":
		u := p.users[id.User]
		if u == nil {
			return subject{}, false
		}
		return subject{u: u, groups: u.groups}, true
	case "ldap":
		if p.ldap == nil {
			return subject{}, false
		}
		return subject{names: id.Groups}, true
	case "upstream":
		if p.upstream == nil {
			return subject{}, false
		}
		return subject{names: id.Groups}, true
	case "anonymous":
		if p.anonymous == nil {
			return subject{}, false
		}
		return subject{base: p.anonymous.perms, reason: p.anonymous.reason}, true
	}
	return subject{}, false
}

// eachGroup calls f for each group of s that exists in this snapshot.
func (p *Policy) eachGroup(s *subject, f func(*group)) {
	for _, g := range s.groups {
		f(g)
	}
	for _, n := range s.names {
		if g := p.groups[n]; g != nil {
			f(g)
		}
	}
}

// ruleMatch is the outcome of a rule search.
type ruleMatch struct {
	found bool
	perms Perm  // intersection of the most specific matches
	rule  *rule // first of the most specific matches
	spec  specificity
}

func (m *ruleMatch) consider(rs []rule, path string) {
	for i := range rs {
		r := &rs[i]
		if !r.glob.match(path) {
			continue
		}
		if !m.found {
			*m = ruleMatch{found: true, perms: r.perms, rule: r, spec: r.glob.spec}
			continue
		}
		switch r.glob.spec.compare(m.spec) {
		case 1:
			*m = ruleMatch{found: true, perms: r.perms, rule: r, spec: r.glob.spec}
		case 0:
			m.perms &= r.perms
			if r.perms == PermNone && m.rule.perms != PermNone {
				m.rule = r // name the hiding rule
			}
		}
	}
}

// bestRule applies user rules before group rules.
func (p *Policy) bestRule(s *subject, path string) ruleMatch {
	var m ruleMatch
	if s.u != nil {
		m.consider(s.u.rules, path)
		if m.found {
			return m
		}
	}
	for _, g := range s.groups {
		m.consider(g.rules, path)
	}
	for _, n := range s.names {
		if g := p.groups[n]; g != nil {
			m.consider(g.rules, path)
		}
	}
	return m
}

// hiddenAncestor returns the rule hiding a proper ancestor of path other
// than "/", or nil.
func (p *Policy) hiddenAncestor(s *subject, path string) *rule {
	if !p.hidden {
		return nil
	}
	for i := 1; i < len(path); i++ {
		if path[i] != '/' {
			continue
		}
		if m := p.bestRule(s, path[:i]); m.found && m.perms == PermNone {
			return m.rule
		}
	}
	return nil
}

// validVPath accepts what the gateway's resolver produces: absolute,
// bounded, no NUL.
func validVPath(vpath string) bool {
	if vpath == "" || vpath[0] != '/' || len(vpath) > maxPathLen {
		return false
	}
	for i := 0; i < len(vpath); i++ {
		if vpath[i] == 0 {
			return false
		}
	}
	return true
}

// Decide says whether id may exercise perm on the virtual path vpath
// (clean, absolute, "/" is the user's home). It is pure and does not
// allocate. A rename is decided as a whole by RenameAllowed.
func (p *Policy) Decide(id *Identity, perm Perm, vpath string) Decision {
	s, ok := p.resolve(id)
	if !ok || !validVPath(vpath) {
		return Decision{Reason: reasonDefault}
	}
	if r := p.hiddenAncestor(&s, vpath); r != nil {
		return Decision{Hidden: true, Reason: r.reason}
	}
	if m := p.bestRule(&s, vpath); m.found {
		if m.perms == PermNone {
			return Decision{Hidden: true, Reason: m.rule.reason}
		}
		return Decision{Allowed: perm != PermNone && m.perms&perm == perm, Reason: m.rule.reason}
	}
	return p.decideLists(&s, perm)
}

// decideLists applies the union of the user's and groups' permissions.
func (p *Policy) decideLists(s *subject, perm Perm) Decision {
	if perm == PermNone {
		return Decision{Reason: reasonDefault}
	}
	eff := s.base
	reason := s.reason
	if s.u != nil {
		eff |= s.u.perms
		if s.u.perms&perm == perm {
			return Decision{Allowed: true, Reason: s.u.reason}
		}
		reason = s.u.reason
	}
	var single string
	p.eachGroup(s, func(g *group) {
		eff |= g.perms
		if single == "" && g.perms&perm == perm {
			single = g.reason
		}
	})
	if eff&perm != perm {
		return Decision{Reason: reasonDefault}
	}
	if single != "" {
		reason = single
	}
	return Decision{Allowed: true, Reason: reason}
}

// effectiveLists returns the union of the user's and groups' permissions.
func (p *Policy) effectiveLists(s *subject) Perm {
	eff := s.base
	if s.u != nil {
		eff |= s.u.perms
	}
	p.eachGroup(s, func(g *group) { eff |= g.perms })
	return eff
}
