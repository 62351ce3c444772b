package policy

import (
	"fmt"
	"strings"
)

// permNames lists the config names in bit order.
var permNames = [...]struct {
	name string
	perm Perm
}{
	{"list", PermList},
	{"download", PermDownload},
	{"upload", PermUpload},
	{"overwrite", PermOverwrite},
	{"append", PermAppend},
	{"delete", PermDelete},
	{"rename", PermRename},
	{"mkdir", PermMkdir},
	{"rmdir", PermRmdir},
}

// PermNames returns the config names of the single permissions in bit
// order: list, download, upload, overwrite, append, delete, rename, mkdir,
// rmdir. It is the one spelling of these names; the caller owns the
// slice.
func PermNames() []string {
	out := make([]string, len(permNames))
	for i, e := range permNames {
		out[i] = e.name
	}
	return out
}

// Name returns the config name of a single permission ("list", "upload",
// ...) and "other" for anything else: PermNone, several bits, unknown
// bits. It suits closed label sets and log fields, and never allocates.
func (p Perm) Name() string {
	for _, e := range permNames {
		if p == e.perm {
			return e.name
		}
	}
	return "other"
}

// ParsePerms converts config permission names ("list", "download",
// "upload", "overwrite", "append", "delete", "rename", "mkdir", "rmdir" and
// "*" for all of them) into a Perm. Names are case-sensitive. An empty list
// is PermNone. Every unknown name is reported, joined with errors.Join.
func ParsePerms(names []string) (Perm, error) {
	var p Perm
	var bad []string
	for _, n := range names {
		q, ok := parsePerm(n)
		if !ok {
			bad = append(bad, fmt.Sprintf("%q", n))
			continue
		}
		p |= q
	}
	if len(bad) > 0 {
		return p, fmt.Errorf("unknown permission %s (known: %s, *)",
			strings.Join(bad, ", "), strings.Join(PermNames(), ", "))
	}
	return p, nil
}

func parsePerm(n string) (Perm, bool) {
	if n == "*" {
		return PermAll, true
	}
	for _, e := range permNames {
		if e.name == n {
			return e.perm, true
		}
	}
	return 0, false
}

// String returns the config names of p as a list in brackets, "[*]" for
// PermAll and "[]" for PermNone, e.g. "[list download]". Unknown bits are
// shown in hex.
func (p Perm) String() string {
	if p&PermAll == PermAll && p&^PermAll == 0 {
		return "[*]"
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, e := range permNames {
		if p&e.perm != 0 {
			if b.Len() > 1 {
				b.WriteByte(' ')
			}
			b.WriteString(e.name)
		}
	}
	if rest := p &^ PermAll; rest != 0 {
		if b.Len() > 1 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%#x", uint16(rest))
	}
	b.WriteByte(']')
	return b.String()
}

// Names returns the config names of p, ["*"] for PermAll, in the order
// ParsePerms accepts them.
func (p Perm) Names() []string {
	if p&PermAll == PermAll {
		return []string{"*"}
	}
	var out []string
	for _, e := range permNames {
		if p&e.perm != 0 {
			out = append(out, e.name)
		}
	}
	return out
}

// writePerms is the set of permissions that change stored data.
const writePerms = PermUpload | PermOverwrite | PermAppend | PermDelete | PermRename | PermMkdir | PermRmdir
