package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func renameConfig(t testing.TB) Config {
	h := cheapHash(t, "pw")
	return Config{
		Groups: []GroupConfig{
			{Name: "staff", Permissions: []string{"list", "download", "rename"}, Rules: []RuleConfig{
				r("/shared/private/**"),
			}},
		},
		Users: []UserConfig{
			{Name: "alice", PasswordHash: h, Permissions: []string{"*"}, Rules: []RuleConfig{
				r("/docs/secret/**"),
				r("/**/.git/**"),
				r("/incoming/**", "list", "upload", "rename"),
				r("/archive/**", "list", "download", "rename"),
				r("/a/**", "list", "download", "rename"),
				r("/b/**", "list", "download", "rename"),
				r("/exact/one", "list", "rename"),
				r("/star/*/hide"),
				r("/pub/*.exe"),
			}},
			// Uniform rules alike in permissions but not in specificity
			// against a partial one: below /aaa the specific rule beats
			// the hiding rule, below /b the hiding rule wins.
			{Name: "uma", PasswordHash: h, Rules: []RuleConfig{
				r("/aaa/**", "list", "download", "rename"),
				r("/**", "list", "download", "rename"),
				r("/**/s"),
			}},
			{Name: "sam", PasswordHash: h, Groups: []string{"staff"}},
			{Name: "rita", PasswordHash: h, Permissions: []string{"list", "download", "rename"},
				Groups: []string{"staff"}, Rules: []RuleConfig{r("/shared/**", "list", "download", "rename")}},
		},
		LDAP: &LDAPConfig{URL: "ldaps://127.0.0.1:1", BindDNTemplate: "uid={user},dc=test"},
	}
}

func TestRenameAllowedTable(t *testing.T) {
	p := mustCompile(t, renameConfig(t))
	ldap := &Identity{User: "lu", Source: "ldap", Groups: []string{"staff"}}
	cases := []struct {
		id       *Identity
		from, to string
		want     outcome
	}{
		// The case: renaming a parent reveals a hidden subtree.
		{fileID("alice"), "/docs", "/docs2", deny},
		{fileID("alice"), "/docs", "/pub/docs", deny},
		// Moving a visible tree to where a part of it is hidden (into the
		// hidden directory by way of its parent).
		{fileID("alice"), "/tmp/stuff", "/docs", deny},
		// A hidden path itself, as source or destination.
		{fileID("alice"), "/docs/secret", "/pub/secret", hidden},
		{fileID("alice"), "/docs/secret/plan.txt", "/pub/plan.txt", hidden},
		{fileID("alice"), "/pub/plan.txt", "/docs/secret/plan.txt", hidden},
		{fileID("alice"), "/pub/x.txt", "/pub/x.exe", hidden},
		// Harmless renames stay allowed.
		{fileID("alice"), "/docs/a.txt", "/docs/b.txt", allow},
		{fileID("alice"), "/docs/old", "/docs/new", allow},
		{fileID("alice"), "/pub/dir", "/docs/dir", allow},
		{fileID("alice"), "/tmp/x", "/tmp/y", allow},
		// A rule hiding the same thing on both sides: .git stays hidden.
		{fileID("alice"), "/proj1", "/proj2", allow},
		{fileID("alice"), "/proj1", "/tmp/deep/proj1", allow},
		// Permission laundering: out of an upload-only drop box into a
		// downloadable area, and the (harmless, but refused) reverse.
		{fileID("alice"), "/incoming/f", "/archive/f", deny},
		{fileID("alice"), "/archive/f", "/incoming/f", deny},
		{fileID("alice"), "/incoming/a", "/incoming/b", allow},
		// Different rules that decide alike.
		{fileID("alice"), "/a/x", "/b/x", allow},
		// A rule on the exact path: its permissions differ from the
		// destination's.
		{fileID("alice"), "/exact/one", "/exact/two", deny},
		// A rule that could hide a child: refused even for a file.
		{fileID("alice"), "/star/f", "/tmp/f", deny},
		{fileID("alice"), "/star/f", "/star/g", allow},
		{fileID("uma"), "/aaa/x", "/b/x", deny},
		{fileID("uma"), "/aaa/x", "/aaa/y", allow},
		{fileID("uma"), "/c/x", "/b/x", allow},
		// Group rules, for file and LDAP users.
		{fileID("sam"), "/shared", "/s2", deny},
		{fileID("sam"), "/shared/public", "/s2", allow},
		{ldap, "/shared", "/s2", deny},
		{ldap, "/other", "/s2", allow},
		// rita's own rule covers /shared but the groups' hide rule is
		// never consulted for her there; outside it, the groups' rule
		// does not apply either.
		{fileID("rita"), "/shared", "/s2", allow},
		// Unknown identities and bad paths.
		{fileID("nobody"), "/a", "/b", deny},
		{fileID("alice"), "relative", "/b", deny},
		{fileID("alice"), "/x", "/x", allow},
	}
	for _, tc := range cases {
		d := p.RenameAllowed(tc.id, tc.from, tc.to)
		got := deny
		switch {
		case d.Hidden:
			got = hidden
		case d.Allowed:
			got = allow
		}
		if got != tc.want {
			t.Errorf("%s: %s -> %s = %s (%s), want %s", tc.id.User, tc.from, tc.to, got, d.Reason, tc.want)
		}
		if got == deny && tc.id.User == "alice" && tc.from[0] == '/' && !strings.HasPrefix(d.Reason, "rename:") {
			t.Errorf("%s -> %s: reason %q does not name the rename check", tc.from, tc.to, d.Reason)
		}
	}
}

// decisionsAt is every single-permission decision at vpath.
func decisionsAt(p *Policy, id *Identity, vpath string) [10]Decision {
	var out [10]Decision
	for i := 0; i < 9; i++ {
		d := p.Decide(id, Perm(1)<<i, vpath)
		d.Reason = ""
		out[i] = d
	}
	return out
}

// TestRenameAllowedNeverReveals checks the soundness of RenameAllowed
// against Decide on random rule sets: whenever a rename is allowed, every
// path below the source is decided exactly like the same path below the
// destination, for every suffix up to three segments over an alphabet that
// covers the rules' literals and wildcards.
func TestRenameAllowedNeverReveals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "s", "x.exe", "*", "**", "*.exe", "a*", "aaa"}
	names := []string{"a", "b", "s", "x.exe", "aaa"}
	permSets := [][]string{nil, {"list"}, {"list", "download", "rename"}, {"*"}, {"rename", "list"}}
	pick := func(n int) string { return names[rng.IntN(n)] }
	// Suffixes: up to two segments over every name, three over a few.
	seenSuffix := map[string]bool{}
	var suffixes []string
	var walk func(prefix string, depth, maxDepth int, alphabet []string)
	walk = func(prefix string, depth, maxDepth int, alphabet []string) {
		if !seenSuffix[prefix] {
			seenSuffix[prefix] = true
			suffixes = append(suffixes, prefix)
		}
		if depth == maxDepth {
			return
		}
		for _, n := range alphabet {
			walk(prefix+"/"+n, depth+1, maxDepth, alphabet)
		}
	}
	walk("", 0, 2, names)
	walk("", 0, 3, []string{"s", "x.exe", "a"})
	allowed, refused := 0, 0
	for round := 0; round < 200; round++ {
		var rules []RuleConfig
		seen := map[string]bool{}
		for i := 0; i < 1+rng.IntN(4); i++ {
			var b strings.Builder
			for j := 0; j < 1+rng.IntN(3); j++ {
				b.WriteString("/" + segs[rng.IntN(len(segs))])
			}
			if seen[b.String()] {
				continue
			}
			seen[b.String()] = true
			ps := permSets[rng.IntN(len(permSets))]
			if ps == nil {
				ps = []string{}
			}
			rules = append(rules, RuleConfig{Path: b.String(), Permissions: ps})
		}
		cfg := Config{Users: []UserConfig{{Name: "u", PasswordHash: cheapHash(t, "pw"),
			Permissions: []string{"list", "download", "rename"}, Rules: rules}}}
		if rng.IntN(2) == 0 { // half the rounds put some rules in a group
			cfg.Groups = []GroupConfig{{Name: "g", Permissions: []string{"upload"}, Rules: rules[len(rules)/2:]}}
			cfg.Users[0].Rules = rules[:len(rules)/2]
			cfg.Users[0].Groups = []string{"g"}
		}
		p := mustCompile(t, cfg)
		id := fileID("u")
		for k := 0; k < 20; k++ {
			from := "/" + pick(len(names))
			to := "/" + pick(len(names))
			if rng.IntN(2) == 0 {
				from += "/" + pick(len(names))
			}
			if rng.IntN(2) == 0 {
				to += "/" + pick(len(names))
			}
			if !p.RenameAllowed(id, from, to).Allowed {
				refused++
				continue
			}
			allowed++
			for _, s := range suffixes {
				if a, b := decisionsAt(p, id, from+s), decisionsAt(p, id, to+s); a != b {
					t.Fatalf("rules %v: rename %s -> %s allowed, but %s is %v and %s is %v",
						rules, from, to, from+s, a, to+s, b)
				}
			}
		}
	}
	if allowed < 1000 || refused < 1000 {
		t.Fatalf("weak sample: %d allowed, %d refused", allowed, refused)
	}
	t.Logf("%d renames allowed and checked, %d refused", allowed, refused)
}

// TestStatesAfterAgreesWithMatch: the NFA RenameAllowed uses accepts
// exactly what the matcher accepts.
func TestStatesAfterAgreesWithMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	segs := []string{"a", "b", "*", "**", "a*", "*b", "*.x"}
	names := []string{"a", "b", "ab", "ba", "c.x", "bb"}
	for i := 0; i < 3000; i++ {
		var gb, pb strings.Builder
		for j := 0; j < 1+rng.IntN(4); j++ {
			gb.WriteString("/" + segs[rng.IntN(len(segs))])
		}
		for j := 0; j < rng.IntN(5); j++ {
			pb.WriteString("/" + names[rng.IntN(len(names))])
		}
		path := pb.String()
		if path == "" {
			path = "/"
		}
		g, err := compileGlob(gb.String())
		if err != nil {
			continue
		}
		if got, want := g.statesAfter(path).has(len(g.segs)), g.match(path); got != want {
			t.Fatalf("glob %s path %s: NFA %v, matcher %v", gb.String(), path, got, want)
		}
	}
}

func TestCanStat(t *testing.T) {
	p := mustCompile(t, Config{Users: []UserConfig{{Name: "u", PasswordHash: cheapHash(t, "pw"),
		Permissions: []string{"list", "download"}, Rules: []RuleConfig{
			r("/up/**", "upload"),
			r("/dl/**", "download"),
			r("/ls/**", "list"),
			r("/hid/**"),
		}}}})
	id := fileID("u")
	for _, tc := range []struct {
		path string
		want outcome
	}{
		{"/up/f", deny}, // upload only: SIZE, MDTM, MLST must not answer
		{"/dl/f", allow},
		{"/ls/f", allow},
		{"/hid/f", hidden},
		{"/other", allow},
	} {
		d := p.CanStat(id, tc.path)
		got := deny
		switch {
		case d.Hidden:
			got = hidden
		case d.Allowed:
			got = allow
		}
		if got != tc.want {
			t.Errorf("CanStat %s = %s (%s), want %s", tc.path, got, d.Reason, tc.want)
		}
	}
}

func TestPermNames(t *testing.T) {
	names := PermNames()
	if len(names) != 9 {
		t.Fatalf("%d names", len(names))
	}
	var all Perm
	for i, n := range names {
		pm, err := ParsePerms([]string{n})
		if err != nil || pm != Perm(1)<<i || pm.Name() != n {
			t.Fatalf("%q: %v %v %q", n, pm, err, pm.Name())
		}
		all |= pm
	}
	if all != PermAll || PermNone.Name() != "other" || (PermList|PermUpload).Name() != "other" {
		t.Fatal("names do not cover PermAll exactly")
	}
	names[0] = "changed"
	if PermNames()[0] != "list" {
		t.Fatal("PermNames shares its slice")
	}
}
