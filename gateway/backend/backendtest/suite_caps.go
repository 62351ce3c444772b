package backendtest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// capCheck exercises one capability: works when the FS reports it, and
// refuse (which must fail wrapping errors.ErrUnsupported and change
// nothing) when it does not.
type capCheck struct {
	name  string
	cap   backend.Caps
	setup func(t *testing.T, fsys backend.FS)
	works func(t *testing.T, fsys backend.FS)
	// refuse returns the error of the refused call; the suite then checks
	// that the home looks as setup left it.
	refuse func(t *testing.T, fsys backend.FS) error
}

var capChecks = []capCheck{
	{
		name:  "Append",
		cap:   backend.CapAppend,
		setup: func(t *testing.T, fsys backend.FS) { writeFile(t, fsys, "f", "abc") },
		works: func(t *testing.T, fsys backend.FS) {
			upload(t, fsys, "f", backend.WriteAppend, 0, "def")
			wantContent(t, fsys, "f", "abcdef")
		},
		refuse: func(t *testing.T, fsys backend.FS) error { return tryUpload(t, fsys, "f", backend.WriteAppend, 0) },
	},
	{
		name:  "Resume",
		cap:   backend.CapResume,
		setup: func(t *testing.T, fsys backend.FS) { writeFile(t, fsys, "f", "abc") },
		works: func(t *testing.T, fsys backend.FS) {
			upload(t, fsys, "f", backend.WriteAt, 1, "XY")
			wantContent(t, fsys, "f", "aXY")
		},
		refuse: func(t *testing.T, fsys backend.FS) error { return tryUpload(t, fsys, "f", backend.WriteAt, 1) },
	},
	{
		name:  "Chtimes",
		cap:   backend.CapChtimes,
		setup: func(t *testing.T, fsys backend.FS) { writeFile(t, fsys, "f", "abc") },
		works: func(t *testing.T, fsys backend.FS) {
			want := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
			if err := fsys.Chtimes(t.Context(), "f", want); err != nil {
				t.Fatalf("Chtimes: %v", err)
			}
			if got := stat(t, fsys, "f").ModTime().Truncate(time.Second); !got.Equal(want) {
				t.Errorf("ModTime after Chtimes = %v, want %v", got, want)
			}
		},
		refuse: func(t *testing.T, fsys backend.FS) error {
			return fsys.Chtimes(t.Context(), "f", time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
		},
	},
	{
		name: "RenameDir",
		cap:  backend.CapRenameDir,
		setup: func(t *testing.T, fsys backend.FS) {
			mkdir(t, fsys, "d")
			writeFile(t, fsys, "d/f", "abc")
		},
		works: func(t *testing.T, fsys backend.FS) {
			if err := fsys.Rename(t.Context(), "d", "e"); err != nil {
				t.Fatalf("Rename(dir): %v", err)
			}
			wantContent(t, fsys, "e/f", "abc")
			wantMissing(t, fsys, "d")
		},
		refuse: func(t *testing.T, fsys backend.FS) error { return fsys.Rename(t.Context(), "d", "e") },
	},
	{
		name:  "Usage",
		cap:   backend.CapUsage,
		setup: usageTree,
		works: func(t *testing.T, fsys backend.FS) {
			u, err := fsys.Usage(t.Context())
			if err != nil || u != usageWant {
				t.Errorf("Usage = %+v, %v; want %+v", u, err, usageWant)
			}
		},
		refuse: func(t *testing.T, fsys backend.FS) error {
			// CapUsage promises a cheap answer, not an answer: a backend
			// without it may still walk the tree and answer correctly.
			u, err := fsys.Usage(t.Context())
			if err == nil && u != usageWant {
				t.Errorf("Usage without CapUsage = %+v, want %+v or an error", u, usageWant)
			}
			if err == nil {
				return errors.ErrUnsupported
			}
			return err
		},
	},
}

// usageWant is what usageTree stores.
var usageWant = backend.Usage{Bytes: 5 + 7, Files: 3}

func usageTree(t *testing.T, fsys backend.FS) {
	t.Helper()
	writeFile(t, fsys, "x", "12345")
	mkdir(t, fsys, "d")
	mkdir(t, fsys, "d/e")
	mkdir(t, fsys, "empty")
	writeFile(t, fsys, "d/y", "1234567")
	writeFile(t, fsys, "d/e/z", "")
}

// testCapabilities checks every capability: what an FS reports works, and
// what it does not report fails wrapping errors.ErrUnsupported and
// changes nothing.
func (s *suite) testCapabilities(t *testing.T) {
	o := s.opener(t)
	for _, c := range capChecks {
		t.Run(c.name, func(t *testing.T) {
			fsys := session(t, o, "/"+c.name)
			c.setup(t, fsys)
			if fsys.Caps(".").Has(c.cap) {
				c.works(t, fsys)
				return
			}
			before := snapshot(t, fsys)
			wantErr(t, "without the capability", c.refuse(t, fsys), errors.ErrUnsupported)
			if after := snapshot(t, fsys); !slices.Equal(before, after) {
				t.Errorf("refused call changed the home:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// tryUpload runs a one-byte upload and returns its first error.
func tryUpload(t *testing.T, fsys backend.FS, name string, mode backend.WriteMode, offset int64) error {
	u, err := fsys.Create(t.Context(), name, mode, offset)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(u, "!"); err != nil {
		u.Abort()
		return err
	}
	return u.Commit()
}

// snapshot describes every entry under the home (name, kind, size,
// modification time, content of small files) for before/after checks.
func snapshot(t *testing.T, fsys backend.FS) []string {
	t.Helper()
	var out []string
	dirs := []string{"."}
	for len(dirs) > 0 {
		dir := dirs[0]
		dirs = dirs[1:]
		for _, fi := range listAll(t, fsys, dir) {
			name := backend.Join(dir, fi.Name())
			line := name + " " + fi.ModTime().UTC().Format(time.RFC3339Nano)
			if fi.IsDir() {
				dirs = append(dirs, name)
				line += " dir"
			} else {
				line += " file " + readFile(t, fsys, name)
			}
			out = append(out, line)
		}
	}
	return out
}

func stat(t *testing.T, fsys backend.FS, name string) backend.FileInfo {
	t.Helper()
	fi, err := fsys.Stat(t.Context(), name)
	if err != nil {
		t.Fatalf("Stat(%q): %v", name, err)
	}
	return backend.FileInfo{FName: fi.Name(), FSize: fi.Size(), FMode: fi.Mode(), FModTime: fi.ModTime()}
}

func wantContent(t *testing.T, fsys backend.FS, name, want string) {
	t.Helper()
	if got := readFile(t, fsys, name); got != want {
		t.Errorf("%s holds %s, want %s", name, brief(got), brief(want))
	}
}

// brief quotes s, cut to its first 40 bytes and its length if longer.
func brief(s string) string {
	if len(s) <= 40 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:40], len(s))
}
