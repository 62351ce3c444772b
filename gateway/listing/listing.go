package listing

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// sixMonths is the age beyond which ls shows the year instead of the time
// of day (half a Gregorian year, as GNU ls uses).
const sixMonths = 15778476 * time.Second

// SafeName reports whether name can appear in a listing unchanged: it
// contains no CR, LF or NUL. Callers should omit entries for which it is
// false rather than show a mangled name the client cannot use.
func SafeName(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f {
			return false // CR, LF, NUL, ESC and the other control bytes
		}
	}
	return true
}

// sanitize replaces the bytes that would break the line structure.
func sanitize(s string) string {
	if SafeName(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', 0:
			return '?'
		}
		return r
	}, s)
}

// ListLine returns fi as one line of a Unix "ls -l" listing, without the
// line end: type and permissions, link count 1, owner and group "ftp",
// size, modification time in UTC and name, as in
//
//	-rw-r--r-- 1 ftp ftp          1234 Nov 22 10:03 name
//
// Times within the six months before now show the time of day; older ones
// and those in the future show the year instead. A zero permission (common
// for object stores) is shown as rw-r--r-- for files and rwxr-xr-x for
// directories.
func ListLine(fi fs.FileInfo, now time.Time) string {
	mode := fi.Mode()
	perm := mode.Perm()
	typ := byte('-')
	switch {
	case mode.IsDir():
		typ = 'd'
		if perm == 0 {
			perm = 0o755
		}
	case mode&fs.ModeSymlink != 0:
		typ = 'l'
	default:
		if perm == 0 {
			perm = 0o644
		}
	}
	size := fi.Size()
	if mode.IsDir() && size <= 0 {
		size = 4096
	}
	name := sanitize(fi.Name())
	var scratch [96]byte // the line but the name, on the stack
	b := append(scratch[:0], typ)
	b = appendPerm(b, perm)
	b = append(b, " 1 ftp ftp "...)
	b = appendPadded(b, size, 13)
	b = append(b, ' ')
	b = appendLsTime(b, fi.ModTime(), now)
	b = append(b, ' ')
	var l strings.Builder
	l.Grow(len(b) + len(name))
	l.Write(b)
	l.WriteString(name)
	return l.String()
}

// appendPerm appends the nine rwx permission characters.
func appendPerm(b []byte, p fs.FileMode) []byte {
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if p&(1<<(8-i)) != 0 {
			b = append(b, rwx[i])
		} else {
			b = append(b, '-')
		}
	}
	return b
}

// appendPadded appends n right-aligned in width bytes, as %*d does.
func appendPadded(b []byte, n int64, width int) []byte {
	var digits [24]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	for range width - len(d) {
		b = append(b, ' ')
	}
	return append(b, d...)
}

// appendLsTime appends t the way ls -l shows it, in UTC.
func appendLsTime(b []byte, t, now time.Time) []byte {
	t = t.UTC()
	if t.After(now) || now.Sub(t) > sixMonths {
		return t.AppendFormat(b, "Jan _2  2006")
	}
	return t.AppendFormat(b, "Jan _2 15:04")
}

// mdtmLayout is the RFC 3659 time-val without a fraction.
const mdtmLayout = "20060102150405"

// FormatMDTM formats t in UTC as the RFC 3659 time-val YYYYMMDDHHMMSS, for
// MDTM replies and the modify fact.
func FormatMDTM(t time.Time) string {
	return t.UTC().Format(mdtmLayout)
}

// ParseMDTM parses an RFC 3659 time-val, YYYYMMDDHHMMSS with an optional
// fraction of one to nine digits (".sss"), as sent with MFMT. The time is
// UTC. Anything else, including out-of-range fields, is an error.
func ParseMDTM(s string) (time.Time, error) {
	main, frac, hasFrac := strings.Cut(s, ".")
	if len(main) != 14 || !allDigits(main) {
		return time.Time{}, fmt.Errorf("parse time %q: want YYYYMMDDHHMMSS", s)
	}
	if hasFrac && (len(frac) == 0 || len(frac) > 9 || !allDigits(frac)) {
		return time.Time{}, fmt.Errorf("parse time %q: bad fraction", s)
	}
	t, err := time.ParseInLocation(mdtmLayout, main, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	if hasFrac {
		ns := 0
		for i := range 9 {
			ns *= 10
			if i < len(frac) {
				ns += int(frac[i] - '0')
			}
		}
		t = t.Add(time.Duration(ns))
	}
	return t, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
