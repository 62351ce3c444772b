package ftpclient

import (
	"net"
	"strconv"
	"testing"
	"time"
)

var listNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Entry
	}{
		// vsftpd
		{"-rw-r--r--    1 1002     1002            5 Dec 01 21:46 a.txt",
			Entry{Name: "a.txt", Kind: KindFile, Size: 5, MTime: time.Date(2025, 12, 1, 21, 46, 0, 0, time.UTC), Perm: 0o644}},
		{"drwxr-xr-x    2 1002     1002         4096 Mar 15 09:05 sub dir",
			Entry{Name: "sub dir", Kind: KindDir, Size: 4096, MTime: time.Date(2026, 3, 15, 9, 5, 0, 0, time.UTC), Perm: 0o755}},
		// pure-ftpd: owner and group names, one-digit day
		{"-rw-r--r--    1 1002       ftpsgwftp           5 Feb  3  2001 a.txt",
			Entry{Name: "a.txt", Kind: KindFile, Size: 5, MTime: time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC), Perm: 0o644}},
		// the name starts with a space and holds more
		{"-rw-r--r-- 1 u g 7 Jan  2 03:04  lead  and inner",
			Entry{Name: " lead  and inner", Kind: KindFile, Size: 7, MTime: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Perm: 0o644}},
		// a name that looks like a date
		{"-rw-r--r-- 1 u g 9 Jan  2 03:04 Jan 5 2020",
			Entry{Name: "Jan 5 2020", Kind: KindFile, Size: 9, MTime: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Perm: 0o644}},
		// no group column, ACL marker, setuid and sticky bits
		{"-rwsr-x--T+ 1 owner 123 Apr 30 2024 tool",
			Entry{Name: "tool", Kind: KindFile, Size: 123, MTime: time.Date(2024, 4, 30, 0, 0, 0, 0, time.UTC), Perm: 0o750}},
		{"lrwxrwxrwx 1 u g 11 Mar  1 10:00 link -> /etc/passwd",
			Entry{Name: "link", Kind: KindLink, Size: 11, MTime: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Perm: 0o777}},
		// a future date in the recent form belongs to last year
		{"-rw-r--r-- 1 u g 1 Jun 10 10:00 old",
			Entry{Name: "old", Kind: KindFile, Size: 1, MTime: time.Date(2025, 6, 10, 10, 0, 0, 0, time.UTC), Perm: 0o644}},
		// Windows/IIS
		{"01-02-06  03:04PM       <DIR>          Program Files",
			Entry{Name: "Program Files", Kind: KindDir, MTime: time.Date(2006, 1, 2, 15, 4, 0, 0, time.UTC)}},
		{"12-31-2025  11:59AM              1,234 report.txt",
			Entry{Name: "report.txt", Kind: KindFile, Size: 1234, MTime: time.Date(2025, 12, 31, 11, 59, 0, 0, time.UTC)}},
		{"2024-07-08  23:15                 42 data.bin",
			Entry{Name: "data.bin", Kind: KindFile, Size: 42, MTime: time.Date(2024, 7, 8, 23, 15, 0, 0, time.UTC)}},
	} {
		got, err := ParseList(tc.line, listNow)
		if err != nil {
			t.Errorf("ParseList(%q): %v", tc.line, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseList(%q)\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

func TestParseListRefuses(t *testing.T) {
	for _, line := range []string{
		"", "total 12", "drwxr-xr-x", "-rw-r--r-- 1 u g x Dec 01 21:46 neg",
		"-rw-r--r-- 1 u g -5 Dec 01 21:46 neg", "-rw-r--r-- 1 u g 5 Dec 32 21:46 x",
		"-rw-r--r-- 1 u g 5 Dec 01 25:61 x", "13-45-06  03:04PM  <DIR> x", "crw",
	} {
		if e, err := ParseList(line, listNow); err == nil {
			t.Errorf("ParseList(%q) = %+v, want an error", line, e)
		}
	}
}

func TestParseMLSx(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Entry
	}{
		{"type=file;size=5;modify=20261201214712;UNIX.mode=0644;UNIX.uid=1002; a.txt",
			Entry{Name: "a.txt", Kind: KindFile, Size: 5, MTime: time.Date(2026, 12, 1, 21, 47, 12, 0, time.UTC), Perm: 0o644}},
		{"type=dir;sizd=4096;modify=20010203040506.123; with ; semis and  spaces",
			Entry{Name: "with ; semis and  spaces", Kind: KindDir, MTime: time.Date(2001, 2, 3, 4, 5, 6, 123e6, time.UTC)}},
		{"Type=cdir;Modify=20010203040506; .", Entry{Name: ".", Kind: KindSelf, MTime: time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)}},
		{"type=OS.unix=slink:/etc;modify=20010203040506; l", Entry{Name: "l", Kind: KindLink, MTime: time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)}},
		{"type=file;size=bogus;modify=nope; x", Entry{Name: "x", Kind: KindFile}},
		{"size=1; untyped", Entry{Name: "untyped", Kind: KindOther, Size: 1}},
	} {
		got, err := ParseMLSx(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("ParseMLSx(%q)\n got %+v, %v\nwant %+v", tc.line, got, err, tc.want)
		}
	}
	for _, line := range []string{"", "type=file;", "nospace"} {
		if _, err := ParseMLSx(line); err == nil {
			t.Errorf("ParseMLSx(%q) succeeded", line)
		}
	}
}

func TestParseFeat(t *testing.T) {
	msg := "Extensions supported:\n UTF8\n MLST type*;size*;modify*;\n REST STREAM\n MFMT\n EPSV\nEnd."
	f := ParseFeat(msg)
	for _, k := range []string{"UTF8", "MLST", "REST", "MFMT", "EPSV"} {
		if !f.Has(k) {
			t.Errorf("FEAT lacks %s: %v", k, f)
		}
	}
	if !f.RestStream() || f.Has("END.") || f.Has("EXTENSIONS") {
		t.Errorf("ParseFeat = %v", f)
	}
	if ParseFeat(" REST\n").RestStream() {
		t.Errorf("REST without STREAM taken for REST STREAM")
	}
}

func TestParsePassive(t *testing.T) {
	for msg, want := range map[string]int{
		"Entering Extended Passive Mode (|||29191|)": 29191,
		"Extended Passive mode OK (|||29223|)":       29223,
		"ok (!!!1!)":                                 1,
	} {
		if got, err := ParseEPSV(msg); err != nil || got != want {
			t.Errorf("ParseEPSV(%q) = %d, %v; want %d", msg, got, err, want)
		}
	}
	for _, msg := range []string{"(|||0|)", "(|||65536|)", "(|1|2|3|)", "no parens", "(|||x|)", "()"} {
		if _, err := ParseEPSV(msg); err == nil {
			t.Errorf("ParseEPSV(%q) succeeded", msg)
		}
	}
	for msg, want := range map[string]string{
		"Entering Passive Mode (127,0,0,1,113,216).": "127.0.0.1:29144",
		"Entering Passive Mode 10,1,2,3,4,5":         "10.1.2.3:1029",
	} {
		ip, port, err := ParsePASV(msg)
		if got := net.JoinHostPort(ip.String(), strconv.Itoa(port)); err != nil || got != want {
			t.Errorf("ParsePASV(%q) = %s, %v; want %s", msg, got, err, want)
		}
	}
	for _, msg := range []string{"(1,2,3,4,5)", "(256,0,0,1,1,1)", "(1,2,3,4,0,0)", "none", "(1,2,3,4,5,-1)"} {
		if _, _, err := ParsePASV(msg); err == nil {
			t.Errorf("ParsePASV(%q) succeeded", msg)
		}
	}
}

func TestParseTimeAndSize(t *testing.T) {
	if got, err := ParseTime("20010203040506"); err != nil || !got.Equal(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)) {
		t.Errorf("ParseTime = %v, %v", got, err)
	}
	for _, s := range []string{"", "2001", "2001020304050x", "20011303040506"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) succeeded", s)
		}
	}
	if n, err := ParseSize(" 42 "); err != nil || n != 42 {
		t.Errorf("ParseSize = %d, %v", n, err)
	}
	for _, s := range []string{"-1", "x", "", "99999999999999999999"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) succeeded", s)
		}
	}
}

// FuzzParseList feeds arbitrary listing lines to both parsers: they never
// panic, and what they accept has a sane size and a name without line
// breaks.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"-rw-r--r--    1 1002     1002            5 Dec 01 21:46 a.txt",
		"01-02-06  03:04PM       <DIR>          Program Files",
		"type=file;size=5;modify=20261201214712; a.txt",
		"lrwxrwxrwx 1 u g 11 Mar  1 10:00 link -> /etc/passwd",
		"total 0", "", " ", "d         1 2 3 Jan 1 1:1 x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, parse := range []func(string) (Entry, error){
			func(s string) (Entry, error) { return ParseList(s, listNow) },
			ParseMLSx,
		} {
			e, err := parse(line)
			if err != nil {
				continue
			}
			if e.Size < 0 {
				t.Errorf("negative size from %q", line)
			}
			if len(e.Name) > len(line) {
				t.Errorf("name %q longer than the line %q", e.Name, line)
			}
		}
	})
}

// FuzzParsePassive feeds arbitrary EPSV and PASV replies: ports are
// always in 1-65535 and addresses IPv4.
func FuzzParsePassive(f *testing.F) {
	for _, s := range []string{"Entering Extended Passive Mode (|||29191|)", "Entering Passive Mode (127,0,0,1,113,216).", "(", "|||1|)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if port, err := ParseEPSV(msg); err == nil && (port < 1 || port > 65535) {
			t.Errorf("ParseEPSV(%q) = %d", msg, port)
		}
		if ip, port, err := ParsePASV(msg); err == nil && (port < 1 || port > 65535 || ip.To4() == nil) {
			t.Errorf("ParsePASV(%q) = %v, %d", msg, ip, port)
		}
	})
}
