package local

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestNewRejectsBadRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := New(file); !errors.Is(err, backend.ErrNotDir) {
		t.Errorf("New(file) = %v, want ErrNotDir", err)
	}
}

// setup returns a root with homes alice and bob, bob holding a secret,
// and alice's session.
func setup(t *testing.T) (root string, o *Opener, alice backend.FS) {
	t.Helper()
	return setupWith(t, false)
}

// setupWith is setup with symbolic links followed inside the home or not.
func setupWith(t *testing.T, follow bool) (root string, o *Opener, alice backend.FS) {
	t.Helper()
	root = t.TempDir()
	o, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	o.FollowSymlinks = follow
	t.Cleanup(func() { o.Close() })
	alice, err = o.Open(t.Context(), "/alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.Close() })
	if err := os.MkdirAll(filepath.Join(root, "bob"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bob", "secret"), []byte("bob's secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, o, alice
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestSymlinksDoNotEscape(t *testing.T) {
	root, _, alice := setupWith(t, true)
	home := filepath.Join(root, "alice")
	ctx := t.Context()
	if err := os.Mkdir(filepath.Join(home, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "sub", "mine"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, "/etc", filepath.Join(home, "etc"))
	symlink(t, "/etc/passwd", filepath.Join(home, "passwd"))
	symlink(t, "../bob", filepath.Join(home, "bob"))
	symlink(t, "../bob/secret", filepath.Join(home, "bobsecret"))
	symlink(t, filepath.Join(root, "bob"), filepath.Join(home, "bobabs"))
	symlink(t, filepath.Join(home, "sub"), filepath.Join(home, "subabs")) // absolute, even if inside
	symlink(t, "sub", filepath.Join(home, "inner"))                       // relative, inside: allowed
	symlink(t, "sub/mine", filepath.Join(home, "minelink"))
	symlink(t, "loop", filepath.Join(home, "loop"))
	symlink(t, "nowhere", filepath.Join(home, "dangling"))

	escaping := []string{
		"etc", "etc/passwd", "passwd", "bob", "bob/secret", "bobsecret",
		"bobabs", "bobabs/secret", "subabs", "loop",
	}
	for _, name := range escaping {
		if _, err := alice.Stat(ctx, name); err == nil {
			t.Errorf("Stat(%q) succeeded", name)
		}
		if r, err := alice.Open(ctx, name, 0); err == nil {
			b, _ := io.ReadAll(r)
			r.Close()
			t.Errorf("Open(%q) succeeded and read %d bytes", name, len(b))
		}
		if l, err := alice.ReadDir(ctx, name); err == nil {
			l.Close()
			t.Errorf("ReadDir(%q) succeeded", name)
		}
		for _, mode := range []backend.WriteMode{backend.WriteReplace, backend.WriteExclusive, backend.WriteAppend, backend.WriteAt} {
			if u, err := alice.Create(ctx, name, mode, 0); err == nil {
				io.WriteString(u, "pwned")
				if err := u.Commit(); err == nil && mode != backend.WriteReplace {
					t.Errorf("Create(%q, %v) wrote through the link", name, mode)
				}
			}
		}
		if err := alice.Chtimes(ctx, name, time.Unix(0, 0)); err == nil {
			t.Errorf("Chtimes(%q) succeeded", name)
		}
	}
	for _, name := range []string{"bob/x", "etc/x", "bobabs/x"} {
		if err := alice.Mkdir(ctx, name); err == nil {
			t.Errorf("Mkdir(%q) succeeded", name)
		}
		if u, err := alice.Create(ctx, name, backend.WriteReplace, 0); err == nil {
			io.WriteString(u, "x")
			if u.Commit() == nil {
				t.Errorf("Create(%q) succeeded", name)
			}
		}
		if err := alice.Rename(ctx, "sub/mine", name); err == nil {
			t.Errorf("Rename(sub/mine, %q) succeeded", name)
		}
	}
	for _, name := range []string{"bob/secret", "etc/passwd", "bobabs/secret"} {
		if err := alice.Remove(ctx, name); err == nil {
			t.Errorf("Remove(%q) succeeded", name)
		}
		if err := alice.Rename(ctx, name, "stolen"); err == nil {
			t.Errorf("Rename(%q, stolen) succeeded", name)
		}
	}
	_, err := alice.Stat(ctx, "bob/secret")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Stat through an escaping link: %v, want fs.ErrPermission", err)
	}

	// Bob's file and /etc are untouched.
	if b, err := os.ReadFile(filepath.Join(root, "bob", "secret")); err != nil || string(b) != "bob's secret" {
		t.Errorf("bob's secret now %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "bob")); len(ents) != 1 {
		t.Errorf("bob's home has %d entries, want 1", len(ents))
	}
	if _, err := os.Lstat("/etc/x"); err == nil {
		t.Errorf("/etc/x was created")
	}

	// Links inside the home work and are shown as their targets.
	if fi, err := alice.Stat(ctx, "inner"); err != nil || !fi.IsDir() {
		t.Errorf("Stat(inner) = %v, %v; want a directory", fi, err)
	}
	r, err := alice.Open(ctx, "inner/mine", 0)
	if err != nil {
		t.Fatalf("Open through an inside link: %v", err)
	}
	r.Close()
	infos, err := backend.ReadAll(ctx, alice, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
		if fi.Mode()&fs.ModeSymlink != 0 {
			t.Errorf("%s listed as a symlink", fi.Name())
		}
	}
	// Links that escape, loop or dangle are not listed at all.
	slices.Sort(names)
	if want := []string{"inner", "minelink", "sub"}; !slices.Equal(names, want) {
		t.Errorf("ReadDir(.) = %q, want %q", names, want)
	}
	// Removing a link removes the link, not its target.
	if err := alice.Remove(ctx, "bobsecret"); err != nil {
		t.Errorf("Remove(link) = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "bob", "secret")); err != nil {
		t.Errorf("removing a link removed its target: %v", err)
	}
}

func TestHomeThroughSymlink(t *testing.T) {
	root, o, _ := setup(t)
	outside := t.TempDir()
	symlink(t, outside, filepath.Join(root, "carol"))
	symlink(t, "/etc", filepath.Join(root, "dave"))
	for _, home := range []string{"/carol", "/carol/sub", "/dave"} {
		if fsys, err := o.Open(t.Context(), home); err == nil {
			fsys.Close()
			t.Errorf("Open(%q) through an escaping link succeeded", home)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("a directory was created outside the root: %v", ents)
	}
	// A link to another home inside the root is followed, but the session
	// is then confined to that home.
	symlink(t, "bob", filepath.Join(root, "bobalias"))
	fsys, err := o.Open(t.Context(), "/bobalias")
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if _, err := fsys.Stat(t.Context(), "secret"); err != nil {
		t.Errorf("Stat(secret) via the alias: %v", err)
	}
}

func TestHostileNames(t *testing.T) {
	_, _, alice := setup(t)
	ctx := t.Context()
	tests := []string{
		"..", "../bob/secret", "../../etc/passwd", "/etc/passwd", "/", "a/../../bob",
		"a/..", "./a", "a//b", "a/", "", "a\x00b", "\x00", strings.Repeat("x", 256),
		"a/" + strings.Repeat("x", 256), ".ftpsgw-upload-x", "d/.ftpsgw-upload-x",
		".ftpsgw-probe-x", ".ftpsgw-", `..\..\bob`,
	}
	for _, name := range tests {
		_, err := alice.Stat(ctx, name)
		if name == `..\..\bob` {
			// A backslash is an ordinary character on Unix: just missing.
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Stat(%q) = %v, want fs.ErrNotExist", name, err)
			}
			continue
		}
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Stat(%q) = %v, want fs.ErrInvalid", name, err)
		}
		if u, err := alice.Create(ctx, name, backend.WriteReplace, 0); !errors.Is(err, fs.ErrInvalid) {
			if err == nil {
				u.Abort()
			}
			t.Errorf("Create(%q) = %v, want fs.ErrInvalid", name, err)
		}
	}
	// Exactly 255 bytes is fine.
	long := strings.Repeat("y", 255)
	if u, err := alice.Create(ctx, long, backend.WriteReplace, 0); err != nil {
		t.Errorf("Create(255 bytes) = %v", err)
	} else if err := u.Commit(); err != nil {
		t.Errorf("Commit(255 bytes) = %v", err)
	}
}

// TestTempFilesHidden: a named temporary (the only kind outside Linux and
// on filesystems without O_TMPFILE) is hidden from the session and gone
// after Commit or Abort; an unnamed upload has no temporary on disk at
// all.
func TestTempFilesHidden(t *testing.T) {
	forEachStaging(t, testTempFilesHidden)
}

// forEachStaging runs test with unnamed uploads and with named
// temporaries.
func forEachStaging(t *testing.T, test func(t *testing.T, unnamed bool)) {
	for _, unnamed := range []bool{true, false} {
		name := "named"
		if unnamed {
			name = "unnamed"
		}
		t.Run(name, func(t *testing.T) {
			old := unnamedUploads
			unnamedUploads = unnamed
			defer func() { unnamedUploads = old }()
			test(t, unnamed && runtime.GOOS == "linux")
		})
	}
}

func testTempFilesHidden(t *testing.T, unnamed bool) {
	root, o, alice := setup(t)
	home := filepath.Join(root, "alice")
	ctx := t.Context()
	// A temporary left by a crash is hidden.
	if err := os.WriteFile(filepath.Join(home, ".ftpsgw-upload-stale"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "f"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	temps := func() []string {
		ents, err := os.ReadDir(home)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), uploadPrefix) && e.Name() != ".ftpsgw-upload-stale" {
				out = append(out, e.Name())
			}
		}
		return out
	}
	for _, abort := range []bool{false, true} {
		u, err := alice.Create(ctx, "f", backend.WriteReplace, 0)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(u, "new")
		want := 1
		if unnamed {
			want = 0
			if got := o.unnamed.Load(); got != unnamedOn {
				t.Fatalf("unnamed uploads not in use on this filesystem (state %d)", got)
			}
		}
		if got := temps(); len(got) != want {
			t.Fatalf("during upload temporaries on disk = %q, want %d", got, want)
		}
		infos, err := backend.ReadAll(ctx, alice, ".")
		if err != nil || len(infos) != 1 || infos[0].Name() != "f" {
			t.Fatalf("ReadDir during upload = %v, %v; want only f", infos, err)
		}
		if abort {
			err = u.Abort()
		} else {
			err = u.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := temps(); len(got) != 0 {
			t.Errorf("after abort=%v temporaries left: %q", abort, got)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(home, "f")); string(b) != "new" {
		t.Errorf("f holds %q", b)
	}
}

func TestExclusiveDoesNotFollowDanglingLink(t *testing.T) {
	root, _, alice := setupWith(t, true)
	home := filepath.Join(root, "alice")
	// A dangling link's name is taken: an exclusive upload must not replace
	// the link nor create its target.
	symlink(t, "target", filepath.Join(home, "link"))
	u, err := alice.Create(t.Context(), "link", backend.WriteExclusive, 0)
	if err == nil {
		io.WriteString(u, "x")
		err = u.Commit()
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("exclusive upload over a dangling link: %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(home, "target")); err == nil {
		t.Errorf("the link's target was created")
	}
}

func TestProbeLeavesNothing(t *testing.T) {
	root := t.TempDir()
	o, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Probe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("Probe left %v", ents)
	}
	o.Close()
	if err := o.Probe(t.Context()); err == nil {
		t.Errorf("Probe on a closed opener succeeded")
	}
}

func TestOpenRootGone(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if fsys, err := o.Open(t.Context(), "/alice"); !errors.Is(err, backend.ErrUnavailable) {
		if err == nil {
			fsys.Close()
		}
		t.Errorf("Open with the root removed: %v, want ErrUnavailable", err)
	}
}

// TestUsageWalk checks what Usage counts: regular files below the home,
// not the targets of symbolic links (another home, a loop) nor the
// backend's hidden temporaries.
func TestUsageWalk(t *testing.T) {
	root, _, alice := setup(t)
	home := filepath.Join(root, "alice")
	for name, size := range map[string]int{"a": 10, "d/b": 20, "d/e/c": 30, ".ftpsgw-upload-stale": 1000, "d/.ftpsgw-upload-x": 1000} {
		p := filepath.Join(home, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink(t, "../bob", filepath.Join(home, "bob"))
	symlink(t, ".", filepath.Join(home, "d", "loop"))
	symlink(t, "a", filepath.Join(home, "alias"))
	u, err := alice.Usage(t.Context())
	if want := (backend.Usage{Bytes: 60, Files: 3}); err != nil || u != want {
		t.Errorf("Usage = %+v, %v; want %+v", u, err, want)
	}
	if alice.Caps(".").Has(backend.CapUsage) {
		t.Errorf("local reports CapUsage, but Usage walks the tree")
	}
}

// TestSymlinksNotFollowedByDefault: a link inside the home is invisible
// and answers as missing, so "shared/plink -> ../private" cannot reach a
// path that a rule hides.
func TestSymlinksNotFollowedByDefault(t *testing.T) {
	root, _, alice := setup(t)
	home := filepath.Join(root, "alice")
	ctx := t.Context()
	os.MkdirAll(filepath.Join(home, "private"), 0o755)
	os.MkdirAll(filepath.Join(home, "shared"), 0o755)
	os.WriteFile(filepath.Join(home, "private", "p.txt"), []byte("hidden"), 0o644)
	symlink(t, "../private", filepath.Join(home, "shared", "plink"))
	symlink(t, "private/p.txt", filepath.Join(home, "flink"))
	for _, name := range []string{"shared/plink", "shared/plink/p.txt", "flink"} {
		if _, err := alice.Stat(ctx, name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want fs.ErrNotExist", name, err)
		}
		if _, err := alice.Open(ctx, name, 0); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want fs.ErrNotExist", name, err)
		}
	}
	if err := alice.Remove(ctx, "shared/plink/p.txt"); err == nil {
		t.Error("Remove through a link succeeded")
	}
	for _, dir := range []string{"shared", "."} {
		infos, err := backend.ReadAll(ctx, alice, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, fi := range infos {
			if fi.Name() == "plink" || fi.Name() == "flink" {
				t.Errorf("listing of %s shows the link %s", dir, fi.Name())
			}
		}
	}
	if b, _ := os.ReadFile(filepath.Join(home, "private", "p.txt")); string(b) != "hidden" {
		t.Errorf("target changed: %q", b)
	}
}
