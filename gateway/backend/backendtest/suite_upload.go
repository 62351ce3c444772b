package backendtest

import (
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func (s *suite) testCreateReplace(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	writeFile(t, fsys, "f", "old")
	u, err := fsys.Create(ctx, "f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(u, "new data"); err != nil {
		t.Fatal(err)
	}
	// Before Commit the old file is intact and nothing else is visible.
	if got := readFile(t, fsys, "f"); got != "old" {
		t.Errorf("before Commit f holds %q, want the old content", got)
	}
	if fi, err := fsys.Stat(ctx, "f"); err != nil || fi.Size() != 3 {
		t.Errorf("before Commit Stat(f) = %v, %v", fi, err)
	}
	wantNames(t, fsys, ".", "f")
	if err := u.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := readFile(t, fsys, "f"); got != "new data" {
		t.Errorf("after Commit f holds %q", got)
	}
	wantNames(t, fsys, ".", "f")
	// Replacing with less data leaves no tail of the old file.
	writeFile(t, fsys, "f", "ab")
	if got := readFile(t, fsys, "f"); got != "ab" {
		t.Errorf("after a shorter replace f holds %q", got)
	}
	// An empty upload creates an empty file.
	writeFile(t, fsys, "empty", "")
	if fi, err := fsys.Stat(ctx, "empty"); err != nil || fi.Size() != 0 {
		t.Errorf("empty upload: Stat = %v, %v", fi, err)
	}
}

func (s *suite) testNotVisibleBeforeCommit(t *testing.T) {
	fsys := s.fresh(t)
	mkdir(t, fsys, "d")
	for _, mode := range []backend.WriteMode{backend.WriteReplace, backend.WriteExclusive} {
		t.Run(mode.String(), func(t *testing.T) {
			u, err := fsys.Create(t.Context(), "d/new", mode, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(u, "partial"); err != nil {
				t.Fatal(err)
			}
			wantMissing(t, fsys, "d/new")
			wantNames(t, fsys, "d")
			if err := u.Commit(); err != nil {
				t.Fatal(err)
			}
			wantNames(t, fsys, "d", "new")
			if err := fsys.Remove(t.Context(), "d/new"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func (s *suite) testCreateExclusive(t *testing.T) {
	fsys := s.fresh(t)
	ctx := t.Context()
	writeFile(t, fsys, "f", "old")

	// Over an existing file: refused at Create or at Commit.
	u, err := fsys.Create(ctx, "f", backend.WriteExclusive, 0)
	if err == nil {
		io.WriteString(u, "new")
		err = u.Commit()
	}
	wantErr(t, "exclusive over an existing file", err, fs.ErrExist)
	if got := readFile(t, fsys, "f"); got != "old" {
		t.Errorf("existing file changed to %q", got)
	}

	// A new name works.
	upload(t, fsys, "g", backend.WriteExclusive, 0, "fresh")
	if got := readFile(t, fsys, "g"); got != "fresh" {
		t.Errorf("g holds %q", got)
	}

	// A file that appears during the upload is not replaced.
	u, err = fsys.Create(ctx, "race", backend.WriteExclusive, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "loser")
	writeFile(t, fsys, "race", "winner")
	wantErr(t, "exclusive Commit after another upload", u.Commit(), fs.ErrExist)
	if got := readFile(t, fsys, "race"); got != "winner" {
		t.Errorf("race holds %q, want the first committed upload", got)
	}
	wantNames(t, fsys, ".", "f", "g", "race")
}

func (s *suite) testCreateAppend(t *testing.T) {
	fsys := s.fresh(t)
	needCap(t, fsys, backend.CapAppend, "CapAppend")
	writeFile(t, fsys, "f", "abc")
	upload(t, fsys, "f", backend.WriteAppend, 0, "def")
	if got := readFile(t, fsys, "f"); got != "abcdef" {
		t.Errorf("after append f holds %q", got)
	}
	// The offset is ignored for append.
	upload(t, fsys, "f", backend.WriteAppend, 1, "g")
	if got := readFile(t, fsys, "f"); got != "abcdefg" {
		t.Errorf("after append with an offset f holds %q", got)
	}
	upload(t, fsys, "new", backend.WriteAppend, 0, "xyz")
	if got := readFile(t, fsys, "new"); got != "xyz" {
		t.Errorf("append to a missing file: %q", got)
	}
}

func (s *suite) testCreateAt(t *testing.T) {
	fsys := s.fresh(t)
	needCap(t, fsys, backend.CapResume, "CapResume")
	ctx := t.Context()
	writeFile(t, fsys, "f", "0123456789")
	steps := []struct {
		offset int64
		data   string
		want   string
	}{
		{4, "ab", "0123ab"},       // truncated to offset+written
		{6, "XYZ", "0123abXYZ"},   // at the end: extends
		{0, "q", "q"},             // at zero: the whole file
		{1, "", "q"},              // nothing written at the end
		{0, "", ""},               // nothing written at zero: empty
		{0, "resumed", "resumed"}, // from empty
		{3, "UME", "resUME"},      // overwrite in the middle, truncate
		{6, "D and more", "resUMED and more"},
	}
	for _, st := range steps {
		upload(t, fsys, "f", backend.WriteAt, st.offset, st.data)
		if got := readFile(t, fsys, "f"); got != st.want {
			t.Fatalf("after writing %q at %d: f holds %q, want %q", st.data, st.offset, got, st.want)
		}
	}
	upload(t, fsys, "new", backend.WriteAt, 0, "created")
	if got := readFile(t, fsys, "new"); got != "created" {
		t.Errorf("WriteAt 0 on a missing file: %q", got)
	}
	for _, tc := range []struct {
		name   string
		offset int64
	}{{"f", 1000}, {"f", -1}, {"missing", 1}} {
		u, err := fsys.Create(ctx, tc.name, backend.WriteAt, tc.offset)
		if err == nil {
			u.Abort()
		}
		wantErr(t, "WriteAt beyond the end or negative", err, fs.ErrInvalid)
	}
	wantMissing(t, fsys, "missing")
}

func (s *suite) testCreateOnDir(t *testing.T) {
	fsys := s.fresh(t)
	mkdir(t, fsys, "d")
	for _, name := range []string{"d", "."} {
		for _, mode := range writeModes(fsys) {
			u, err := fsys.Create(t.Context(), name, mode, 0)
			if err == nil {
				io.WriteString(u, "x")
				err = u.Commit()
			}
			if !errors.Is(err, backend.ErrIsDir) && !(mode == backend.WriteExclusive && errors.Is(err, fs.ErrExist)) {
				t.Errorf("Create(%q, %v) over a directory: %v, want ErrIsDir", name, mode, err)
			}
		}
	}
	if fi, err := fsys.Stat(t.Context(), "d"); err != nil || !fi.IsDir() {
		t.Errorf("directory d damaged: %v, %v", fi, err)
	}
}

func (s *suite) testAbortKeepsOld(t *testing.T) {
	fsys := s.fresh(t)
	mkdir(t, fsys, "d")
	writeFile(t, fsys, "d/f", "keep me")
	for _, mode := range []backend.WriteMode{backend.WriteReplace, backend.WriteExclusive} {
		t.Run(mode.String(), func(t *testing.T) {
			name := "d/f"
			if mode == backend.WriteExclusive {
				name = "d/new"
			}
			u, err := fsys.Create(t.Context(), name, mode, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(u, "garbage that must not land"); err != nil {
				t.Fatal(err)
			}
			if err := u.Abort(); err != nil {
				t.Errorf("Abort: %v", err)
			}
			if got := readFile(t, fsys, "d/f"); got != "keep me" {
				t.Errorf("after Abort d/f holds %q", got)
			}
			wantMissing(t, fsys, "d/new")
			wantNames(t, fsys, "d", "f")
			// Commit after Abort is a no-op.
			if err := u.Commit(); err != nil {
				t.Errorf("Commit after Abort: %v", err)
			}
			if got := readFile(t, fsys, "d/f"); got != "keep me" {
				t.Errorf("Commit after Abort changed d/f to %q", got)
			}
			wantNames(t, fsys, "d", "f")
		})
	}
}

func (s *suite) testCommitAbortOnce(t *testing.T) {
	fsys := s.fresh(t)
	u, err := fsys.Create(t.Context(), "f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "data")
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := u.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if err := u.Commit(); err != nil {
		t.Errorf("second Commit: %v", err)
	}
	if got := readFile(t, fsys, "f"); got != "data" {
		t.Errorf("Abort after Commit undid the upload: %q", got)
	}
	if n, err := io.WriteString(u, "more"); err == nil {
		t.Errorf("Write after Commit succeeded (%d bytes)", n)
	}
	wantNames(t, fsys, ".", "f")
}
