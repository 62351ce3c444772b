package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Explanation is a decision with the steps that led to it, for the
// `ftpsgw explain` command.
type Explanation struct {
	// Decision is what the gateway would decide, network checks included
	// when a client address was given.
	Decision Decision
	// Identity is the subject the question was evaluated for; nil when the
	// user is not known to this snapshot.
	Identity *Identity
	// Lines are human-readable steps, in order, ending with the verdict.
	Lines []string
}

// String joins the lines.
func (e Explanation) String() string { return strings.Join(e.Lines, "\n") }

// Explain evaluates what the file user (or "anonymous"/"ftp" with an
// anonymous block) may do with op on vpath when connecting from from, and
// says which network rule, rule, group or list decided. Pass the zero
// netip.Addr to skip the network checks. LDAP users are not in the file:
// use ExplainIdentity with the groups they would get.
func (p *Policy) Explain(userName string, op Perm, vpath string, from netip.Addr) Explanation {
	var id *Identity
	switch {
	case p.users[userName] != nil:
		u := p.users[userName]
		id = &Identity{User: userName, Backend: u.cfg.Backend, Home: u.cfg.Home, Source: "file"}
		for _, g := range u.groups {
			id.Groups = append(id.Groups, g.cfg.Name)
		}
	case p.anonymous != nil && isAnonymousName(userName):
		id = &Identity{User: userName, Backend: p.anonymous.cfg.Backend, Home: p.anonymous.cfg.Home, Source: "anonymous"}
	default:
		ex := Explanation{Decision: Decision{Reason: reasonDefault}}
		ex.add("user %q is not defined in the file", userName)
		if p.ldap != nil {
			ex.add("LDAP users get their groups at login; explain them with their groups (ExplainIdentity)")
		}
		ex.add("verdict: denied (%s)", reasonDefault)
		return ex
	}
	return p.ExplainIdentity(id, op, vpath, from)
}

// ExplainIdentity is Explain for an Identity, e.g. an LDAP user with the
// group names it would get at login.
func (p *Policy) ExplainIdentity(id *Identity, op Perm, vpath string, from netip.Addr) Explanation {
	ex := Explanation{Identity: id}
	s, ok := p.resolve(id)
	if !ok {
		ex.Decision = Decision{Reason: reasonDefault}
		ex.add("identity is not known to this configuration")
		ex.add("verdict: denied (%s)", reasonDefault)
		return ex
	}
	ex.add("user %q (%s), groups %s, asking %s on %q", id.User, id.Source, p.groupList(&s), op, vpath)
	if from.IsValid() {
		d := p.CheckConn(from)
		ex.add("network %s: %s (%s)", from.Unmap(), verdict(d), d.Reason)
		if !d.Allowed {
			return ex.final(d)
		}
		if s.u != nil {
			d = s.u.allowFrom.check(from)
			ex.add("user allow_from %s: %s (%s)", from.Unmap(), verdict(d), d.Reason)
			if !d.Allowed {
				return ex.final(Decision{Reason: ReasonDeniedNetwork + ":" + d.Reason})
			}
		}
	}
	if !validVPath(vpath) {
		ex.add("path is not a clean absolute path")
		return ex.final(Decision{Reason: reasonDefault})
	}
	if r := p.hiddenAncestor(&s, vpath); r != nil {
		ex.add("an ancestor of the path is hidden by %s", r.reason)
	}
	p.explainRules(&ex, &s, vpath)
	if m := p.bestRule(&s, vpath); !m.found {
		ex.add("no rule matches: union of lists %s = %s", p.listDetail(&s), p.effectiveLists(&s))
	}
	return ex.final(p.Decide(id, op, vpath))
}

// explainRules lists every matching rule, most specific first.
func (p *Policy) explainRules(ex *Explanation, s *subject, vpath string) {
	type hit struct {
		r    *rule
		user bool
	}
	var hits []hit
	add := func(rs []rule, user bool) {
		for i := range rs {
			if rs[i].glob.match(vpath) {
				hits = append(hits, hit{&rs[i], user})
			}
		}
	}
	if s.u != nil {
		add(s.u.rules, true)
	}
	p.eachGroup(s, func(g *group) { add(g.rules, false) })
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].user != hits[j].user {
			return hits[i].user
		}
		return hits[i].r.glob.spec.compare(hits[j].r.glob.spec) > 0
	})
	if len(hits) == 0 {
		return
	}
	m := p.bestRule(s, vpath)
	userPool := hits[0].user // user rules, when any match, are the only candidates
	winners := 0
	for _, h := range hits {
		mark := ""
		if h.user == userPool && h.r.glob.spec.compare(m.spec) == 0 {
			mark = "  <- most specific"
			winners++
		}
		ex.add("matches %s permissions %s (%s)%s", h.r.reason, h.r.perms, h.r.glob.spec, mark)
	}
	if winners > 1 {
		ex.add("%d rules are equally specific: their permissions intersect to %s", winners, m.perms)
	}
	if m.perms == PermNone {
		ex.add("the winning permissions are empty: the path is hidden")
	} else {
		ex.add("winning permissions %s replace the user and group lists", m.perms)
	}
}

func (p *Policy) groupList(s *subject) string {
	var names []string
	p.eachGroup(s, func(g *group) { names = append(names, g.cfg.Name) })
	return "[" + strings.Join(names, " ") + "]"
}

func (p *Policy) listDetail(s *subject) string {
	var parts []string
	if s.u != nil {
		parts = append(parts, "user "+s.u.perms.String())
	}
	if s.reason != "" {
		parts = append(parts, s.reason+" "+s.base.String())
	}
	p.eachGroup(s, func(g *group) { parts = append(parts, "group "+g.cfg.Name+" "+g.perms.String()) })
	return strings.Join(parts, ", ")
}

func (ex *Explanation) add(format string, args ...any) {
	ex.Lines = append(ex.Lines, fmt.Sprintf(format, args...))
}

func (ex Explanation) final(d Decision) Explanation {
	ex.Decision = d
	switch {
	case d.Hidden:
		ex.add("verdict: hidden, answered as missing (%s)", d.Reason)
	case d.Allowed:
		ex.add("verdict: allowed (%s)", d.Reason)
	default:
		ex.add("verdict: denied (%s)", d.Reason)
	}
	return ex
}

func verdict(d Decision) string {
	if d.Allowed {
		return "allowed"
	}
	return "denied"
}
