package listing

import (
	"io/fs"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

var now = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

func TestListLine(t *testing.T) {
	tests := []struct {
		name string
		fi   backend.FileInfo
		want string
	}{
		{
			"recent file",
			backend.FileInfo{FName: "name", FSize: 1234, FMode: 0o644, FModTime: time.Date(2026, 11, 22, 10, 3, 0, 0, time.UTC)},
			"-rw-r--r-- 1 ftp ftp          1234 Nov 22 10:03 name",
		},
		{
			"single digit day padded",
			backend.FileInfo{FName: "a", FSize: 0, FMode: 0o600, FModTime: time.Date(2026, 11, 2, 9, 5, 0, 0, time.UTC)},
			"-rw------- 1 ftp ftp             0 Nov  2 09:05 a",
		},
		{
			"old file shows year",
			backend.FileInfo{FName: "old.txt", FSize: 7, FMode: 0o644, FModTime: time.Date(2025, 1, 5, 8, 0, 0, 0, time.UTC)},
			"-rw-r--r-- 1 ftp ftp             7 Jan  5  2025 old.txt",
		},
		{
			"future file shows year",
			backend.FileInfo{FName: "f", FSize: 1, FMode: 0o644, FModTime: now.Add(time.Hour)},
			"-rw-r--r-- 1 ftp ftp             1 Nov 22  2026 f",
		},
		{
			"just under six months is recent",
			backend.FileInfo{FName: "f", FSize: 1, FMode: 0o644, FModTime: now.Add(-sixMonths + time.Minute)},
			"-rw-r--r-- 1 ftp ftp             1 May 23 21:06 f",
		},
		{
			"just over six months shows year",
			backend.FileInfo{FName: "f", FSize: 1, FMode: 0o644, FModTime: now.Add(-sixMonths - time.Minute)},
			"-rw-r--r-- 1 ftp ftp             1 May 23  2026 f",
		},
		{
			"directory",
			backend.FileInfo{FName: "dir", FSize: 4096, FMode: fs.ModeDir | 0o755, FModTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
			"drwxr-xr-x 1 ftp ftp          4096 Nov  1 00:00 dir",
		},
		{
			"zero perm directory gets default",
			backend.FileInfo{FName: "d", FMode: fs.ModeDir, FModTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
			"drwxr-xr-x 1 ftp ftp          4096 Nov  1 00:00 d",
		},
		{
			"zero perm file gets default",
			backend.FileInfo{FName: "o", FSize: 5, FModTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
			"-rw-r--r-- 1 ftp ftp             5 Nov  1 00:00 o",
		},
		{
			"non-utc time shown in utc",
			backend.FileInfo{FName: "z", FSize: 1, FMode: 0o644, FModTime: time.Date(2026, 11, 22, 11, 3, 0, 0, time.FixedZone("CET", 3600))},
			"-rw-r--r-- 1 ftp ftp             1 Nov 22 10:03 z",
		},
		{
			"name with spaces kept",
			backend.FileInfo{FName: "a b  c", FSize: 1, FMode: 0o644, FModTime: now},
			"-rw-r--r-- 1 ftp ftp             1 Nov 22 12:00 a b  c",
		},
		{
			"line breaks in name neutralised",
			backend.FileInfo{FName: "evil\r\n226 ok", FSize: 1, FMode: 0o644, FModTime: now},
			"-rw-r--r-- 1 ftp ftp             1 Nov 22 12:00 evil??226 ok",
		},
		{
			"huge size",
			backend.FileInfo{FName: "big", FSize: 1 << 50, FMode: 0o644, FModTime: now},
			"-rw-r--r-- 1 ftp ftp 1125899906842624 Nov 22 12:00 big",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ListLine(tc.fi, now); got != tc.want {
				t.Errorf("ListLine =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestMLSxLine(t *testing.T) {
	mod := time.Date(2026, 11, 22, 10, 3, 0, 500e6, time.UTC)
	tests := []struct {
		name  string
		facts Facts
		entry string
		want  string
	}{
		{"file", Facts{Type: TypeFile, Size: 1234, Modify: mod, Perm: "rwadf", Unique: "803g1"}, "name",
			"type=file;size=1234;modify=20261122100300;perm=rwadf;unique=803g1; name"},
		{"dir omits size", Facts{Type: TypeDir, Size: 4096, Modify: mod, Perm: "elc"}, "sub",
			"type=dir;modify=20261122100300;perm=elc; sub"},
		{"cdir", Facts{Type: TypeCDir, Modify: mod}, ".", "type=cdir;modify=20261122100300; ."},
		{"pdir", Facts{Type: TypePDir}, "..", "type=pdir; .."},
		{"zero modify omitted", Facts{Type: TypeFile, Size: 0}, "e", "type=file;size=0; e"},
		{"name with leading space and semicolon", Facts{Type: TypeFile, Size: 1}, " a;b", "type=file;size=1;  a;b"},
		{"fact values sanitised", Facts{Type: TypeFile, Size: 1, Unique: "a; b\r\n"}, "x", "type=file;size=1;unique=ab; x"},
		{"name line breaks neutralised", Facts{Type: TypeFile, Size: 1}, "a\nb", "type=file;size=1; a?b"},
		{"local time converted", Facts{Type: TypeFile, Size: 1, Modify: time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 2*3600))}, "t",
			"type=file;size=1;modify=20251231230000; t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MLSxLine(tc.facts, tc.entry); got != tc.want {
				t.Errorf("MLSxLine =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestPermFact(t *testing.T) {
	all := PermSet{Append: true, Create: true, Delete: true, Enter: true, Rename: true,
		List: true, Mkdir: true, Purge: true, Read: true, Write: true}
	tests := []struct {
		name  string
		isDir bool
		p     PermSet
		want  string
	}{
		{"file all", false, all, "adfrw"},
		{"dir all", true, all, "cdeflmp"},
		{"file none", false, PermSet{}, ""},
		{"dir none", true, PermSet{}, ""},
		{"file read only", false, PermSet{Read: true, List: true, Enter: true}, "r"},
		{"dir list and enter", true, PermSet{Read: true, List: true, Enter: true}, "el"},
		{"dir upload", true, PermSet{Create: true, Mkdir: true}, "cm"},
		{"file overwrite", false, PermSet{Write: true, Append: true}, "aw"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PermFact(tc.isDir, tc.p); got != tc.want {
				t.Errorf("PermFact = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMDTM(t *testing.T) {
	tm := time.Date(2026, 11, 22, 10, 3, 7, 0, time.UTC)
	if got := FormatMDTM(tm); got != "20261122100307" {
		t.Errorf("FormatMDTM = %q", got)
	}
	if got := FormatMDTM(tm.In(time.FixedZone("X", -5*3600))); got != "20261122100307" {
		t.Errorf("FormatMDTM of non-UTC = %q", got)
	}
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20261122100307", tm, true},
		{"20261122100307.5", tm.Add(500 * time.Millisecond), true},
		{"20261122100307.123", tm.Add(123 * time.Millisecond), true},
		{"20261122100307.123456789", tm.Add(123456789), true},
		{"19700101000000", time.Unix(0, 0).UTC(), true},
		{"20240229000000", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"2026112210030", time.Time{}, false},
		{"202611221003071", time.Time{}, false},
		{"20261122100307.", time.Time{}, false},
		{"20261122100307.1234567890", time.Time{}, false},
		{"20261122100307.12a", time.Time{}, false},
		{"2026112210030x", time.Time{}, false},
		{"+2026112210030", time.Time{}, false},
		{"20261322100307", time.Time{}, false},
		{"20230229000000", time.Time{}, false},
		{"20261122250000", time.Time{}, false},
		{" 20261122100307", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := ParseMDTM(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseMDTM(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !got.Equal(tc.want) {
			t.Errorf("ParseMDTM(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if tc.ok && got.Location() != time.UTC {
			t.Errorf("ParseMDTM(%q) location = %v", tc.in, got.Location())
		}
	}
}

func TestSafeName(t *testing.T) {
	for name, want := range map[string]bool{"a": true, "a b": true, "ü": true, "a\nb": false, "a\rb": false, "a\x00": false} {
		if got := SafeName(name); got != want {
			t.Errorf("SafeName(%q) = %v", name, got)
		}
	}
}

func FuzzParseMDTM(f *testing.F) {
	f.Add("20261122100307")
	f.Add("20261122100307.123")
	f.Add("99991231235959.999999999")
	f.Add("2026112210030")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseMDTM(s)
		if err != nil {
			return
		}
		if got := FormatMDTM(tm); got != s[:14] {
			t.Fatalf("ParseMDTM(%q) = %v, formats back as %q", s, tm, got)
		}
	})
}
