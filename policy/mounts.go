package policy

import (
	"slices"
	"strings"
)

// checkMounts validates one block's mount list: clean absolute paths other
// than "/", a backend named, a clean absolute directory, and no two mounts
// of the block overlapping (equal, or one inside the other).
func checkMounts(ms []MountConfig, bad func(field, msg string)) {
	for i, m := range ms {
		field := "mount " + m.Path
		switch {
		case m.Path == "/" || !isCleanAbs(m.Path):
			bad(field, "the mount path must be a clean absolute path other than /")
			continue
		case m.Backend == "":
			bad(field, "backend is required")
		case m.Dir != "" && !isCleanAbs(m.Dir):
			bad(field, "path must be a clean absolute path")
		}
		for _, o := range ms[:i] {
			if o.Path == "/" || !isCleanAbs(o.Path) {
				continue
			}
			if MountsOverlap(o.Path, m.Path) {
				bad(field, "overlaps mount "+o.Path)
			}
		}
	}
}

// reuseExempt combines session_reuse settings: the user's own when set,
// else "observe" on any of its groups.
func reuseExempt(own string, groups []*group) bool {
	if own != "" {
		return own == "observe"
	}
	for _, g := range groups {
		if g.cfg.SessionReuse == "observe" {
			return true
		}
	}
	return false
}

// checkReuse validates a session_reuse value of a user or group block.
func checkReuse(v string, bad func(field, msg string)) {
	if v != "" && v != "observe" && v != "required" {
		bad("session_reuse", `want "observe" or "required"`)
	}
}

// MountsOverlap reports whether two virtual mount paths collide: equal, or
// one inside the other.
func MountsOverlap(a, b string) bool {
	if a == b {
		return true
	}
	return strings.HasPrefix(b, strings.TrimSuffix(a, "/")+"/") ||
		strings.HasPrefix(a, strings.TrimSuffix(b, "/")+"/")
}

// mountsFor combines a login's mounts: the user's own first, then each
// group's in order, skipping any that overlaps one already taken (so a
// user's mount replaces a group's at the same place). The result is sorted
// by path and shares no slice with the configuration.
func mountsFor(own []MountConfig, groups []*group) []MountConfig {
	var out []MountConfig
	add := func(ms []MountConfig) {
		for _, m := range ms {
			if slices.ContainsFunc(out, func(o MountConfig) bool { return MountsOverlap(o.Path, m.Path) }) {
				continue
			}
			if m.Dir == "" {
				m.Dir = "/"
			}
			out = append(out, m)
		}
	}
	add(own)
	for _, g := range groups {
		add(g.cfg.Mounts)
	}
	slices.SortFunc(out, func(a, b MountConfig) int { return strings.Compare(a.Path, b.Path) })
	return out
}
