package policy

// Rename visibility.
//
// A rename moves a whole subtree: every path from+s (s empty or "/...")
// becomes to+s. Checking PermRename on from and to alone lets a user with
// rename move a hidden or differently permitted subtree out from under
// its rule ("/docs/secret/**" hidden: RNFR /docs, RNTO /docs2 reveals
// /docs2/secret), or move visible files under a rule that hides or
// restricts them. RenameAllowed refuses a rename unless, for every suffix
// s, from+s and to+s get the same decision (same permissions, same
// hidden-ness), whatever exists on the storage. It compares rule sets, not
// files, so it costs O(rules * (segments of from and to) * glob segments)
// and no I/O.
//
// The comparison runs each rule's glob as a small NFA (a glob is a
// sequence of segments where "**" loops) over the segments of from and of
// to. The set of glob positions reached says exactly which suffixes the
// rule can still match below that path; for the descendants (s non-empty)
// each rule is then
//
//   - dead: matches nothing below;
//   - uniform: matches everything below (it ends in "**" reached);
//   - partial: anything else (its effect depends on s).
//
// The descendants of from and to are decided alike if the partial rules
// are the same rules in the same NFA states below both (so they match the
// same suffixes) and, in each rule pool (the user's rules, then the
// groups'), the uniform rules fold to the same result: both none, or the
// same permissions with the same specificity relation to every partial
// rule of the pool (the groups' pool only matters where no user rule
// covers everything). When a side has no partial rule that can matter, its
// descendants' decision is a constant, and two constants are compared
// directly. from and to
// themselves (s empty) are compared directly with the same algorithm as
// Decide.
//
// This is exact for "same decision" in the sense that an allowed rename
// never changes any path's decision; it is conservative, refusing some
// harmless renames:
//
//   - any rename between areas whose permissions differ, even when the
//     destination grants less (moving /incoming/f to a read-only
//     /archive): a rule set cannot tell a harmless downgrade from writing
//     into an area the user should not change, so the rule is "the same";
//   - a rename where a rule is partial below one side only, although the
//     paths it could match do not exist: e.g. with "/docs/*/secret"
//     hidden, renaming the plain file /docs/a to /pub/a is refused (a file
//     has no children, but it can become a directory between the check and
//     the rename, so the check cannot rely on what is stored);
//   - two rules that match the same suffixes but are different rules, or
//     reach different but equivalent NFA states; uniform rules that fold to
//     the same permissions through different specificity relations.

// states is a set of glob positions 0..len(segs) (at most 65).
type states [2]uint64

func (s *states) set(p int)     { s[p>>6] |= 1 << (p & 63) }
func (s states) has(p int) bool { return s[p>>6]&(1<<(p&63)) != 0 }
func (s states) empty() bool    { return s[0] == 0 && s[1] == 0 }
func (s states) without(p int) states {
	s[p>>6] &^= 1 << (p & 63)
	return s
}

// closure adds the positions reachable by letting "**" match nothing.
func (g *glob) closure(s states) states {
	for p := 0; p < len(g.segs); p++ {
		if s.has(p) && g.segs[p].kind == segAny {
			s.set(p + 1)
		}
	}
	return s
}

// statesAfter runs g over the segments of the clean absolute path.
// statesAfter(path).has(len(g.segs)) == g.match(path).
func (g *glob) statesAfter(path string) states {
	var s states
	if len(path) == 0 || len(path) > maxPathLen || path[0] != '/' {
		return s
	}
	s.set(0)
	s = g.closure(s)
	for pos := 1; pos < len(path) && !s.empty(); {
		seg, next := nextSeg(path, pos)
		pos = next
		var out states
		for p := 0; p < len(g.segs); p++ {
			if !s.has(p) {
				continue
			}
			if gs := &g.segs[p]; gs.kind == segAny {
				out.set(p)
			} else if gs.matchSeg(seg) {
				out.set(p + 1)
			}
		}
		s = g.closure(out)
	}
	return s
}

// ruleClass is what a rule can do to the descendants of a path.
type ruleClass uint8

const (
	classDead ruleClass = iota
	classUniform
	classPartial
)

// classify sorts a rule by the states s it reached at a path. The end
// position consumes nothing more, so only the others matter below.
func (g *glob) classify(s states) (ruleClass, states) {
	n := len(g.segs)
	s = s.without(n)
	switch {
	case s.empty():
		return classDead, s
	case n > 0 && g.segs[n-1].kind == segAny && s.has(n-1):
		return classUniform, s
	}
	return classPartial, s
}

// poolSide is one rule pool's view of one side's descendants.
type poolSide struct {
	uniform ruleMatch // fold of the uniform rules
	partial []partialRule
}

type partialRule struct {
	r  *rule
	st states
}

func (ps *poolSide) add(r *rule, from string) {
	cls, st := r.glob.classify(r.glob.statesAfter(from))
	switch cls {
	case classUniform:
		ps.uniform.considerRule(r)
	case classPartial:
		ps.partial = append(ps.partial, partialRule{r, st})
	}
}

// considerRule folds one rule into m, as consider does for a rule that
// matches.
func (m *ruleMatch) considerRule(r *rule) {
	if !m.found {
		*m = ruleMatch{found: true, perms: r.perms, rule: r, spec: r.glob.spec}
		return
	}
	switch r.glob.spec.compare(m.spec) {
	case 1:
		*m = ruleMatch{found: true, perms: r.perms, rule: r, spec: r.glob.spec}
	case 0:
		m.perms &= r.perms
	}
}

// samePartial reports whether a and b hold the same rules in the same
// states (order is the config order on both sides), or names a rule that
// differs.
func samePartial(a, b []partialRule) (*rule, bool) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i].r == b[j].r:
			if a[i].st != b[j].st {
				return a[i].r, false
			}
			i++
			j++
		case i < len(a):
			return a[i].r, false
		default:
			return b[j].r, false
		}
	}
	return nil, true
}

// sameUniform reports whether two uniform folds give the same result
// against every combination of the pool's partial rules.
func sameUniform(a, b ruleMatch, partial []partialRule) bool {
	if a.found != b.found {
		return false
	}
	if !a.found {
		return true
	}
	if a.perms != b.perms {
		return false
	}
	for _, pr := range partial {
		if a.spec.compare(pr.r.glob.spec) != b.spec.compare(pr.r.glob.spec) {
			return false
		}
	}
	return true
}

// effective is a decision's content: the permission set, or hidden.
type effective struct {
	perms  Perm
	hidden bool
}

// effectiveAt applies the Decide algorithm to vpath without the ancestor
// check.
func (p *Policy) effectiveAt(s *subject, vpath string) effective {
	if m := p.bestRule(s, vpath); m.found {
		return effective{perms: m.perms, hidden: m.perms == PermNone}
	}
	return effective{perms: p.effectiveLists(s)}
}

// sides collects the two pools for from and to.
func (p *Policy) sides(s *subject, from, to string) (uf, ut, gf, gt poolSide) {
	if s.u != nil {
		for i := range s.u.rules {
			uf.add(&s.u.rules[i], from)
			ut.add(&s.u.rules[i], to)
		}
	}
	p.eachGroup(s, func(g *group) {
		for i := range g.rules {
			gf.add(&g.rules[i], from)
			gt.add(&g.rules[i], to)
		}
	})
	return
}

// constant is the decision of every descendant when no rule is partial.
func (p *Policy) constant(s *subject, user, grp ruleMatch) effective {
	for _, m := range []ruleMatch{user, grp} {
		if m.found {
			return effective{perms: m.perms, hidden: m.perms == PermNone}
		}
	}
	return effective{perms: p.effectiveLists(s)}
}

// renameConflict returns "" when every path below from is decided like the
// same path below to, else what differs (for Decision.Reason).
func (p *Policy) renameConflict(s *subject, from, to string) string {
	if p.effectiveAt(s, from) != p.effectiveAt(s, to) {
		return "permissions differ at the destination"
	}
	uf, ut, gf, gt := p.sides(s, from, to)
	// A side's descendants are all decided alike when no user rule is
	// partial below it and either a user rule covers them all (the groups'
	// rules are then never consulted) or no group rule is partial either.
	fromConst := len(uf.partial) == 0 && (uf.uniform.found || len(gf.partial) == 0)
	toConst := len(ut.partial) == 0 && (ut.uniform.found || len(gt.partial) == 0)
	if fromConst && toConst {
		if p.constant(s, uf.uniform, gf.uniform) != p.constant(s, ut.uniform, gt.uniform) {
			return "permissions differ below the destination"
		}
		return ""
	}
	if r, ok := samePartial(uf.partial, ut.partial); !ok {
		return r.reason + " applies differently below the destination"
	}
	if !sameUniform(uf.uniform, ut.uniform, uf.partial) {
		return "permissions differ below the destination"
	}
	if uf.uniform.found {
		return "" // the user's rules decide every descendant on both sides
	}
	if r, ok := samePartial(gf.partial, gt.partial); !ok {
		return r.reason + " applies differently below the destination"
	}
	if !sameUniform(gf.uniform, gt.uniform, gf.partial) {
		return "permissions differ below the destination"
	}
	return ""
}

// RenameAllowed decides a rename of from to to (clean absolute virtual
// paths) as a whole: PermRename on both (as Decide; a hidden side answers
// Hidden), and then the subtree check described above: every path below
// from must be decided exactly like the same path below to, so a rename
// can neither reveal a hidden or restricted subtree nor move visible
// files under a rule that hides or restricts them. A refusal by the
// subtree check has Allowed and Hidden false and a Reason starting with
// "rename:". It is pure, does no I/O and does not look at what is stored.
// Refusals reveal no files, only that the rules differ between the two
// places, which the user can learn from its own decisions anyway.
func (p *Policy) RenameAllowed(id *Identity, from, to string) Decision {
	d := p.Decide(id, PermRename, from)
	if !d.Allowed {
		return d
	}
	if d = p.Decide(id, PermRename, to); !d.Allowed {
		return d
	}
	if from == to {
		return d
	}
	s, _ := p.resolve(id) // Decide succeeded, so id resolves
	if why := p.renameConflict(&s, from, to); why != "" {
		return Decision{Reason: "rename:" + why}
	}
	return d
}

// CanStat decides whether id may see vpath's metadata (SIZE, MDTM, MLST,
// STAT of a file): PermList or PermDownload, as for a listing. The
// Decision is the first that allows, else PermList's (which carries
// Hidden).
func (p *Policy) CanStat(id *Identity, vpath string) Decision {
	d := p.Decide(id, PermList, vpath)
	if d.Allowed || d.Hidden {
		return d
	}
	if d2 := p.Decide(id, PermDownload, vpath); d2.Allowed {
		return d2
	}
	return d
}
