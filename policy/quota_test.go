package policy

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReserveTable drives one reservation per case from a given usage and
// checks the errors and the usage after the reservation ends.
func TestReserveTable(t *testing.T) {
	type step struct {
		grow int64
		err  error // of this Grow
	}
	cases := []struct {
		name      string
		known     bool  // Set before Reserve
		bytes     int64 // usage before
		files     int64
		lim       Limits
		up        Upload
		reserve   error
		grows     []step
		end       string // "commit", "abort", "release"
		written   int64  // passed to Commit/Abort
		wantBytes int64
		wantFiles int64
	}{
		{name: "unknown usage with quota", lim: Limits{QuotaBytes: 10}, up: Upload{Path: "/f"}, reserve: ErrUsageUnknown},
		{name: "unknown usage with file quota", lim: Limits{QuotaFiles: 10}, up: Upload{Path: "/f"}, reserve: ErrUsageUnknown},
		{name: "unknown usage without quota still charges", lim: Limits{MaxFileSize: 100},
			up: Upload{Path: "/f"}, grows: []step{{60, nil}, {50, ErrFileTooLarge}}, end: "commit", written: 60,
			wantBytes: 60, wantFiles: 1},
		{name: "new file within quota", known: true, bytes: 900, files: 3, lim: Limits{QuotaBytes: 1000},
			up: Upload{Path: "/f"}, grows: []step{{100, nil}, {1, ErrQuotaExceeded}}, end: "commit", written: 100,
			wantBytes: 1000, wantFiles: 4},
		{name: "file quota full", known: true, bytes: 0, files: 2, lim: Limits{QuotaFiles: 2},
			up: Upload{Path: "/f"}, reserve: ErrQuotaExceeded},
		{name: "file quota full but overwrite", known: true, bytes: 10, files: 2, lim: Limits{QuotaFiles: 2},
			up: Upload{Path: "/f", Exists: true, OldSize: 10}, grows: []step{{5, nil}}, end: "commit", written: 5,
			wantBytes: 5, wantFiles: 2},
		{name: "already over quota", known: true, bytes: 1001, lim: Limits{QuotaBytes: 1000},
			up: Upload{Path: "/f", Exists: true, OldSize: 10}, reserve: ErrQuotaExceeded},
		{name: "overwrite counts only growth", known: true, bytes: 1000, files: 1, lim: Limits{QuotaBytes: 1000},
			up: Upload{Path: "/f", Exists: true, OldSize: 300}, grows: []step{{300, nil}, {1, ErrQuotaExceeded}},
			end: "commit", written: 300, wantBytes: 1000, wantFiles: 1},
		{name: "overwrite shrinks", known: true, bytes: 1000, files: 1, lim: Limits{QuotaBytes: 1000},
			up: Upload{Path: "/f", Exists: true, OldSize: 300}, grows: []step{{100, nil}},
			end: "commit", written: 100, wantBytes: 800, wantFiles: 1},
		{name: "replace aborted charges nothing", known: true, bytes: 500, files: 1, lim: Limits{QuotaBytes: 1000},
			up: Upload{Path: "/f", Exists: true, OldSize: 300}, grows: []step{{400, nil}},
			end: "abort", written: 400, wantBytes: 500, wantFiles: 1},
		{name: "append", known: true, bytes: 500, files: 1, lim: Limits{QuotaBytes: 1000, MaxFileSize: 400},
			up: Upload{Path: "/f", Mode: UploadAppend, Exists: true, OldSize: 300}, grows: []step{{100, nil}, {1, ErrFileTooLarge}},
			end: "commit", written: 100, wantBytes: 600, wantFiles: 1},
		{name: "append to a file already too large", known: true, bytes: 500, files: 1, lim: Limits{MaxFileSize: 200},
			up: Upload{Path: "/f", Mode: UploadAppend, Exists: true, OldSize: 300}, reserve: ErrFileTooLarge},
		{name: "append aborted keeps its bytes", known: true, bytes: 500, files: 1,
			up: Upload{Path: "/f", Mode: UploadAppend, Exists: true, OldSize: 300}, grows: []step{{100, nil}},
			end: "abort", written: 70, wantBytes: 570, wantFiles: 1},
		{name: "resume truncates at commit", known: true, bytes: 500, files: 1, lim: Limits{MaxFileSize: 250},
			up: Upload{Path: "/f", Mode: UploadAt, Exists: true, OldSize: 300, Offset: 100}, grows: []step{{150, nil}, {1, ErrFileTooLarge}},
			end: "commit", written: 150, wantBytes: 450, wantFiles: 1},
		{name: "resume aborted is not truncated", known: true, bytes: 500, files: 1,
			up: Upload{Path: "/f", Mode: UploadAt, Exists: true, OldSize: 300, Offset: 100}, grows: []step{{250, nil}},
			end: "abort", written: 250, wantBytes: 550, wantFiles: 1},
		{name: "resume beyond max_file_size at once", known: true, lim: Limits{MaxFileSize: 50},
			up: Upload{Path: "/f", Mode: UploadAt, Exists: true, OldSize: 300, Offset: 100}, reserve: ErrFileTooLarge},
		{name: "release", known: true, bytes: 10, files: 1, lim: Limits{QuotaBytes: 100},
			up: Upload{Path: "/f"}, grows: []step{{50, nil}}, end: "release", wantBytes: 10, wantFiles: 1},
		{name: "commit of fewer bytes than granted (ascii)", known: true, lim: Limits{QuotaBytes: 100},
			up: Upload{Path: "/f"}, grows: []step{{100, nil}}, end: "commit", written: 90, wantBytes: 90, wantFiles: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQuotas()
			if tc.known {
				q.Set("u", tc.bytes, tc.files)
			}
			r, err := q.Reserve("u", tc.lim, tc.up)
			if !errors.Is(err, tc.reserve) || (tc.reserve == nil) != (err == nil) {
				t.Fatalf("Reserve: %v, want %v", err, tc.reserve)
			}
			if err != nil {
				if b, f := q.Reserved("u"); b != 0 || f != 0 {
					t.Fatalf("failed Reserve holds %d bytes %d files", b, f)
				}
				return
			}
			for i, g := range tc.grows {
				if err := r.Grow(g.grow); !errors.Is(err, g.err) || (g.err == nil) != (err == nil) {
					t.Fatalf("Grow #%d(%d): %v, want %v", i, g.grow, err, g.err)
				}
			}
			switch tc.end {
			case "commit":
				r.Commit(tc.written)
			case "abort":
				r.Abort(tc.written)
			default:
				r.Release()
			}
			r.Release() // no-op after the end
			r.Commit(1 << 20)
			if err := r.Grow(1); !errors.Is(err, ErrReservationDone) {
				t.Fatalf("Grow after the end: %v", err)
			}
			if b, f := q.Usage("u"); b != tc.wantBytes || f != tc.wantFiles {
				t.Fatalf("usage %d bytes %d files, want %d %d", b, f, tc.wantBytes, tc.wantFiles)
			}
			if b, f := q.Reserved("u"); b != 0 || f != 0 {
				t.Fatalf("ended reservation still holds %d bytes %d files", b, f)
			}
		})
	}
}

// TestReserveCountsInFlight: the quota is checked against usage plus every
// reservation in flight, across sessions.
func TestReserveCountsInFlight(t *testing.T) {
	q := NewQuotas()
	q.Set("u", 0, 0)
	lim := Limits{QuotaBytes: 1000, QuotaFiles: 3}
	a, _ := q.Reserve("u", lim, Upload{Path: "/a"})
	b, _ := q.Reserve("u", lim, Upload{Path: "/b"})
	if err := a.Grow(600); err != nil {
		t.Fatal(err)
	}
	if err := b.Grow(401); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("second upload passed the quota with the first in flight: %v", err)
	}
	if err := b.Grow(400); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Reserve("u", lim, Upload{Path: "/c"}); err != nil {
		t.Fatal(err) // third new file fits
	}
	if _, err := q.Reserve("u", lim, Upload{Path: "/d"}); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("fourth new file in flight: %v", err)
	}
	if !q.Allows("u", lim, 0, 0) || q.Allows("u", lim, 1, 0) {
		t.Fatal("Allows ignores reservations")
	}
	a.Release()
	if err := b.Grow(600); err != nil {
		t.Fatalf("space released by an abort not reusable: %v", err)
	}
	// Other users are independent.
	q.Set("v", 0, 0)
	c, err := q.Reserve("v", lim, Upload{Path: "/a"})
	if err != nil || c.Grow(1000) != nil {
		t.Fatal("users share a quota")
	}
}

// TestReserveDeleteDuringUpload: a DELE of a file being overwritten does
// not subtract its size twice.
func TestReserveDeleteDuringUpload(t *testing.T) {
	q := NewQuotas()
	q.Set("u", 100, 1)
	r, _ := q.Reserve("u", Limits{}, Upload{Path: "/f", Exists: true, OldSize: 100})
	q.Remove("u", "/f", 100)
	if b, f := q.Usage("u"); b != 0 || f != 0 {
		t.Fatalf("after delete: %d %d", b, f)
	}
	r.Commit(40) // the upload recreates the file
	if b, f := q.Usage("u"); b != 40 || f != 1 {
		t.Fatalf("after commit: %d %d, want 40 1", b, f)
	}
	q.Remove("u", "/f", 40) // nothing in flight: the stat'ed size
	if b, f := q.Usage("u"); b != 0 || f != 0 {
		t.Fatalf("after second delete: %d %d", b, f)
	}
}

// TestReserveParallelStores: six sessions each store 290 000 bytes against
// a 1 000 000-byte quota; whatever the interleaving, at most three
// complete and the usage never exceeds the quota.
func TestReserveParallelStores(t *testing.T) {
	for round := 0; round < 20; round++ {
		q := NewQuotas()
		q.Set("u", 0, 0)
		lim := Limits{QuotaBytes: 1_000_000}
		var ok atomic.Int64
		var wg sync.WaitGroup
		ready := barrier(6, round%2 == 0)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := q.Reserve("u", lim, Upload{Path: "/f" + string(rune('a'+i))})
				ready()
				if err != nil {
					t.Error(err)
					return
				}
				defer r.Release()
				for n := int64(0); n < 290_000; n += 10_000 {
					if err := r.Grow(10_000); err != nil {
						if !errors.Is(err, ErrQuotaExceeded) {
							t.Error(err)
						}
						return
					}
				}
				r.Commit(290_000)
				ok.Add(1)
			}()
		}
		wg.Wait()
		b, f := q.Usage("u")
		if n := ok.Load(); n > 3 || b != n*290_000 || f != n || b > lim.QuotaBytes {
			t.Fatalf("round %d: %d stores completed, usage %d bytes %d files", round, n, b, f)
		}
		if rb, rf := q.Reserved("u"); rb != 0 || rf != 0 {
			t.Fatalf("leftover reservation %d %d", rb, rf)
		}
	}
}

// barrier returns a function that, when on, blocks until n goroutines
// called it: all uploads are then reserved before any proceeds, the
// interleaving that broke the snapshot checks. Off, it does nothing.
func barrier(n int, on bool) func() {
	if !on {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Add(n)
	return func() {
		wg.Done()
		wg.Wait()
	}
}

// fakeFile is the storage side of one file in the parallel tests: the
// gateway stats it just before Reserve, and the backend's write or rename
// and the Commit happen in one order.
type fakeFile struct {
	mu   sync.Mutex
	size int64
}

// TestReserveParallelAppends: three appends to one file share its
// max_file_size.
func TestReserveParallelAppends(t *testing.T) {
	for round := 0; round < 20; round++ {
		q := NewQuotas()
		q.Set("u", 100_000, 1)
		disk := &fakeFile{size: 100_000}
		lim := Limits{MaxFileSize: 300_000}
		var ok atomic.Int64
		var wg sync.WaitGroup
		ready := barrier(3, round%2 == 0)
		grown := barrier(3, round%2 == 0) // every append grows before any commits
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				disk.mu.Lock()
				r, err := q.Reserve("u", lim, Upload{Path: "/f", Mode: UploadAppend, Exists: true, OldSize: disk.size})
				disk.mu.Unlock()
				ready()
				var written int64
				for err == nil && written < 100_000 {
					if gerr := r.Grow(5_000); gerr != nil {
						if !errors.Is(gerr, ErrFileTooLarge) {
							t.Error(gerr)
						}
						break
					}
					written += 5_000
				}
				grown()
				if errors.Is(err, ErrFileTooLarge) {
					return // the file was full already
				}
				if err != nil {
					t.Error(err)
					return
				}
				disk.mu.Lock()
				disk.size += written
				if written == 100_000 {
					r.Commit(written)
					ok.Add(1)
				} else {
					r.Abort(written) // the appended bytes stay in the file
				}
				disk.mu.Unlock()
			}()
		}
		wg.Wait()
		if b, _ := q.Usage("u"); b != 300_000 || disk.size != 300_000 || ok.Load() > 2 {
			t.Fatalf("round %d: file of %d bytes (charged %d) after %d complete appends, want the 300 000 cap",
				round, disk.size, b, ok.Load())
		}
	}
}

// TestReserveParallelOverwrites: four overwrites of one 100-byte file
// remove its old size once; usage ends at the size the last commit wrote.
func TestReserveParallelOverwrites(t *testing.T) {
	for round := 0; round < 50; round++ {
		q := NewQuotas()
		q.Set("u", 1100, 2) // the file and another of 1000 bytes
		disk := &fakeFile{size: 100}
		var wg sync.WaitGroup
		ready := barrier(4, round%2 == 0)
		for i := 0; i < 4; i++ {
			size := int64(10 + 20*i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				disk.mu.Lock()
				r, err := q.Reserve("u", Limits{QuotaBytes: 2000}, Upload{Path: "/f", Exists: true, OldSize: disk.size})
				disk.mu.Unlock()
				ready()
				if err != nil {
					t.Error(err)
					return
				}
				if err := r.Grow(size); err != nil {
					t.Error(err)
					return
				}
				disk.mu.Lock() // the rename and its commit, in one order
				disk.size = size
				r.Commit(size)
				disk.mu.Unlock()
			}()
		}
		wg.Wait()
		if b, f := q.Usage("u"); b != 1000+disk.size || f != 2 {
			t.Fatalf("round %d: usage %d bytes %d files, want %d and 2", round, b, f, 1000+disk.size)
		}
	}
}

// TestQuotasRace mixes every operation from many goroutines (-race) and
// checks the books balance.
func TestQuotasRace(t *testing.T) {
	q := NewQuotas()
	q.Set("u", 0, 0)
	lim := Limits{QuotaBytes: 1 << 20, QuotaFiles: 1000, MaxFileSize: 1 << 16}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				path := "/p" + string(rune('a'+(g+i)%5))
				mode := UploadMode(i % 3)
				r, err := q.Reserve("u", lim, Upload{Path: path, Mode: mode, Offset: 0})
				if err != nil {
					continue
				}
				_ = r.Grow(int64(100 + i))
				switch i % 4 {
				case 0:
					r.Commit(r.Written())
				case 1:
					r.Abort(r.Written() / 2)
				case 2:
					q.Remove("u", path, 0)
					r.Release()
				default:
					q.Usage("u")
					q.Known("u")
					q.Allows("u", lim, 1, 1)
					r.Release()
				}
			}
		}()
	}
	wg.Wait()
	if b, f := q.Reserved("u"); b != 0 || f != 0 {
		t.Fatalf("reservations left: %d %d", b, f)
	}
	if b, f := q.Usage("u"); b < 0 || f < 0 {
		t.Fatalf("negative usage %d %d", b, f)
	}
	u := q.user("u")
	if len(u.paths) != 0 {
		t.Fatalf("%d paths still tracked", len(u.paths))
	}
}
