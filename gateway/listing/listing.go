package listing

import (
	"fmt"
	"io/fs"
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
	return fmt.Sprintf("%c%s 1 ftp ftp %13d %s %s",
		typ, permString(perm), size, lsTime(fi.ModTime(), now), sanitize(fi.Name()))
}

// permString renders the nine rwx permission characters.
func permString(p fs.FileMode) string {
	const rwx = "rwxrwxrwx"
	var b [9]byte
	for i := range b {
		if p&(1<<(8-i)) != 0 {
			b[i] = rwx[i]
		} else {
			b[i] = '-'
		}
	}
	return string(b[:])
}

// lsTime formats t the way ls -l does, in UTC.
func lsTime(t, now time.Time) string {
	t = t.UTC()
	if t.After(now) || now.Sub(t) > sixMonths {
		return t.Format("Jan _2  2006")
	}
	return t.Format("Jan _2 15:04")
}

// FormatMDTM formats t in UTC as the RFC 3659 time-val YYYYMMDDHHMMSS, for
// MDTM replies and the modify fact.
func FormatMDTM(t time.Time) string {
	return t.UTC().Format("20060102150405")
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
	t, err := time.ParseInLocation("20060102150405", main, time.UTC)
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
