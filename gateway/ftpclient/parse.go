package ftpclient

// The protocol text an FTP client reads from a server, parsed in one
// place (the upstream-FTP backend and the doctor both use it): FEAT lines, EPSV and PASV replies, MDTM and SIZE replies, MLSD
// and MLST fact lines (RFC 3659) and LIST lines in the Unix ls format and
// the Windows/IIS DIR format. Everything here is a pure function of its
// input; the server is not trusted, so nothing panics, sizes and ports
// are range-checked, and names are returned as sent for the caller to
// vet.

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"time"
)

// ErrParse reports protocol text this package cannot read.
var ErrParse = errors.New("unparsable upstream reply")

// Kind is what a listed Entry is.
type Kind int

// The kinds of listed entries.
const (
	KindFile  Kind = iota // a regular file
	KindDir               // a directory
	KindLink              // a symbolic link
	KindOther             // a device, socket, ... or an unknown type
	KindSelf              // MLSD's cdir and pdir: the directory itself and its parent
)

// Entry is one parsed listing line.
type Entry struct {
	Name  string
	Kind  Kind
	Size  int64
	MTime time.Time   // zero when the line had none
	Perm  fs.FileMode // permission bits; 0 when unknown
}

// Features is what a server.s FEAT reply offers, by upper-case
// keyword ("MLST", "REST", "UTF8", ...) with the rest of the line.
type Features map[string]string

// ParseFeat reads a FEAT reply's text (textproto joins the lines with
// "\n"): feature lines start with a space.
func ParseFeat(msg string) Features {
	f := Features{}
	for line := range strings.SplitSeq(msg, "\n") {
		if !strings.HasPrefix(line, " ") {
			continue
		}
		key, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		if key != "" {
			f[strings.ToUpper(key)] = strings.TrimSpace(rest)
		}
	}
	return f
}

// Has reports whether the server offers key.
func (f Features) Has(key string) bool {
	_, ok := f[key]
	return ok
}

// RestStream reports REST STREAM (RFC 3659 section 5): restarting a
// transfer at a byte offset.
func (f Features) RestStream() bool {
	return strings.EqualFold(strings.TrimSpace(f["REST"]), "STREAM")
}

// ParseEPSV reads the port of "229 ... (|||port|)" (RFC 2428: any
// delimiter, the same four times).
func ParseEPSV(msg string) (int, error) {
	i := strings.IndexByte(msg, '(')
	j := strings.LastIndexByte(msg, ')')
	if i < 0 || j < i+5 {
		return 0, fmt.Errorf("%w: EPSV reply %q", ErrParse, msg)
	}
	inner := msg[i+1 : j]
	d := inner[:1]
	parts := strings.Split(inner, d)
	if len(parts) != 5 || parts[1] != "" || parts[2] != "" || parts[4] != "" {
		return 0, fmt.Errorf("%w: EPSV reply %q", ErrParse, msg)
	}
	port, err := strconv.Atoi(parts[3])
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("%w: EPSV port in %q", ErrParse, msg)
	}
	return port, nil
}

// ParsePASV reads "227 ... h1,h2,h3,h4,p1,p2 ...": the first six
// comma-separated numbers after the code (RFC 1123 4.1.2.6: scan for
// them, the parentheses are optional).
func ParsePASV(msg string) (net.IP, int, error) {
	start := strings.IndexAny(msg, "0123456789")
	if start < 0 {
		return nil, 0, fmt.Errorf("%w: PASV reply %q", ErrParse, msg)
	}
	end := start
	for end < len(msg) && (msg[end] == ',' || msg[end] >= '0' && msg[end] <= '9') {
		end++
	}
	parts := strings.Split(msg[start:end], ",")
	if len(parts) < 6 {
		return nil, 0, fmt.Errorf("%w: PASV reply %q", ErrParse, msg)
	}
	var b [6]byte
	for i := range b {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 || n > 255 {
			return nil, 0, fmt.Errorf("%w: PASV reply %q", ErrParse, msg)
		}
		b[i] = byte(n)
	}
	port := int(b[4])<<8 | int(b[5])
	if port == 0 {
		return nil, 0, fmt.Errorf("%w: PASV port 0 in %q", ErrParse, msg)
	}
	return net.IPv4(b[0], b[1], b[2], b[3]), port, nil
}

// ParseTime reads an RFC 3659 time-val, YYYYMMDDHHMMSS[.sss], in UTC.
func ParseTime(s string) (time.Time, error) {
	if len(s) < 14 {
		return time.Time{}, fmt.Errorf("%w: time %q", ErrParse, s)
	}
	t, err := time.ParseInLocation("20060102150405", s[:14], time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q", ErrParse, s)
	}
	if frac := s[14:]; len(frac) > 1 && frac[0] == '.' {
		if ms, err := strconv.Atoi(frac[1:min(len(frac), 4)]); err == nil {
			t = t.Add(time.Duration(ms) * time.Millisecond)
		}
	}
	return t, nil
}

// ParseSize reads a SIZE reply's number.
func ParseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: size %q", ErrParse, s)
	}
	return n, nil
}

// ParseMLSx reads one MLSD line or MLST fact line: "fact=value;...; name".
// Fact values hold no space (RFC 3659 section 7.2), so the name is
// everything after the first space.
func ParseMLSx(line string) (Entry, error) {
	facts, name, ok := strings.Cut(line, " ")
	if !ok || name == "" {
		return Entry{}, fmt.Errorf("%w: MLSx line %q", ErrParse, line)
	}
	e := Entry{Name: name, Kind: KindOther}
	for fact := range strings.SplitSeq(facts, ";") {
		key, val, ok := strings.Cut(fact, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(key) {
		case "type":
			e.Kind = mlsxKind(val)
		case "size":
			if n, err := ParseSize(val); err == nil {
				e.Size = n
			}
		case "modify":
			if t, err := ParseTime(val); err == nil {
				e.MTime = t
			}
		case "unix.mode":
			if m, err := strconv.ParseUint(val, 8, 32); err == nil {
				e.Perm = fs.FileMode(m) & fs.ModePerm
			}
		}
	}
	return e, nil
}

// mlsxKind maps a type fact.
func mlsxKind(v string) Kind {
	v = strings.ToLower(v)
	switch {
	case v == "file":
		return KindFile
	case v == "dir":
		return KindDir
	case v == "cdir" || v == "pdir":
		return KindSelf
	case strings.Contains(v, "link"): // OS.unix=slink:/target, OS.unix=symlink
		return KindLink
	}
	return KindOther
}

// ParseList reads one LIST line, in the Unix ls -l format or the
// Windows/IIS DIR format. now places the year-less dates of ls (recent
// files) and UTC is assumed, as RFC 3659 times are. "total N" lines and
// anything unreadable are errors the caller skips.
func ParseList(line string, now time.Time) (Entry, error) {
	line = strings.TrimRight(line, "\r")
	if e, err := parseUnixList(line, now); err == nil {
		return e, nil
	}
	return parseDOSList(line)
}

// months are ls's month abbreviations.
var months = map[string]time.Month{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

// parseUnixList reads "drwxr-xr-x 2 owner group 4096 Dec  1 21:46 name"
// and its variants (no group, ACL markers, numeric ids): the date is
// found as a month name followed by a day and a time or year, the size is
// the field before it.
func parseUnixList(line string, now time.Time) (Entry, error) {
	fields, starts := splitFields(line)
	if len(fields) < 6 || len(fields[0]) < 10 {
		return Entry{}, fmt.Errorf("%w: LIST line %q", ErrParse, line)
	}
	e := Entry{Kind: unixKind(fields[0][0]), Perm: unixPerm(fields[0][1:10])}
	for i := 2; i+3 < len(fields); i++ {
		mon, ok := months[strings.ToLower(fields[i])]
		if !ok {
			continue
		}
		t, err := unixTime(mon, fields[i+1], fields[i+2], now)
		if err != nil {
			continue
		}
		size, err := ParseSize(fields[i-1])
		if err != nil {
			continue
		}
		e.Size, e.MTime = size, t
		// ls puts one space before the name, which may itself start
		// with spaces.
		e.Name = line[starts[i+2]+len(fields[i+2])+1:]
		if e.Kind == KindLink {
			if j := strings.Index(e.Name, " -> "); j > 0 {
				e.Name = e.Name[:j]
			}
		}
		return e, nil
	}
	return Entry{}, fmt.Errorf("%w: LIST line %q", ErrParse, line)
}

// splitFields splits on runs of spaces and returns the fields with their
// byte offsets, so a name keeps its inner spaces.
func splitFields(line string) ([]string, []int) {
	var fields []string
	var starts []int
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		fields = append(fields, line[i:j])
		starts = append(starts, i)
		i = j
	}
	return fields, starts
}

// unixKind maps the first character of ls's mode string.
func unixKind(c byte) Kind {
	switch c {
	case '-':
		return KindFile
	case 'd':
		return KindDir
	case 'l':
		return KindLink
	}
	return KindOther
}

// unixPerm reads "rwxr-xr-x" (s, S, t, T count as x or not).
func unixPerm(s string) fs.FileMode {
	var m fs.FileMode
	for i := range 9 {
		if c := s[i]; c != '-' && c != 'S' && c != 'T' {
			m |= 1 << (8 - i)
		}
	}
	return m
}

// unixTime reads ls's "Dec  1 21:46" (within the last six months, year
// implied) or "Dec  1  2025".
func unixTime(mon time.Month, day, hm string, now time.Time) (time.Time, error) {
	d, err := strconv.Atoi(day)
	if err != nil || d < 1 || d > 31 {
		return time.Time{}, ErrParse
	}
	if h, m, ok := strings.Cut(hm, ":"); ok {
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || hh > 23 || mm > 59 || hh < 0 || mm < 0 {
			return time.Time{}, ErrParse
		}
		t := time.Date(now.Year(), mon, d, hh, mm, 0, 0, time.UTC)
		if t.After(now.Add(48 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
		return t, nil
	}
	y, err := strconv.Atoi(hm)
	if err != nil || len(hm) != 4 {
		return time.Time{}, ErrParse
	}
	return time.Date(y, mon, d, 0, 0, 0, 0, time.UTC), nil
}

// dosLayouts are the date and time forms of the Windows/IIS DIR format.
var dosLayouts = []string{"01-02-06 03:04PM", "01-02-2006 03:04PM", "01-02-06 15:04", "01-02-2006 15:04", "2006-01-02 15:04"}

// parseDOSList reads "01-02-06  03:04PM       <DIR>          name" and
// "01-02-2006  03:04PM  1234 name".
func parseDOSList(line string) (Entry, error) {
	fields, starts := splitFields(line)
	if len(fields) < 4 {
		return Entry{}, fmt.Errorf("%w: LIST line %q", ErrParse, line)
	}
	var t time.Time
	var err error
	for _, layout := range dosLayouts {
		if t, err = time.ParseInLocation(layout, fields[0]+" "+strings.ToUpper(fields[1]), time.UTC); err == nil {
			break
		}
	}
	if err != nil {
		return Entry{}, fmt.Errorf("%w: LIST line %q", ErrParse, line)
	}
	e := Entry{MTime: t, Name: line[starts[3]:]}
	if strings.EqualFold(fields[2], "<DIR>") {
		e.Kind = KindDir
		return e, nil
	}
	if e.Size, err = ParseSize(strings.ReplaceAll(fields[2], ",", "")); err != nil {
		return Entry{}, fmt.Errorf("%w: LIST line %q", ErrParse, line)
	}
	e.Kind = KindFile
	return e, nil
}
