package listing

import (
	"io/fs"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

var benchEntries = []struct {
	name string
	fi   backend.FileInfo
	list string
	mlsx string
}{
	{
		"file",
		backend.FileInfo{FName: "report-2026.csv", FSize: 123456789, FMode: 0o644, FModTime: time.Date(2026, 11, 22, 10, 3, 0, 0, time.UTC)},
		"-rw-r--r-- 1 ftp ftp     123456789 Nov 22 10:03 report-2026.csv",
		"type=file;size=123456789;modify=20261122100300;perm=adfrw; report-2026.csv",
	},
	{
		"old-dir",
		backend.FileInfo{FName: "archive", FMode: fs.ModeDir, FModTime: time.Date(2024, 1, 5, 8, 0, 0, 0, time.UTC)},
		"drwxr-xr-x 1 ftp ftp          4096 Jan  5  2024 archive",
		"type=dir;modify=20240105080000;perm=cdeflmp; archive",
	},
}

// BenchmarkListLine formats one LIST line.
func BenchmarkListLine(b *testing.B) {
	for _, e := range benchEntries {
		b.Run(e.name, func(b *testing.B) {
			var fi fs.FileInfo = e.fi // as backends hand it over
			if got := ListLine(fi, now); got != e.list {
				b.Fatalf("ListLine = %q, want %q", got, e.list)
			}
			b.ReportAllocs()
			var got string
			for b.Loop() {
				got = ListLine(fi, now)
			}
			if len(got) != len(e.list) {
				b.Fatal(got)
			}
		})
	}
}

// BenchmarkMLSxLine formats one MLSD line with its perm fact, as the
// gateway does for every entry of a directory.
func BenchmarkMLSxLine(b *testing.B) {
	all := PermSet{Append: true, Create: true, Delete: true, Enter: true, Rename: true,
		List: true, Mkdir: true, Purge: true, Read: true, Write: true}
	for _, e := range benchEntries {
		b.Run(e.name, func(b *testing.B) {
			line := func() string {
				dir := e.fi.IsDir()
				typ := TypeFile
				if dir {
					typ = TypeDir
				}
				return MLSxLine(Facts{Type: typ, Size: e.fi.Size(), Modify: e.fi.ModTime(),
					Perm: PermFact(dir, all)}, e.fi.Name())
			}
			if got := line(); got != e.mlsx {
				b.Fatalf("MLSxLine = %q, want %q", got, e.mlsx)
			}
			b.ReportAllocs()
			var got string
			for b.Loop() {
				got = line()
			}
			if len(got) != len(e.mlsx) {
				b.Fatal(got)
			}
		})
	}
}
