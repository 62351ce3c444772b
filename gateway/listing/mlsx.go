package listing

import (
	"strconv"
	"strings"
	"time"
)

// Values of the RFC 3659 type fact.
const (
	TypeFile = "file" // a regular file
	TypeDir  = "dir"  // a directory listed inside its parent
	TypeCDir = "cdir" // the listed directory itself (MLSD's ".", MLST of a directory)
	TypePDir = "pdir" // the parent of the listed directory
)

// Facts are the RFC 3659 facts the gateway reports for one entry. Zero
// values are omitted from the line: an empty Type, Perm or Unique, a zero
// Modify. Size is shown for files only.
type Facts struct {
	Type   string    // TypeFile, TypeDir, TypeCDir or TypePDir
	Size   int64     // bytes; files only
	Modify time.Time // last modification
	Perm   string    // from PermFact
	Unique string    // an identifier unique to the file on this server
}

// MLSxLine returns f and name as one MLSD/MLST entry, without the line end:
// facts in the order type, size, modify, perm, unique, each as
// "fact=value;", then a single space and the name, e.g.
//
//	type=file;size=1234;modify=20261122100300;perm=rwadf; name
//
// modify is UTC, whole seconds. Fact values lose any ';', space, CR, LF or
// NUL (they would break the line's syntax); the name has CR, LF and NUL
// replaced by '?'. MLST replies need a leading space, which the caller adds.
func MLSxLine(f Facts, name string) string {
	var scratch [160]byte // the facts, on the stack
	b := appendFact(scratch[:0], "type", f.Type)
	if f.Type == TypeFile || f.Type == "" {
		b = append(b, "size="...)
		b = strconv.AppendInt(b, max(f.Size, 0), 10)
		b = append(b, ';')
	}
	if !f.Modify.IsZero() {
		b = append(b, "modify="...)
		b = f.Modify.UTC().AppendFormat(b, mdtmLayout)
		b = append(b, ';')
	}
	b = appendFact(b, "perm", f.Perm)
	b = appendFact(b, "unique", f.Unique)
	b = append(b, ' ')
	name = sanitize(name)
	var l strings.Builder
	l.Grow(len(b) + len(name))
	l.Write(b)
	l.WriteString(name)
	return l.String()
}

// appendFact appends "k=v;" for a non-empty v, without the bytes that
// would break the line's syntax.
func appendFact(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, k...)
	b = append(b, '=')
	b = append(b, factValue(v)...)
	return append(b, ';')
}

func factValue(v string) string {
	if !strings.ContainsAny(v, "; \r\n\x00") {
		return v
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ';', ' ', '\r', '\n', 0:
			return -1
		}
		return r
	}, v)
}

// PermSet says what the current user may do with one entry; PermFact turns
// it into the RFC 3659 perm fact. Each field names the FTP commands it
// stands for; fields that do not apply to the entry's kind are ignored.
type PermSet struct {
	Append bool // a (file): APPE to it
	Create bool // c (dir): STOR/STOU a new file in it
	Delete bool // d (file or dir): DELE it, or RMD it
	Enter  bool // e (dir): CWD into it
	Rename bool // f (file or dir): RNFR it
	List   bool // l (dir): LIST, NLST, MLSD it
	Mkdir  bool // m (dir): MKD inside it
	Purge  bool // p (dir): delete the entries inside it
	Read   bool // r (file): RETR it
	Write  bool // w (file): STOR over it
}

// PermFact returns the perm fact value for a file or directory with the
// permissions p, letters in RFC 3659 order (a c d e f l m p r w). Only the
// letters defined for the entry's kind appear: a, d, f, r, w for files;
// c, d, e, f, l, m, p for directories.
func PermFact(isDir bool, p PermSet) string {
	var b [10]byte
	n := 0
	add := func(ok bool, c byte) {
		if ok {
			b[n] = c
			n++
		}
	}
	if isDir {
		add(p.Create, 'c')
		add(p.Delete, 'd')
		add(p.Enter, 'e')
		add(p.Rename, 'f')
		add(p.List, 'l')
		add(p.Mkdir, 'm')
		add(p.Purge, 'p')
	} else {
		add(p.Append, 'a')
		add(p.Delete, 'd')
		add(p.Rename, 'f')
		add(p.Read, 'r')
		add(p.Write, 'w')
	}
	return string(b[:n])
}
