package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		glob, path string
		want       bool
	}{
		{"/", "/", true},
		{"/", "/a", false},
		{"/**", "/", true},
		{"/**", "/a/b/c", true},
		{"/a/**", "/a", true},
		{"/a/**", "/a/b", true},
		{"/a/**", "/ab", false},
		{"/a/**", "/", false},
		{"/*", "/a", true},
		{"/*", "/", false},
		{"/*", "/a/b", false},
		{"/*.txt", "/.txt", true},
		{"/*.txt", "/a.txt.bak", false},
		{"/a*b*c", "/abc", true},
		{"/a*b*c", "/aXbYbZc", true},
		{"/a*b*c", "/aXbYbZ", false},
		{"/**/x", "/x", true},
		{"/**/x", "/a/b/x", true},
		{"/**/x", "/a/b/x/y", false},
		{"/a/**/b/**/c", "/a/b/c", true},
		{"/a/**/b/**/c", "/a/x/b/y/z/c", true},
		{"/a/**/b/**/c", "/a/c/b", false},
		{"/ä/*", "/ä/x", true},
		{"/ä/*", "/a\u0308/x", false},
		{"/Dir", "/dir", false},
		{"/*/*", "/a/b", true},
		{"/*/*", "/a", false},
	}
	for _, c := range cases {
		g, err := compileGlob(c.glob)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", c.glob, err)
		}
		if got := g.match(c.path); got != c.want {
			t.Errorf("%q match %q = %v, want %v", c.glob, c.path, got, c.want)
		}
		if got := refMatch(c.glob, c.path); got != c.want {
			t.Errorf("reference: %q match %q = %v, want %v", c.glob, c.path, got, c.want)
		}
	}
}

func TestGlobRejects(t *testing.T) {
	for _, g := range []string{"", "a", "a/b", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/a**", "/**b", "/a/b**c",
		"/a\x00", "/a\nb", "/\xff", "/" + strings.Repeat("a", maxGlobLen), strings.Repeat("/a", maxGlobSegs+1)} {
		if _, err := compileGlob(g); err == nil {
			t.Errorf("compileGlob(%q) accepted", g)
		}
	}
}

func TestSpecificityOrder(t *testing.T) {
	// Each glob is strictly more specific than the next.
	order := []string{"/a/b", "/a/*.txt", "/a/*", "/a/**", "/**/*.exe", "/*/*", "/*", "/**"}
	for i := 0; i+1 < len(order); i++ {
		a, _ := compileGlob(order[i])
		b, _ := compileGlob(order[i+1])
		if a.spec.compare(b.spec) != 1 || b.spec.compare(a.spec) != -1 {
			t.Errorf("%q (%v) not more specific than %q (%v)", order[i], a.spec, order[i+1], b.spec)
		}
	}
	a, _ := compileGlob("/tie/*.log")
	b, _ := compileGlob("/tie/app.*")
	if a.spec.compare(b.spec) != 0 {
		t.Errorf("equal globs compare %d", a.spec.compare(b.spec))
	}
}

// TestMatchBounded feeds hostile inputs that blow up backtracking
// matchers.
func TestMatchBounded(t *testing.T) {
	g, err := compileGlob("/**/a/**/a/**/a/**/a/**/a/**/b")
	if err != nil {
		t.Fatal(err)
	}
	s, err := compileGlob("/" + strings.Repeat("*a", 100) + "*b")
	if err != nil {
		t.Fatal(err)
	}
	path := strings.Repeat("/a", maxPathLen/2-1)
	seg := "/" + strings.Repeat("a", 255)
	start := time.Now()
	for range 10 {
		if g.match(path) || s.match(seg) {
			t.Fatal("hostile path matched")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("hostile matches took %v", d)
	}
	if g.match("/" + strings.Repeat("a/", maxPathLen) + "b") {
		t.Fatal("path beyond maxPathLen matched")
	}
}

// refMatch is an independent, exponential reference matcher for tests.
func refMatch(glob, path string) bool {
	var gs, ps []string
	if glob != "/" {
		gs = strings.Split(glob[1:], "/")
	}
	if path != "/" {
		ps = strings.Split(path[1:], "/")
	}
	var segs func(g, p []string) bool
	segs = func(g, p []string) bool {
		if len(g) == 0 {
			return len(p) == 0
		}
		if g[0] == "**" {
			for i := 0; i <= len(p); i++ {
				if segs(g[1:], p[i:]) {
					return true
				}
			}
			return false
		}
		return len(p) > 0 && refStar(g[0], p[0]) && segs(g[1:], p[1:])
	}
	return segs(gs, ps)
}

func refStar(g, s string) bool {
	if g == "" {
		return s == ""
	}
	if g[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if refStar(g[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return len(s) > 0 && s[0] == g[0] && refStar(g[1:], s[1:])
}

// refSpec recomputes the specificity key from the glob text.
func refSpec(glob string) [4]int {
	var k [4]int // literal segs, literal bytes, star segs, -double-star segs
	if glob == "/" {
		return k
	}
	prev := ""
	for _, s := range strings.Split(glob[1:], "/") {
		switch {
		case s == "**":
			if prev != "**" {
				k[3]--
			}
		case strings.Contains(s, "*"):
			k[2]++
			k[1] += len(strings.ReplaceAll(s, "*", ""))
		default:
			k[0]++
			k[1] += len(s)
		}
		prev = s
	}
	return k
}

func cmpKey(a, b [4]int) int {
	for i := range a {
		if a[i] != b[i] {
			return sign(a[i] - b[i])
		}
	}
	return 0
}

// FuzzMatch: the matcher never panics, agrees with the reference matcher
// on small inputs and stays fast on large ones.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"/a/**", "/a/b"}, {"/**/*.exe", "/x/y.exe"}, {"/a*b*c", "/abbc"}, {"/**/a/**/b", "/a/a/a/c"},
		{"/ü/*", "/ü/x"}, {"/", "/"}, {"/*/**/*", "/a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, glob, path string) {
		g, err := compileGlob(glob)
		if err != nil {
			return
		}
		if path == "" || path[0] != '/' {
			path = "/" + path
		}
		start := time.Now()
		got := g.match(path)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("match took %v", d)
		}
		// The reference is exponential: only small inputs, and only clean
		// paths (the gateway never passes others).
		if len(glob) > 24 || len(path) > 24 || strings.Count(glob, "*") > 6 || (path != "/" && strings.HasSuffix(path, "/")) {
			return
		}
		if want := refMatch(glob, path); got != want {
			t.Fatalf("%q match %q = %v, reference %v", glob, path, got, want)
		}
	})
}

// FuzzPolicyParse: Compile never panics on arbitrary rule paths,
// permission names and names, reports only *ConfigError, and a compiled
// policy answers Decide without panicking.
func FuzzPolicyParse(f *testing.F) {
	f.Add("alice", "readers", "/a/**", "list", "/a/b")
	f.Add("", "", "", "", "")
	f.Add("a/b", "g", "/**/**", "*", "/x")
	f.Add("x", "x", "/a**", "bogus", "//")
	f.Fuzz(func(t *testing.T, user, group, glob, perm, path string) {
		cfg := Config{
			Groups: []GroupConfig{{Name: group, Permissions: []string{perm}, Rules: []RuleConfig{{Path: glob, Permissions: []string{perm}}}}},
			Users: []UserConfig{{Name: user, PasswordHash: "$2b$04$" + strings.Repeat("a", 53), Groups: []string{group},
				Permissions: []string{perm}, Rules: []RuleConfig{{Path: glob, Permissions: []string{perm, "list"}}, {Path: glob + "/**"}}}},
		}
		p, err := Compile(cfg)
		if err != nil {
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Fatalf("error is not joined: %v", err)
			}
			for _, e := range joined.Unwrap() {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("not a *ConfigError: %T %v", e, e)
				}
			}
			return
		}
		id := &Identity{User: user, Source: "file"}
		for _, op := range []Perm{PermList, PermUpload, PermAll} {
			d := p.Decide(id, op, path)
			if d.Allowed && d.Hidden {
				t.Fatal("allowed and hidden")
			}
		}
		_ = p.Explain(user, PermList, path, netipZero)
	})
}

// FuzzDecide: for one user with up to six fuzzed rules, Decide equals an
// independent oracle: the most specific matching rules (reference
// matcher and specificity), intersected on ties, with hidden ancestors;
// in particular no path gets more than its most specific rule gives.
func FuzzDecide(f *testing.F) {
	f.Add("/a/**|/a/*.txt|/**/*.exe", []byte{0xff, 0x01, 0x03, 0x00, 0x00, 0x00}, "/a/b.txt", uint16(PermDownload), uint16(PermList))
	f.Add("/x|/x/**/y", []byte{0x00, 0x00, 0xff, 0x01}, "/x/q/y", uint16(PermList), uint16(PermAll))
	f.Add("/t/*.log|/t/app.*", []byte{0x03, 0x00, 0x21, 0x00}, "/t/app.log", uint16(PermDownload), uint16(0))
	f.Add("/**|/pub/**", []byte{0x00, 0x00, 0x03, 0x00}, "/pub/f", uint16(PermDownload), uint16(0))
	f.Fuzz(func(t *testing.T, globs string, perms []byte, path string, op, lists uint16) {
		var rules []RuleConfig
		var gl []string
		var rp []Perm
		seen := map[string]bool{}
		for i, g := range strings.Split(globs, "|") {
			if i >= 6 || len(g) > 24 || strings.Count(g, "*") > 6 {
				break
			}
			if _, err := compileGlob(g); err != nil || seen[g] {
				continue
			}
			seen[g] = true
			var pm Perm
			if 2*i+1 < len(perms) {
				pm = Perm(uint16(perms[2*i])|uint16(perms[2*i+1])<<8) & PermAll
			}
			rules = append(rules, RuleConfig{Path: g, Permissions: pm.Names()})
			gl = append(gl, g)
			rp = append(rp, pm)
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if len(path) > 24 || strings.Contains(path, "//") || (path != "/" && strings.HasSuffix(path, "/")) || strings.ContainsRune(path, 0) {
			return
		}
		lp := Perm(lists) & PermAll
		p, err := Compile(Config{Users: []UserConfig{{Name: "u", PasswordHash: "$2b$04$" + strings.Repeat("a", 53),
			Permissions: lp.Names(), Rules: rules}}})
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		oracle := func(path string) (found bool, perms Perm) {
			var best [4]int
			for i, g := range gl {
				if !refMatch(g, path) {
					continue
				}
				k := refSpec(g)
				switch {
				case !found || cmpKey(k, best) > 0:
					found, best, perms = true, k, rp[i]
				case cmpKey(k, best) == 0:
					perms &= rp[i]
				}
			}
			return found, perms
		}
		op16 := Perm(op) & PermAll
		var want Decision
		hiddenAnc := false
		for i := 1; i < len(path); i++ {
			if path[i] == '/' {
				if f, pm := oracle(path[:i]); f && pm == 0 {
					hiddenAnc = true
				}
			}
		}
		found, pm := oracle(path)
		switch {
		case hiddenAnc || (found && pm == 0):
			want.Hidden = true
		case found:
			want.Allowed = op16 != 0 && pm&op16 == op16
		default:
			want.Allowed = op16 != 0 && lp&op16 == op16
		}
		d := p.Decide(&Identity{User: "u", Source: "file"}, op16, path)
		if d.Allowed != want.Allowed || d.Hidden != want.Hidden {
			t.Fatalf("rules %q perms %v path %q op %v lists %v: got %+v, oracle %+v", gl, rp, path, op16, lp, d, want)
		}
		if found && d.Allowed && pm&op16 != op16 {
			t.Fatalf("more permission than the most specific rule gives")
		}
	})
}
