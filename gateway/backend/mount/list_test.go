package mount

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestListParents(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	want := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := f.archive.FS.Chtimes(ctx, ".", want); err != nil {
		t.Fatal(err)
	}
	put(t, f.root, "archive", "real file hidden by the mount")
	put(t, f.root, "x", "x")
	for _, tc := range []struct{ dir, want string }{
		{".", "a,archive,x"},
		{"a", "b"}, // synthetic: "a" is not on the root
		{"archive", ""},
		{"a/b", ""},
	} {
		if got := names(t, f.fs, tc.dir); got != tc.want {
			t.Errorf("ReadDir(%q) = %s, want %s", tc.dir, got, tc.want)
		}
	}
	top := list(t, f.fs, ".")
	if fi := top["archive"]; !fi.IsDir() || !fi.ModTime().Equal(want) || fi.Size() != 0 {
		t.Errorf("archive listed as %v %v size %d; want the mounted root's directory", fi.Mode(), fi.ModTime(), fi.Size())
	}
	if fi := top["a"]; !fi.IsDir() {
		t.Errorf("synthetic a listed as %v", fi.Mode())
	}

	// Once "a" exists on the root its own entries show, minus the
	// same-named "b" the mount hides, and its own time is listed.
	mkdirs(t, f.root, "a")
	put(t, f.root, "a/b", "hidden")
	put(t, f.root, "a/c", "c")
	if err := f.root.FS.Chtimes(ctx, "a", want); err != nil {
		t.Fatal(err)
	}
	if got := names(t, f.fs, "a"); got != "b,c" {
		t.Errorf("ReadDir(a) = %s, want b,c", got)
	}
	if fi := list(t, f.fs, "a")["b"]; !fi.IsDir() {
		t.Errorf("mount point b listed as %v", fi.Mode())
	}
	if fi := list(t, f.fs, ".")["a"]; !fi.IsDir() || !fi.ModTime().Equal(want) {
		t.Errorf("real ancestor listed as %v %v", fi.Mode(), fi.ModTime())
	}
	put(t, f.fs, "archive/in", "in")
	if got := names(t, f.fs, "archive"); got != "in" {
		t.Errorf("ReadDir(archive) = %s", got)
	}
	if _, err := f.fs.ReadDir(ctx, "x"); !errors.Is(err, backend.ErrNotDir) {
		t.Errorf("ReadDir(file) = %v, want ErrNotDir", err)
	}
}

// TestListStreams checks that a parent's listing passes through the root's
// batches instead of reading them all first.
func TestListStreams(t *testing.T) {
	const total = 10000
	f := newFixture(t)
	for i := range total {
		put(t, f.root, fmt.Sprintf("f%05d", i), "")
	}
	put(t, f.root, "archive", "hidden") // hidden: one more than total on the root
	ctx := t.Context()
	l, err := f.fs.ReadDir(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f.root.mu.Lock()
	inner := f.root.lists[len(f.root.lists)-1]
	f.root.mu.Unlock()

	var batches, entries int
	seen := map[string]bool{}
	for {
		batch, err := l.Next(ctx, backend.ListBatch)
		if len(batch) > backend.ListBatch {
			t.Fatalf("batch of %d entries, asked for %d", len(batch), backend.ListBatch)
		}
		if len(batch) > 0 {
			batches++
			entries += len(batch)
			// The root is read at most one batch ahead of what went out.
			if inner.entries > entries+backend.ListBatch {
				t.Fatalf("root read %d entries after %d went out", inner.entries, entries)
			}
		}
		for _, fi := range batch {
			if seen[fi.Name()] {
				t.Fatalf("%q listed twice", fi.Name())
			}
			seen[fi.Name()] = true
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if entries != total+2 || !seen["archive"] || !seen["a"] {
		t.Errorf("listed %d entries, want %d files plus a and archive", entries, total)
	}
	if batches < total/backend.ListBatch {
		t.Errorf("listing came in %d batches, want at least %d", batches, total/backend.ListBatch)
	}
	if inner.nexts < 2 {
		t.Errorf("root listing read in %d Next calls", inner.nexts)
	}
}

func TestListSmallBatches(t *testing.T) {
	f := newFixture(t)
	put(t, f.root, "archive", "hidden")
	put(t, f.root, "x", "x")
	l, err := f.fs.ReadDir(t.Context(), ".")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		batch, err := l.Next(t.Context(), 1)
		if len(batch) > 1 {
			t.Fatalf("Next(1) returned %d entries", len(batch))
		}
		if errors.Is(err, io.EOF) {
			if len(batch) > 0 {
				got = append(got, batch[0].Name())
			}
			break
		}
		if err != nil || len(batch) == 0 {
			t.Fatalf("Next = %v, %v", batch, err)
		}
		got = append(got, batch[0].Name())
	}
	// Synthetic entries first, sorted; the hidden root entry is skipped.
	if fmt.Sprint(got) != "[a archive x]" {
		t.Errorf("entries %v, want [a archive x]", got)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := l.Next(t.Context(), 1); !errors.Is(err, io.EOF) {
		t.Errorf("Next after Close = %v, want io.EOF", err)
	}
}
