package local

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestRegistryDurability(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`root = "/x"`, ""},
		{`root = "/x"` + "\n" + `durability = "fsync"`, "fsync"},
		{`root = "/x"` + "\n" + `durability = "none"`, "none"},
	} {
		cfg, err := decode(t, tc.body)
		if err != nil {
			t.Errorf("%q: %v", tc.body, err)
			continue
		}
		if got := cfg.(*Config).Durability; got != tc.want {
			t.Errorf("%q: durability decoded as %q, want %q", tc.body, got, tc.want)
		}
	}
	if _, err := decode(t, `root = "/x"`+"\n"+`durability = ["fsync"]`); err == nil {
		t.Errorf("a block with a list for durability decoded")
	}
}

func TestConfigValidateDurability(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		durability string
		ok         bool
	}{
		{"", true}, {"fsync", true}, {"none", true},
		{"FSYNC", false}, {"fdatasync", false}, {"off", false}, {" none", false},
	} {
		var r reporter
		(&Config{Root: dir, Durability: tc.durability}).Validate(&r)
		if tc.ok && len(r.errs)+len(r.warns) > 0 {
			t.Errorf("durability %q: errors %q, warnings %q, want none", tc.durability, r.errs, r.warns)
		}
		if !tc.ok && (len(r.errs) != 1 || !strings.HasPrefix(r.errs[0], "durability: ") ||
			!strings.Contains(r.errs[0], `"fsync" or "none"`) || !strings.Contains(r.errs[0], fmt.Sprintf("%q", tc.durability))) {
			t.Errorf("durability %q: errors %q, want one on durability naming the value and the choices", tc.durability, r.errs)
		}
	}
	// Both problems of a block are reported, not only the first.
	var r reporter
	(&Config{Durability: "bogus"}).Validate(&r)
	if len(r.errs) != 2 {
		t.Errorf("no root and a bad durability: errors %q, want two", r.errs)
	}
}

func TestConfigOpenDurability(t *testing.T) {
	for _, d := range []string{"", "fsync", "none"} {
		o, err := (&Config{Root: t.TempDir(), Durability: d}).Open(t.Context(), "disk", hclog.NewNullLogger())
		if err != nil {
			t.Fatalf("durability %q: %v", d, err)
		}
		if got := o.(*Opener).Durability; got != Durability(d) {
			t.Errorf("durability %q: Opener has %q", d, got)
		}
		o.Close()
	}
	if _, err := (&Config{Root: t.TempDir(), Durability: "bogus"}).Open(t.Context(), "disk", hclog.NewNullLogger()); err == nil {
		t.Errorf("Open with durability bogus succeeded")
	}
}

// setWriteback sets the early-writeback knobs for one test.
func setWriteback(t *testing.T, on bool, chunk int64) {
	t.Helper()
	oldOn, oldChunk := earlyWriteback, writebackChunk
	earlyWriteback, writebackChunk = on, chunk
	t.Cleanup(func() { earlyWriteback, writebackChunk = oldOn, oldChunk })
}

// TestUploadSyncs checks, by the Opener's counters, which syncs each kind
// of upload makes in each mode, and that the data arrives either way.
func TestUploadSyncs(t *testing.T) {
	const chunk = 64 << 10
	wantWB := func(n int64) int64 {
		if haveWriteback {
			return n
		}
		return 0
	}
	tests := []struct {
		name       string
		durability Durability
		writeback  bool
		mode       backend.WriteMode
		existing   bool // a file of 10 bytes has the name before
		abort      bool
		file, dir  int64
		writebacks int64
	}{
		{"fsync/replace", DurabilityFsync, true, backend.WriteReplace, true, false, 1, 1, wantWB(3)},
		{"default/replace", "", true, backend.WriteReplace, false, false, 1, 1, wantWB(3)},
		{"fsync/exclusive", DurabilityFsync, true, backend.WriteExclusive, false, false, 1, 1, wantWB(3)},
		{"fsync/append-existing", DurabilityFsync, true, backend.WriteAppend, true, false, 1, 0, wantWB(3)},
		{"fsync/append-new", DurabilityFsync, true, backend.WriteAppend, false, false, 1, 1, wantWB(3)},
		{"fsync/at-existing", DurabilityFsync, true, backend.WriteAt, true, false, 1, 0, wantWB(3)},
		{"fsync/replace-no-writeback", DurabilityFsync, false, backend.WriteReplace, false, false, 1, 1, 0},
		{"fsync/abort", DurabilityFsync, true, backend.WriteReplace, true, true, 0, 0, wantWB(3)},
		{"none/replace", DurabilityNone, true, backend.WriteReplace, true, false, 0, 0, 0},
		{"none/exclusive", DurabilityNone, true, backend.WriteExclusive, false, false, 0, 0, 0},
		{"none/append-new", DurabilityNone, true, backend.WriteAppend, false, false, 0, 0, 0},
		{"none/at-existing", DurabilityNone, true, backend.WriteAt, true, false, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setWriteback(t, tc.writeback, chunk)
			o := newTestOpener(t)
			defer o.Close()
			o.Durability = tc.durability
			s, err := o.Open(t.Context(), "/alice")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			old := []byte("0123456789")
			if tc.existing {
				writeFile(t, s, "f", old)
			}
			o.counts = syncCounts{}
			var offset int64
			if tc.mode == backend.WriteAt {
				offset = 4
			}
			u, err := s.Create(t.Context(), "f", tc.mode, offset)
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte("abcdefg"), (3*chunk+100)/7)
			for p := data; len(p) > 0; {
				n := min(len(p), 10000)
				if _, err := u.Write(p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			if tc.abort {
				err = u.Abort()
			} else {
				err = u.Commit()
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := [3]int64{o.counts.file.Load(), o.counts.dir.Load(), o.counts.writeback.Load()}; got != [3]int64{tc.file, tc.dir, tc.writebacks} {
				t.Errorf("file, dir, writeback syncs = %v, want %v", got, [3]int64{tc.file, tc.dir, tc.writebacks})
			}
			want := data
			switch {
			case tc.abort:
				want = old
			case tc.mode == backend.WriteAppend && tc.existing:
				want = append(old, data...)
			case tc.mode == backend.WriteAt:
				want = append(old[:offset:offset], data...)
			}
			got, err := os.ReadFile(o.root.Name() + "/alice/f")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("file holds %d bytes, want %d (or different content)", len(got), len(want))
			}
		})
	}
}

// writeFile stores data under name through s, as a client would.
func writeFile(t *testing.T, s backend.FS, name string, data []byte) {
	t.Helper()
	u, err := s.Create(t.Context(), name, backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestWritebackFailed(t *testing.T) {
	for _, tc := range []struct {
		err      error
		fails    bool
		disabled bool
	}{
		{os.NewSyscallError("sync_file_range", syscall.ENOSYS), false, true},
		{os.NewSyscallError("sync_file_range", syscall.EINVAL), false, true},
		{os.NewSyscallError("sync_file_range", syscall.ESPIPE), false, true},
		{os.NewSyscallError("sync_file_range", syscall.EIO), true, false},
		{os.NewSyscallError("sync_file_range", syscall.ENOSPC), true, false},
	} {
		u := &upload{wb: true}
		err := u.writebackFailed(tc.err)
		if (err != nil) != tc.fails || u.wb || (u.wbErr != nil) != tc.fails {
			t.Errorf("%v: error %v, kept %v, writeback still on %v; want failure %v", tc.err, err, u.wbErr, u.wb, tc.fails)
		}
	}
}

// TestWritebackErrorFailsCommit: once early writeback failed, Commit
// fails too and leaves nothing under the name, although the file's own
// fsync would succeed.
func TestWritebackErrorFailsCommit(t *testing.T) {
	o := newTestOpener(t)
	defer o.Close()
	s, err := o.Open(t.Context(), "/alice")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.Create(t.Context(), "f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	up := u.(*upload)
	up.mu.Lock()
	up.writebackFailed(os.NewSyscallError("sync_file_range", syscall.EIO))
	up.mu.Unlock()
	if err := u.Commit(); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Commit after a writeback EIO: %v, want one wrapping ErrUnavailable", err)
	}
	if _, err := s.Stat(t.Context(), "f"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(f) after the failed commit: %v, want fs.ErrNotExist", err)
	}
	entries, err := os.ReadDir(o.root.Name() + "/alice")
	if err != nil || len(entries) != 0 {
		t.Errorf("home holds %v (%v), want nothing", entries, err)
	}
}
