//go:build linux

package local

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// TestUnnamedUpload checks what naming at Commit means: the directory
// shows nothing while an unnamed upload runs (not even the Opener's
// probe); a replacing upload replaces a file that appeared meanwhile, an
// exclusive one fails and leaves it alone; an aborted one leaves nothing;
// and the name is resolved at Commit, so a directory renamed meanwhile
// does not receive the file.
func TestUnnamedUpload(t *testing.T) {
	root, o, alice := setup(t)
	home := filepath.Join(root, "alice")
	ctx := t.Context()
	entries := func(dir string) []string {
		t.Helper()
		ents, err := os.ReadDir(filepath.Join(home, dir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	create := func(name string, mode backend.WriteMode, data string) backend.Upload {
		t.Helper()
		u, err := alice.Create(ctx, name, mode, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(u, data); err != nil {
			t.Fatal(err)
		}
		return u
	}
	content := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(home, name))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}

	u := create("a", backend.WriteReplace, "ours")
	if got := o.unnamed.Load(); got != unnamedOn {
		t.Fatalf("unnamed uploads not in use on this filesystem (state %d)", got)
	}
	if got := entries("."); len(got) != 0 {
		t.Fatalf("during an unnamed upload the home holds %q", got)
	}
	os.WriteFile(filepath.Join(home, "a"), []byte("theirs"), 0o644)
	if err := u.Commit(); err != nil {
		t.Fatalf("replacing Commit: %v", err)
	}
	if got := content("a"); got != "ours" {
		t.Errorf("after a replacing Commit a = %q, want ours", got)
	}

	u = create("b", backend.WriteExclusive, "ours")
	os.WriteFile(filepath.Join(home, "b"), []byte("theirs"), 0o644)
	if err := u.Commit(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("exclusive Commit over a file that appeared: %v, want fs.ErrExist", err)
	}
	if got := content("b"); got != "theirs" {
		t.Errorf("after a refused exclusive Commit b = %q, want theirs", got)
	}

	u = create("c", backend.WriteReplace, "gone")
	if err := u.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := entries("."); len(got) != 2 {
		t.Errorf("after an aborted upload the home holds %q, want a and b", got)
	}

	if err := alice.Mkdir(ctx, "sub"); err != nil {
		t.Fatal(err)
	}
	u = create("sub/x", backend.WriteReplace, "moved?")
	if err := os.Rename(filepath.Join(home, "sub"), filepath.Join(home, "sub2")); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Commit after its directory was renamed: %v, want fs.ErrNotExist", err)
	}
	if got := entries("sub2"); len(got) != 0 {
		t.Errorf("the renamed directory received %q", got)
	}
}
