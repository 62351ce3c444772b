package gateway

import (
	"strings"
	"testing"
)

// BenchmarkResolve resolves client arguments as the dispatcher does for
// every path command.
func BenchmarkResolve(b *testing.B) {
	deep := vpath{p: "/projects/2026/q4/reports"}
	long := strings.Repeat("segment/", 100) + "file.bin"
	for _, tc := range []struct {
		name string
		cwd  vpath
		arg  string
		want string
	}{
		{"empty", deep, "", "/projects/2026/q4/reports"},
		{"relative", deep, "summary.pdf", "/projects/2026/q4/reports/summary.pdf"},
		{"absolute", deep, "/pub/files/a.bin", "/pub/files/a.bin"},
		{"dotdot", deep, "../../q3/./x//y.txt", "/projects/2026/q3/x/y.txt"},
		{"escape", rootPath, "../../../etc/passwd", "/etc/passwd"},
		{"long", rootPath, long, "/" + long},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := resolve(tc.cwd, tc.arg)
			if err != nil || p.String() != tc.want {
				b.Fatalf("resolve(%q, %q) = %q, %v; want %q", tc.cwd, tc.arg, p, err, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				p, err = resolve(tc.cwd, tc.arg)
			}
			if err != nil || p.String() != tc.want {
				b.Fatal(p, err)
			}
		})
	}
	b.Run("too-long-element", func(b *testing.B) {
		arg := strings.Repeat("x", maxElementLen+1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := resolve(rootPath, arg); err != errBadPath {
				b.Fatal(err)
			}
		}
	})
}
