package backendtest

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// session opens home on o and closes it at the end of the test.
func session(t *testing.T, o backend.Opener, home string) backend.FS {
	t.Helper()
	fsys, err := o.Open(t.Context(), home)
	if err != nil {
		t.Fatalf("Open(%q): %v", home, err)
	}
	t.Cleanup(func() {
		if err := fsys.Close(); err != nil {
			t.Errorf("FS.Close: %v", err)
		}
	})
	return fsys
}

// fresh returns a session on a new Opener, homed at /user.
func (s *suite) fresh(t *testing.T) backend.FS {
	t.Helper()
	return session(t, s.opener(t), "/user")
}

func upload(t *testing.T, fsys backend.FS, name string, mode backend.WriteMode, offset int64, data string) {
	t.Helper()
	u, err := fsys.Create(t.Context(), name, mode, offset)
	if err != nil {
		t.Fatalf("Create(%q, %v, %d): %v", name, mode, offset, err)
	}
	if _, err := io.WriteString(u, data); err != nil {
		u.Abort()
		t.Fatalf("Write(%q): %v", name, err)
	}
	if err := u.Commit(); err != nil {
		t.Fatalf("Commit(%q): %v", name, err)
	}
}

func writeFile(t *testing.T, fsys backend.FS, name, data string) {
	t.Helper()
	upload(t, fsys, name, backend.WriteReplace, 0, data)
}

func readFrom(t *testing.T, fsys backend.FS, name string, offset int64) string {
	t.Helper()
	r, err := fsys.Open(t.Context(), name, offset)
	if err != nil {
		t.Fatalf("Open(%q, %d): %v", name, offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return string(b)
}

func readFile(t *testing.T, fsys backend.FS, name string) string {
	t.Helper()
	return readFrom(t, fsys, name, 0)
}

func mkdir(t *testing.T, fsys backend.FS, name string) {
	t.Helper()
	if err := fsys.Mkdir(t.Context(), name); err != nil {
		t.Fatalf("Mkdir(%q): %v", name, err)
	}
}

// writeModes returns the write modes fsys supports at its root: replace
// and exclusive always, append and at with CapAppend and CapResume.
func writeModes(fsys backend.FS) []backend.WriteMode {
	modes := []backend.WriteMode{backend.WriteReplace, backend.WriteExclusive}
	caps := fsys.Caps(".")
	if caps.Has(backend.CapAppend) {
		modes = append(modes, backend.WriteAppend)
	}
	if caps.Has(backend.CapResume) {
		modes = append(modes, backend.WriteAt)
	}
	return modes
}

// needCap skips the test unless fsys reports c.
func needCap(t *testing.T, fsys backend.FS, c backend.Caps, name string) {
	t.Helper()
	if !fsys.Caps(".").Has(c) {
		t.Skipf("backend does not report %s", name)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// listAll drains the listing of dir, sorted by name (a Lister returns
// entries in storage order).
func listAll(t *testing.T, fsys backend.FS, dir string) []fs.FileInfo {
	t.Helper()
	infos, err := backend.ReadAll(t.Context(), fsys, dir)
	if err != nil {
		t.Fatalf("ReadDir(%q): %v", dir, err)
	}
	slices.SortFunc(infos, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return infos
}

// listNames returns the sorted names in dir.
func listNames(t *testing.T, fsys backend.FS, dir string) []string {
	t.Helper()
	infos := listAll(t, fsys, dir)
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name()
	}
	return names
}

func wantNames(t *testing.T, fsys backend.FS, dir string, want ...string) {
	t.Helper()
	got := listNames(t, fsys, dir)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadDir(%q) names = %q, want %q", dir, got, want)
	}
}

func wantMissing(t *testing.T, fsys backend.FS, name string) {
	t.Helper()
	_, err := fsys.Stat(t.Context(), name)
	wantErr(t, "Stat("+name+")", err, fs.ErrNotExist)
}

func (s *suite) testStat(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	writeFile(t, fsys, "f", "hello")
	mkdir(t, fsys, "d")
	writeFile(t, fsys, "d/g", "abc")

	checks := []struct {
		name, base string
		dir        bool
		size       int64
	}{
		{"f", "f", false, 5},
		{"d/g", "g", false, 3},
		{"d", "d", true, -1},
	}
	for _, c := range checks {
		fi, err := fsys.Stat(ctx, c.name)
		if err != nil {
			t.Fatalf("Stat(%q): %v", c.name, err)
		}
		if fi.Name() != c.base {
			t.Errorf("Stat(%q).Name() = %q, want %q", c.name, fi.Name(), c.base)
		}
		if fi.IsDir() != c.dir || fi.Mode().IsDir() != c.dir {
			t.Errorf("Stat(%q) IsDir = %v, want %v", c.name, fi.IsDir(), c.dir)
		}
		if !c.dir && !fi.Mode().IsRegular() {
			t.Errorf("Stat(%q) mode %v is not regular", c.name, fi.Mode())
		}
		if c.size >= 0 && fi.Size() != c.size {
			t.Errorf("Stat(%q).Size() = %d, want %d", c.name, fi.Size(), c.size)
		}
	}
	fi, err := fsys.Stat(ctx, ".")
	if err != nil || !fi.IsDir() {
		t.Fatalf("Stat(.) = %v, %v; want a directory", fi, err)
	}
}

func (s *suite) testReadDir(t *testing.T) {
	fsys := s.fresh(t)
	wantNames(t, fsys, ".")
	for _, n := range []string{"b", "a", "C", "a b", "z.txt"} {
		writeFile(t, fsys, n, n)
	}
	mkdir(t, fsys, "dir")
	mkdir(t, fsys, "dir/sub")
	writeFile(t, fsys, "dir/sub/deep", "x")
	wantNames(t, fsys, ".", "C", "a", "a b", "b", "dir", "z.txt")
	wantNames(t, fsys, "dir", "sub")
	wantNames(t, fsys, "dir/sub", "deep")

	for _, fi := range listAll(t, fsys, ".") {
		switch fi.Name() {
		case "dir":
			if !fi.IsDir() {
				t.Errorf("dir listed as a file")
			}
		default:
			if fi.IsDir() || fi.Size() != int64(len(fi.Name())) {
				t.Errorf("%q listed with IsDir=%v size=%d", fi.Name(), fi.IsDir(), fi.Size())
			}
		}
	}
	_, err := fsys.ReadDir(t.Context(), "a")
	wantErr(t, "ReadDir(file)", err, backend.ErrNotDir)
}

func (s *suite) testMissing(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	writeFile(t, fsys, "file", "x")
	_, err := fsys.Stat(ctx, "nope")
	wantErr(t, "Stat", err, fs.ErrNotExist)
	_, err = fsys.Stat(ctx, "nodir/nope")
	wantErr(t, "Stat in a missing dir", err, fs.ErrNotExist)
	_, err = fsys.ReadDir(ctx, "nope")
	wantErr(t, "ReadDir", err, fs.ErrNotExist)
	_, err = fsys.Open(ctx, "nope", 0)
	wantErr(t, "Open", err, fs.ErrNotExist)
	wantErr(t, "Remove", fsys.Remove(ctx, "nope"), fs.ErrNotExist)
	wantErr(t, "Rmdir", fsys.Rmdir(ctx, "nope"), fs.ErrNotExist)
	wantErr(t, "Rename", fsys.Rename(ctx, "nope", "other"), fs.ErrNotExist)
	wantErr(t, "Rename into a missing dir", fsys.Rename(ctx, "file", "nodir/file"), fs.ErrNotExist)
	wantErr(t, "Mkdir in a missing dir", fsys.Mkdir(ctx, "nodir/sub"), fs.ErrNotExist)
	for _, mode := range writeModes(fsys) {
		u, err := fsys.Create(ctx, "nodir/f", mode, 0)
		if err == nil {
			// The parent may be checked at Commit instead.
			io.WriteString(u, "x")
			err = u.Commit()
		}
		wantErr(t, "Create in a missing dir ("+mode.String()+")", err, fs.ErrNotExist)
	}
	wantNames(t, fsys, ".", "file")
}

func (s *suite) testMkdirExists(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	mkdir(t, fsys, "d")
	wantErr(t, "Mkdir twice", fsys.Mkdir(ctx, "d"), fs.ErrExist)
	writeFile(t, fsys, "f", "x")
	wantErr(t, "Mkdir over a file", fsys.Mkdir(ctx, "f"), fs.ErrExist)
	if got := readFile(t, fsys, "f"); got != "x" {
		t.Errorf("file changed to %q", got)
	}
}

func (s *suite) testRemoveDir(t *testing.T) {
	fsys := s.fresh(t)
	mkdir(t, fsys, "d")
	wantErr(t, "Remove(dir)", fsys.Remove(t.Context(), "d"), backend.ErrIsDir)
	if fi, err := fsys.Stat(t.Context(), "d"); err != nil || !fi.IsDir() {
		t.Errorf("directory gone after a refused Remove: %v", err)
	}
	writeFile(t, fsys, "f", "x")
	if err := fsys.Remove(t.Context(), "f"); err != nil {
		t.Fatalf("Remove(file): %v", err)
	}
	wantMissing(t, fsys, "f")
}

func (s *suite) testRmdir(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	mkdir(t, fsys, "d")
	writeFile(t, fsys, "d/f", "x")
	wantErr(t, "Rmdir(non-empty)", fsys.Rmdir(ctx, "d"), backend.ErrNotEmpty)
	wantErr(t, "Rmdir(file)", fsys.Rmdir(ctx, "d/f"), backend.ErrNotDir)
	if got := readFile(t, fsys, "d/f"); got != "x" {
		t.Errorf("file changed to %q", got)
	}
	if err := fsys.Remove(ctx, "d/f"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rmdir(ctx, "d"); err != nil {
		t.Fatalf("Rmdir(empty): %v", err)
	}
	wantMissing(t, fsys, "d")
}

func (s *suite) testOpenDir(t *testing.T) {
	fsys := s.fresh(t)
	mkdir(t, fsys, "d")
	for _, name := range []string{"d", "."} {
		r, err := fsys.Open(t.Context(), name, 0)
		if err == nil {
			r.Close()
		}
		wantErr(t, "Open("+name+")", err, backend.ErrIsDir)
	}
}

func (s *suite) testReadOffset(t *testing.T) {
	fsys := s.fresh(t)
	writeFile(t, fsys, "f", "hello world")
	for _, tc := range []struct {
		off  int64
		want string
	}{{0, "hello world"}, {1, "ello world"}, {6, "world"}, {10, "d"}, {11, ""}} {
		if got := readFrom(t, fsys, "f", tc.off); got != tc.want {
			t.Errorf("read from %d = %q, want %q", tc.off, got, tc.want)
		}
	}
	r, err := fsys.Open(t.Context(), "f", -1)
	if err == nil {
		r.Close()
	}
	wantErr(t, "Open at a negative offset", err, fs.ErrInvalid)
}

func (s *suite) testRenameFile(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	writeFile(t, fsys, "a", "AAA")
	writeFile(t, fsys, "b", "B")
	if err := fsys.Rename(ctx, "a", "b"); err != nil {
		t.Fatalf("Rename over an existing file: %v", err)
	}
	wantMissing(t, fsys, "a")
	if got := readFile(t, fsys, "b"); got != "AAA" {
		t.Errorf("renamed file holds %q", got)
	}
	mkdir(t, fsys, "d")
	if err := fsys.Rename(ctx, "b", "d/c"); err != nil {
		t.Fatalf("Rename into a directory: %v", err)
	}
	if got := readFile(t, fsys, "d/c"); got != "AAA" {
		t.Errorf("moved file holds %q", got)
	}
	wantNames(t, fsys, ".", "d")
	mkdir(t, fsys, "empty")
	if err := fsys.Rename(ctx, "d/c", "empty"); !errors.Is(err, backend.ErrIsDir) && !errors.Is(err, fs.ErrExist) {
		t.Errorf("Rename file over a directory: %v, want ErrIsDir or fs.ErrExist", err)
	}
	wantNames(t, fsys, "d", "c")
}

func (s *suite) testRenameDir(t *testing.T) {
	fsys := s.fresh(t)
	needCap(t, fsys, backend.CapRenameDir, "CapRenameDir")
	ctx := t.Context()
	mkdir(t, fsys, "d")
	mkdir(t, fsys, "d/sub")
	writeFile(t, fsys, "d/sub/f", "data")
	if err := fsys.Rename(ctx, "d", "e"); err != nil {
		t.Fatalf("Rename(dir): %v", err)
	}
	wantMissing(t, fsys, "d")
	if got := readFile(t, fsys, "e/sub/f"); got != "data" {
		t.Errorf("file in renamed dir holds %q", got)
	}
	if err := fsys.Rename(ctx, "e", "e/sub/x"); err == nil {
		t.Errorf("Rename of a directory below itself succeeded")
	}
	if got := readFile(t, fsys, "e/sub/f"); got != "data" {
		t.Errorf("file changed to %q after a refused rename", got)
	}
	wantNames(t, fsys, ".", "e")
}

// invalidNames are names the contract says every FS must refuse.
var invalidNames = []string{
	"", "..", "../x", "/abs", "/", "a/../b", "a//b", "a/", "./a", "a/.", "a\x00b",
	strings.Repeat("n", 256), "ok/" + strings.Repeat("n", 256),
}

func (s *suite) testInvalidNames(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	writeFile(t, fsys, "ok", "keep")
	mkdir(t, fsys, "a")
	for _, name := range invalidNames {
		q := strings.ReplaceAll(name, "\x00", `\x00`)
		if len(q) > 40 {
			q = q[:40] + "..."
		}
		_, err := fsys.Stat(ctx, name)
		wantErr(t, "Stat("+q+")", err, fs.ErrInvalid)
		_, err = fsys.ReadDir(ctx, name)
		wantErr(t, "ReadDir("+q+")", err, fs.ErrInvalid)
		r, err := fsys.Open(ctx, name, 0)
		if err == nil {
			r.Close()
		}
		wantErr(t, "Open("+q+")", err, fs.ErrInvalid)
		for _, mode := range writeModes(fsys) {
			u, err := fsys.Create(ctx, name, mode, 0)
			if err == nil {
				u.Abort()
			}
			wantErr(t, "Create("+q+", "+mode.String()+")", err, fs.ErrInvalid)
		}
		wantErr(t, "Mkdir("+q+")", fsys.Mkdir(ctx, name), fs.ErrInvalid)
		wantErr(t, "Remove("+q+")", fsys.Remove(ctx, name), fs.ErrInvalid)
		wantErr(t, "Rmdir("+q+")", fsys.Rmdir(ctx, name), fs.ErrInvalid)
		wantErr(t, "Rename("+q+", x)", fsys.Rename(ctx, name, "x"), fs.ErrInvalid)
		wantErr(t, "Rename(ok, "+q+")", fsys.Rename(ctx, "ok", name), fs.ErrInvalid)
		if fsys.Caps(".").Has(backend.CapChtimes) {
			wantErr(t, "Chtimes("+q+")", fsys.Chtimes(ctx, name, time.Now()), fs.ErrInvalid)
		}
	}
	// Refused operations changed nothing.
	wantNames(t, fsys, ".", "a", "ok")
	wantNames(t, fsys, "a")
	if got := readFile(t, fsys, "ok"); got != "keep" {
		t.Errorf("ok holds %q", got)
	}
	// The home itself cannot be removed or renamed.
	if err := fsys.Rmdir(ctx, "."); err == nil {
		t.Errorf("Rmdir(.) succeeded")
	}
	if err := fsys.Rename(ctx, ".", "moved"); err == nil {
		t.Errorf("Rename(., moved) succeeded")
	}
}

func (s *suite) testHomeCreated(t *testing.T) {
	o := s.opener(t)
	deep := session(t, o, "/a/b/c")
	fi, err := deep.Stat(t.Context(), ".")
	if err != nil || !fi.IsDir() {
		t.Fatalf("Stat(.) in a created home: %v, %v", fi, err)
	}
	writeFile(t, deep, "f", "deep")
	top := session(t, o, "/a")
	if got := readFile(t, top, "b/c/f"); got != "deep" {
		t.Errorf("file seen from /a holds %q", got)
	}
	// Opening an existing home again sees the same data.
	again := session(t, o, "/a/b/c")
	if got := readFile(t, again, "f"); got != "deep" {
		t.Errorf("reopened home: f holds %q", got)
	}
	root := session(t, o, "/")
	wantNames(t, root, ".", "a")
}

func (s *suite) testHomeInvalid(t *testing.T) {
	o := s.opener(t)
	for _, home := range []string{"", "a", "a/b", "/a/../b", "/..", "/a/", "//a", "/a//b", "/a/.", "/a\x00b", "/" + strings.Repeat("h", 256)} {
		fsys, err := o.Open(t.Context(), home)
		if err == nil {
			fsys.Close()
		}
		wantErr(t, "Open home "+strings.ReplaceAll(home, "\x00", `\x00`), err, fs.ErrInvalid)
	}
	root := session(t, o, "/")
	wantNames(t, root, ".")
}

func (s *suite) testHomesIsolated(t *testing.T) {
	o := s.opener(t)
	alice := session(t, o, "/alice")
	bob := session(t, o, "/bob")
	writeFile(t, alice, "secret", "alice's")
	mkdir(t, alice, "private")
	wantMissing(t, bob, "secret")
	wantMissing(t, bob, "private")
	wantNames(t, bob, ".")
	writeFile(t, bob, "secret", "bob's")
	if got := readFile(t, alice, "secret"); got != "alice's" {
		t.Errorf("alice's file holds %q after bob wrote his", got)
	}
	wantErr(t, "bob removes alice's file", bob.Remove(t.Context(), "../alice/secret"), fs.ErrInvalid)
	wantNames(t, alice, ".", "private", "secret")
}

func (s *suite) testProbe(t *testing.T) {
	o := s.opener(t)
	root := session(t, o, "/")
	mkdir(t, root, "existing")
	before := listNames(t, root, ".")
	if err := o.Probe(t.Context()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if after := listNames(t, root, "."); !slices.Equal(before, after) {
		t.Errorf("Probe left entries behind: before %q, after %q", before, after)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := o.Probe(ctx); err == nil {
		t.Errorf("Probe with a cancelled context succeeded")
	}
}

func (s *suite) testModTime(t *testing.T) {
	fsys := s.fresh(t)
	start := time.Now()
	writeFile(t, fsys, "f", "x")
	fi, err := fsys.Stat(t.Context(), "f")
	if err != nil {
		t.Fatal(err)
	}
	// Generous bounds: remote storage clocks and coarse timestamps.
	const slack = 2 * time.Minute
	if mt := fi.ModTime(); mt.Before(start.Add(-slack)) || mt.After(time.Now().Add(slack)) {
		t.Errorf("ModTime %v is not near now (%v)", mt, start)
	}
}

func (s *suite) testChtimes(t *testing.T) {
	fsys := s.fresh(t)
	needCap(t, fsys, backend.CapChtimes, "CapChtimes")
	writeFile(t, fsys, "f", "x")
	want := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := fsys.Chtimes(t.Context(), "f", want); err != nil {
		t.Fatalf("Chtimes: %v", err)
	}
	fi, err := fsys.Stat(t.Context(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.ModTime().Truncate(time.Second); !got.Equal(want) {
		t.Errorf("ModTime after Chtimes = %v, want %v", got, want)
	}
	wantErr(t, "Chtimes(missing)", fsys.Chtimes(t.Context(), "nope", want), fs.ErrNotExist)
}
