package mount

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"a", "a", true},
		{"a", "a/b", true},
		{"a/b", "a", true},
		{"a/b/c", "a", true},
		{"a", "ab", false},
		{"ab", "a", false},
		{"a/b", "a/c", false},
		{"a/b", "a/bc", false},
		{"a/bc", "a/b", false},
		{"x", "y", false},
		{".", "a", true},
		{"a", ".", true},
		{"/a", "a/b", true},
		{"/a", "/ab", false},
		{"/", "/a", true},
		{"/archive", "/archive", true},
	} {
		if got := Overlap(tc.a, tc.b); got != tc.want {
			t.Errorf("Overlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	root := newSpy(t)
	other := newSpy(t)
	for _, tc := range []struct {
		name   string
		root   backend.FS
		points []Point
	}{
		{"nil root", nil, []Point{{"a", other}}},
		{"nil mount", root, []Point{{"a", nil}}},
		{"root point", root, []Point{{".", other}}},
		{"empty", root, []Point{{"", other}}},
		{"leading slash", root, []Point{{"/a", other}}},
		{"trailing slash", root, []Point{{"a/", other}}},
		{"dot dot", root, []Point{{"a/../b", other}}},
		{"double slash", root, []Point{{"a//b", other}}},
		{"NUL", root, []Point{{"a\x00", other}}},
		{"duplicate", root, []Point{{"a", other}, {"a", other}}},
		{"nested", root, []Point{{"a", other}, {"a/b", other}}},
		{"nested reversed", root, []Point{{"a/b/c", other}, {"a/b", other}}},
	} {
		m, err := New(tc.root, tc.points)
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("%s: New = %v, %v; want fs.ErrInvalid", tc.name, m, err)
		}
	}
	if m, err := New(root, []Point{{"a", other}, {"ab", other}, {"b/a", other}}); err != nil {
		t.Errorf("siblings refused: %v", err)
	} else if _, ok := m.(*mountFS); !ok {
		t.Errorf("New returned %T", m)
	}
	if m, err := New(root, nil); err != nil || m != backend.FS(root) {
		t.Errorf("New without points = %v, %v; want the root itself", m, err)
	}
}

// TestRouting writes through the composite and checks which FS got the
// file, under which name.
func TestRouting(t *testing.T) {
	f := newFixture(t)
	mkdirs(t, f.root, "a", "d")
	mkdirs(t, f.archive, "sub")
	for _, tc := range []struct {
		name, owner, stripped string
	}{
		{"x", "root", "x"},
		{"d/x", "root", "d/x"},
		{"archivex", "root", "archivex"},
		{"a/x", "root", "a/x"},
		{"a/bx", "root", "a/bx"},
		{"archive/x", "archive", "x"},
		{"archive/sub/y", "archive", "sub/y"},
		{"a/b/x", "ab", "x"},
	} {
		put(t, f.fs, tc.name, tc.name)
		if got := get(t, f.spies()[tc.owner], tc.stripped); got != tc.name {
			t.Errorf("%s: %s holds %q at %s", tc.name, tc.owner, got, tc.stripped)
		}
		if got := get(t, f.fs, tc.name); got != tc.name {
			t.Errorf("read back %s = %q", tc.name, got)
		}
		if fi, err := f.fs.Stat(t.Context(), tc.name); err != nil || fi.Name() != path.Base(tc.name) {
			t.Errorf("Stat(%s) = %v, %v", tc.name, fi, err)
		}
	}
	for name, want := range map[string]string{"root": "a,archivex,d,x", "archive": "sub,x", "ab": "x"} {
		if got := names(t, f.spies()[name], "."); got != want {
			t.Errorf("%s holds %s, want %s", name, got, want)
		}
	}
}

func TestStatMountPointsAndAncestors(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	want := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := f.archive.FS.Chtimes(ctx, ".", want); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, base string }{
		{".", "."}, {"archive", "archive"}, {"a/b", "b"}, {"a", "a"},
	} {
		fi, err := f.fs.Stat(ctx, tc.name)
		if err != nil || !fi.IsDir() || !fi.Mode().IsDir() {
			t.Fatalf("Stat(%q) = %v, %v; want a directory", tc.name, fi, err)
		}
		if tc.name != "." && fi.Name() != tc.base {
			t.Errorf("Stat(%q).Name() = %q, want %q", tc.name, fi.Name(), tc.base)
		}
	}
	if fi, _ := f.fs.Stat(ctx, "archive"); !fi.ModTime().Equal(want) {
		t.Errorf("mount point time %v, want the mounted root's %v", fi.ModTime(), want)
	}
	// A file on the root where an ancestor belongs is shadowed.
	put(t, f.root, "a", "shadowed")
	if fi, err := f.fs.Stat(ctx, "a"); err != nil || !fi.IsDir() {
		t.Errorf("Stat(a) over a root file = %v, %v; want a directory", fi, err)
	}
	if got := names(t, f.fs, "a"); got != "b" {
		t.Errorf("synthetic a lists %s", got)
	}
	// A mount that cannot answer: Stat says so, the listing still shows it.
	f.ab.statErr = backend.ErrUnavailable
	if _, err := f.fs.Stat(ctx, "a/b"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Stat of a down mount: %v", err)
	}
	if fi := list(t, f.fs, "a")["b"]; fi == nil || !fi.IsDir() {
		t.Errorf("down mount listed as %v", fi)
	}
}

// TestRefused checks that the composite refuses changes to mount points
// and their ancestors itself, reaching no FS.
func TestRefused(t *testing.T) {
	f := newFixture(t)
	mkdirs(t, f.root, "a", "plain")
	put(t, f.root, "file", "x")
	put(t, f.archive, "in", "x")
	f.resetAll()
	ctx := t.Context()
	create := func(name string) error {
		u, err := f.fs.Create(ctx, name, backend.WriteReplace, 0)
		if err == nil {
			u.Abort()
		}
		return err
	}
	open := func(name string) error {
		r, err := f.fs.Open(ctx, name, 0)
		if err == nil {
			r.Close()
		}
		return err
	}
	for _, tc := range []struct {
		what string
		err  error
		want error
	}{
		{"mkdir mount point", f.fs.Mkdir(ctx, "archive"), fs.ErrExist},
		{"mkdir nested mount point", f.fs.Mkdir(ctx, "a/b"), fs.ErrExist},
		{"mkdir ancestor", f.fs.Mkdir(ctx, "a"), fs.ErrExist},
		{"remove mount point", f.fs.Remove(ctx, "archive"), backend.ErrIsDir},
		{"remove ancestor", f.fs.Remove(ctx, "a"), backend.ErrIsDir},
		{"rmdir mount point", f.fs.Rmdir(ctx, "archive"), fs.ErrPermission},
		{"rmdir nested mount point", f.fs.Rmdir(ctx, "a/b"), fs.ErrPermission},
		{"rmdir ancestor", f.fs.Rmdir(ctx, "a"), backend.ErrNotEmpty},
		{"rmdir root", f.fs.Rmdir(ctx, "."), backend.ErrNotEmpty},
		{"rename mount point", f.fs.Rename(ctx, "archive", "old"), fs.ErrPermission},
		{"rename mount point within", f.fs.Rename(ctx, "a/b", "a/c"), fs.ErrPermission},
		{"rename onto mount point", f.fs.Rename(ctx, "file", "archive"), fs.ErrPermission},
		{"rename dir onto mount point", f.fs.Rename(ctx, "plain", "a/b"), fs.ErrPermission},
		{"rename ancestor", f.fs.Rename(ctx, "a", "z"), backend.ErrCrossMount},
		{"rename root", f.fs.Rename(ctx, ".", "z"), backend.ErrCrossMount},
		{"rename onto ancestor", f.fs.Rename(ctx, "plain", "a"), fs.ErrExist},
		{"rename file to mount", f.fs.Rename(ctx, "file", "archive/file"), backend.ErrCrossMount},
		{"rename mount to root", f.fs.Rename(ctx, "archive/in", "in"), backend.ErrCrossMount},
		{"rename between mounts", f.fs.Rename(ctx, "archive/in", "a/b/in"), backend.ErrCrossMount},
		{"create mount point", create("archive"), backend.ErrIsDir},
		{"create ancestor", create("a"), backend.ErrIsDir},
		{"open mount point", open("a/b"), backend.ErrIsDir},
		{"open ancestor", open("a"), backend.ErrIsDir},
		{"invalid", f.fs.Rename(ctx, "file", "archive/../x"), fs.ErrInvalid},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, tc.err, tc.want)
		}
	}
	f.untouched(t, "refused operations")
	if got := names(t, f.fs, "."); got != "a,archive,file,plain" {
		t.Errorf("root lists %s after refusals", got)
	}
	if got := names(t, f.archive, "."); got != "in" {
		t.Errorf("archive holds %s after refusals", got)
	}
	if got := names(t, f.ab, "."); got != "" {
		t.Errorf("a/b holds %s after refusals", got)
	}
}

func TestSyntheticAncestorChtimes(t *testing.T) {
	f := newFixture(t) // "a" does not exist on the root
	if err := f.fs.Chtimes(t.Context(), "a", time.Now()); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Chtimes of a synthetic directory: %v, want fs.ErrPermission", err)
	}
	f.untouched(t, "chtimes of a synthetic directory")
	mkdirs(t, f.root, "a")
	want := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := f.fs.Chtimes(t.Context(), "a", want); err != nil {
		t.Fatalf("Chtimes of a real ancestor: %v", err)
	}
	if fi, err := f.fs.Stat(t.Context(), "a"); err != nil || !fi.ModTime().Equal(want) {
		t.Errorf("ancestor after Chtimes: %v, %v", fi, err)
	}
	if err := f.fs.Chtimes(t.Context(), "archive", want); err != nil {
		t.Fatalf("Chtimes of a mount point: %v", err)
	}
	if fi, err := f.archive.FS.Stat(t.Context(), "."); err != nil || !fi.ModTime().Equal(want) {
		t.Errorf("mounted root after Chtimes: %v, %v", fi, err)
	}
}

func TestRenameWithinOneFS(t *testing.T) {
	f := newFixture(t)
	put(t, f.fs, "archive/x", "data")
	if err := f.fs.Rename(t.Context(), "archive/x", "archive/y"); err != nil {
		t.Fatalf("rename within a mount: %v", err)
	}
	if c := f.archive.changes(); !slices.Contains(c, "rename x y") {
		t.Errorf("archive got %q, want the stripped rename", c)
	}
	if got := get(t, f.archive, "y"); got != "data" {
		t.Errorf("archive y holds %q", got)
	}
	put(t, f.fs, "r", "root")
	mkdirs(t, f.fs, "d")
	if err := f.fs.Rename(t.Context(), "r", "d/r"); err != nil {
		t.Fatalf("rename on the root: %v", err)
	}
	if got := get(t, f.root, "d/r"); got != "root" {
		t.Errorf("root d/r holds %q", got)
	}
}

// TestCrossMountMovesNothing checks that a refused cross-mount rename
// leaves both sides as they were, including over an existing target.
func TestCrossMountMovesNothing(t *testing.T) {
	f := newFixture(t)
	put(t, f.fs, "f", "root")
	put(t, f.fs, "archive/f", "archive")
	f.resetAll()
	for _, pair := range [][2]string{{"f", "archive/f"}, {"archive/f", "f"}, {"archive/f", "a/b/f"}, {"f", "a/b/new"}} {
		err := f.fs.Rename(t.Context(), pair[0], pair[1])
		if !errors.Is(err, backend.ErrCrossMount) {
			t.Errorf("Rename(%s, %s) = %v, want ErrCrossMount", pair[0], pair[1], err)
		}
	}
	f.untouched(t, "cross-mount renames")
	if get(t, f.fs, "f") != "root" || get(t, f.fs, "archive/f") != "archive" {
		t.Errorf("files changed by a refused rename")
	}
	if got := names(t, f.ab, "."); got != "" {
		t.Errorf("a/b holds %s", got)
	}
}

func TestCaps(t *testing.T) {
	f := newFixture(t)
	f.archive.capsOff = backend.CapAppend | backend.CapRenameDir
	f.ab.capsOff = backend.AllCaps
	limited := backend.AllCaps &^ (backend.CapAppend | backend.CapRenameDir)
	for _, tc := range []struct {
		name string
		want backend.Caps
	}{
		{".", backend.AllCaps},
		{"x", backend.AllCaps},
		{"a", backend.AllCaps},
		{"archivex", backend.AllCaps},
		{"archive", limited},
		{"archive/x/y", limited},
		{"a/b", 0},
		{"a/b/c", 0},
	} {
		if got := f.fs.Caps(tc.name); got != tc.want {
			t.Errorf("Caps(%q) = %b, want %b", tc.name, got, tc.want)
		}
	}
}

func TestUsage(t *testing.T) {
	f := newFixture(t)
	put(t, f.fs, "r", "12345")
	put(t, f.fs, "archive/x", "123")
	put(t, f.fs, "archive/y", "1")
	put(t, f.fs, "a/b/z", "12")
	u, err := f.fs.Usage(t.Context())
	if err != nil || u != (backend.Usage{Bytes: 11, Files: 4}) {
		t.Errorf("Usage = %+v, %v; want 11 bytes in 4 files", u, err)
	}
	f.ab.usageErr = errors.ErrUnsupported
	u, err = f.fs.Usage(t.Context())
	if !errors.Is(err, errors.ErrUnsupported) || u != (backend.Usage{}) {
		t.Errorf("Usage with a failing mount = %+v, %v; want a failure, no count", u, err)
	}
	f.ab.usageErr, f.root.usageErr = nil, errBoom
	if _, err := f.fs.Usage(t.Context()); !errors.Is(err, errBoom) {
		t.Errorf("Usage with a failing root = %v", err)
	}
}

func TestCloseClosesAll(t *testing.T) {
	f := newFixture(t)
	f.archive.closeErr = errBoom
	f.ab.closeErr = backend.ErrUnavailable
	err := f.fs.Close()
	if !errors.Is(err, errBoom) || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Close = %v, want both mounts' errors", err)
	}
	if err2 := f.fs.Close(); err2 != err {
		t.Errorf("second Close = %v, want the first result", err2)
	}
	for name, s := range f.spies() {
		if s.closed != 1 {
			t.Errorf("%s closed %d times, want once", name, s.closed)
		}
	}
}

func TestCancelled(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.fs.Stat(ctx, "archive")
	errs := []error{
		err,
		f.fs.Mkdir(ctx, "archive"),
		f.fs.Rmdir(ctx, "a"),
		f.fs.Remove(ctx, "a/b"),
		f.fs.Rename(ctx, "x", "archive/x"),
		f.fs.Chtimes(ctx, "a", time.Now()),
	}
	_, err = f.fs.ReadDir(ctx, ".")
	errs = append(errs, err)
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("call %d: %v, want context.Canceled", i, err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	done := make(chan error)
	for _, dir := range []string{"", "archive/", "a/b/"} {
		go func() {
			for i := range 20 {
				name := dir + "f" + string(rune('a'+i))
				u, err := f.fs.Create(t.Context(), name, backend.WriteReplace, 0)
				if err == nil {
					u.Write([]byte(name))
					err = u.Commit()
				}
				if err == nil {
					_, err = backend.ReadAll(t.Context(), f.fs, ".")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if n := len(list(t, f.fs, ".")); n != 22 {
		t.Errorf("root lists %d entries, want 20 files and 2 mount entries", n)
	}
}
