package policy

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Glob syntax, bounds and specificity.
//
// A rule glob is a clean absolute slash path: it starts with "/", has no
// empty, "." or ".." segments and no trailing slash ("/" alone is the
// home). Inside a segment "*" matches any run of bytes other than "/"; a
// segment that is exactly "**" matches zero or more whole segments, so
// "/dir/**" covers "/dir" itself and everything below it. "**" inside a
// longer segment is an error. Every other byte is literal; matching is
// byte-exact and case-sensitive (no Unicode normalisation: the gateway
// cleans paths, the policy compares bytes).
//
// Matching uses no regular expressions and no recursion. At both levels
// (segments against "**", bytes against "*") it is the greedy
// two-pointer wildcard algorithm that only ever returns to the most recent
// star, which is exact for star-only patterns and costs at most
// O(len(pattern) * len(path)) steps; paths longer than maxPathLen bytes
// never match.
//
// Specificity orders matching rules; the highest wins. Two globs are
// compared on, in this order:
//
//  1. literal segments: segments without any "*" (more wins);
//  2. literal bytes: bytes other than "*" in the segments that are not
//     "**" (more wins);
//  3. single-segment wildcards: segments that contain "*" but are not
//     "**" (more wins, they pin the depth);
//  4. "**" segments (fewer wins).
//
// So "/a/b" > "/a/*" > "/a/**" > "/**", and "/**/*.exe" > "/**". Rules
// equal on all four keys are equally specific; when several of them
// match, their permissions are intersected (the more restrictive wins).

const (
	maxPathLen  = 4096 // longest path the matcher looks at
	maxGlobLen  = 1024 // longest rule glob Compile accepts
	maxGlobSegs = 64   // most segments in a rule glob
)

// segKind tells how one glob segment matches.
type segKind uint8

const (
	segLiteral segKind = iota // exact bytes
	segStar                   // contains "*": single-segment wildcard
	segAny                    // "**": zero or more segments
)

type globSeg struct {
	kind segKind
	text string // the segment's bytes (with its "*"s for segStar)
}

// glob is a compiled rule path.
type glob struct {
	src    string
	segs   []globSeg
	spec   specificity
	prefix string // leading literal segments, "/a/b" for "/a/b/*"; a quick reject
}

// specificity is the ordering key described above.
type specificity struct {
	literalSegs int
	literalLen  int
	starSegs    int
	anySegs     int
}

// compare returns +1 when s is more specific than o, -1 when less, 0 when
// equal.
func (s specificity) compare(o specificity) int {
	switch {
	case s.literalSegs != o.literalSegs:
		return sign(s.literalSegs - o.literalSegs)
	case s.literalLen != o.literalLen:
		return sign(s.literalLen - o.literalLen)
	case s.starSegs != o.starSegs:
		return sign(s.starSegs - o.starSegs)
	case s.anySegs != o.anySegs:
		return sign(o.anySegs - s.anySegs)
	}
	return 0
}

func (s specificity) String() string {
	return "literal_segments=" + strconv.Itoa(s.literalSegs) +
		" literal_bytes=" + strconv.Itoa(s.literalLen) +
		" wildcard_segments=" + strconv.Itoa(s.starSegs) +
		" double_star_segments=" + strconv.Itoa(s.anySegs)
}

func sign(n int) int {
	if n > 0 {
		return 1
	}
	if n < 0 {
		return -1
	}
	return 0
}

// compileGlob validates and compiles a rule path.
func compileGlob(src string) (*glob, error) {
	switch {
	case src == "":
		return nil, errors.New("empty rule path")
	case len(src) > maxGlobLen:
		return nil, errors.New("rule path longer than " + strconv.Itoa(maxGlobLen) + " bytes")
	case src[0] != '/':
		return nil, errors.New("rule path must start with /")
	case !utf8.ValidString(src):
		return nil, errors.New("rule path is not valid UTF-8")
	}
	for i := 0; i < len(src); i++ {
		if src[i] < 0x20 || src[i] == 0x7f {
			return nil, errors.New("rule path contains a control byte")
		}
	}
	g := &glob{src: src}
	if src == "/" {
		return g, nil
	}
	if strings.HasSuffix(src, "/") {
		return nil, errors.New("rule path must not end with /")
	}
	parts := strings.Split(src[1:], "/")
	if len(parts) > maxGlobSegs {
		return nil, errors.New("rule path has more than " + strconv.Itoa(maxGlobSegs) + " segments")
	}
	for _, p := range parts {
		switch {
		case p == "" || p == "." || p == "..":
			return nil, errors.New("rule path must be clean (no empty, . or .. segments)")
		case p == "**":
			// Consecutive "**" add nothing; fold them.
			if n := len(g.segs); n > 0 && g.segs[n-1].kind == segAny {
				continue
			}
			g.segs = append(g.segs, globSeg{kind: segAny, text: p})
			g.spec.anySegs++
		case strings.Contains(p, "**"):
			return nil, errors.New(`"**" must be a whole segment`)
		case strings.Contains(p, "*"):
			g.segs = append(g.segs, globSeg{kind: segStar, text: p})
			g.spec.starSegs++
			g.spec.literalLen += len(p) - strings.Count(p, "*")
		default:
			g.segs = append(g.segs, globSeg{kind: segLiteral, text: p})
			g.spec.literalSegs++
			g.spec.literalLen += len(p)
		}
	}
	for _, sg := range g.segs {
		if sg.kind != segLiteral {
			break
		}
		g.prefix += "/" + sg.text
	}
	return g, nil
}

// match reports whether the clean absolute path matches g. It does not
// allocate.
func (g *glob) match(path string) bool {
	if len(path) == 0 || len(path) > maxPathLen || path[0] != '/' || !strings.HasPrefix(path, g.prefix) {
		return false
	}
	// Path segments are addressed by the byte offset where they start;
	// end is one past the last byte. "/" has no segments.
	end := len(path)
	pos := 1
	if end == 1 {
		pos = end
	}
	pi := 0
	starPi, starPos := -1, 0
	for pos < end {
		seg, next := nextSeg(path, pos)
		if pi < len(g.segs) {
			gs := &g.segs[pi]
			if gs.kind == segAny {
				starPi, starPos = pi, pos
				pi++
				continue
			}
			if gs.matchSeg(seg) {
				pi++
				pos = next
				continue
			}
		}
		if starPi < 0 {
			return false
		}
		// Let the last "**" swallow one more segment and retry.
		_, starPos = nextSeg(path, starPos)
		pi, pos = starPi+1, starPos
	}
	for pi < len(g.segs) && g.segs[pi].kind == segAny {
		pi++
	}
	return pi == len(g.segs)
}

// nextSeg returns the segment starting at pos and the start of the next
// one (len(path) at the end).
func nextSeg(path string, pos int) (string, int) {
	i := strings.IndexByte(path[pos:], '/')
	if i < 0 {
		return path[pos:], len(path)
	}
	return path[pos : pos+i], pos + i + 1
}

// matchSeg matches one path segment.
func (gs *globSeg) matchSeg(s string) bool {
	if gs.kind == segLiteral {
		return gs.text == s
	}
	return starMatch(gs.text, s)
}

// starMatch matches s against p where '*' in p matches any run of bytes
// (s never contains '/'). Greedy with one backtrack point: O(len(p)*len(s)).
func starMatch(p, s string) bool {
	pi, si := 0, 0
	starPi, starSi := -1, 0
	for si < len(s) {
		if pi < len(p) && p[pi] == '*' {
			starPi, starSi = pi, si
			pi++
			continue
		}
		if pi < len(p) && p[pi] == s[si] {
			pi++
			si++
			continue
		}
		if starPi < 0 {
			return false
		}
		starSi++
		pi, si = starPi+1, starSi
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// rule is one compiled `rule` block.
type rule struct {
	glob   *glob
	perms  Perm
	owner  string // `user "alice"` or `group "readers"`
	reason string // precomputed Decision.Reason
}

// hidden reports whether the rule makes its paths invisible.
func (r *rule) hidden() bool { return r.perms == PermNone }

// compileRules compiles the rule blocks of one user or group, appending
// every problem to errs.
func compileRules(rcs []RuleConfig, kind, name string, errs *[]error) []rule {
	parent := kind + ` "` + name + `"`
	seen := make(map[string]bool, len(rcs))
	out := make([]rule, 0, len(rcs))
	for _, rc := range rcs {
		g, err := compileGlob(rc.Path)
		if err != nil {
			*errs = append(*errs, &ConfigError{Parent: parent, Block: "rule", Name: rc.Path, Msg: err.Error()})
		}
		if seen[rc.Path] {
			*errs = append(*errs, &ConfigError{Parent: parent, Block: "rule", Name: rc.Path, Msg: "duplicate rule path"})
		}
		seen[rc.Path] = true
		perms, perr := ParsePerms(rc.Permissions)
		if perr != nil {
			*errs = append(*errs, &ConfigError{Parent: parent, Block: "rule", Name: rc.Path, Field: "permissions", Msg: perr.Error()})
		}
		if err != nil || perr != nil {
			continue
		}
		out = append(out, rule{
			glob:   g,
			perms:  perms,
			owner:  kind + " " + name,
			reason: "rule:" + rc.Path + " (" + kind + " " + name + ")",
		})
	}
	return out
}
