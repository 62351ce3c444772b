package backendtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

const (
	// bigDirEntries is the size of the big-listing directory.
	bigDirEntries = 10000
	// listN is the batch the big-listing subtest asks for.
	listN = 100
	// blockSize is the unit of the big transfer's generated data.
	blockSize = 1 << 20
	// sampleEvery is how many blocks pass between two heap samples.
	sampleEvery = 16
)

// liveHeap collects garbage and returns the bytes of live heap objects,
// so that the bounds below measure what a backend holds on to, not what
// it has thrown away and the collector has not yet reclaimed.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC() // the second also empties the sync.Pool victim caches
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// mib formats bytes in MiB for the logs.
func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// testBigListing lists a 10 000-entry directory through the Lister and
// checks that it streams: no batch is larger than asked, the first batch
// comes while most entries are still unread, and an open listing holds
// less than half the heap that the whole listing takes.
func (s *suite) testBigListing(t *testing.T) {
	fsys := s.fresh(t)
	mkdir(t, fsys, "big")
	start := time.Now()
	fill(t, fsys, "big", bigDirEntries)
	filled := time.Since(start)
	ctx := t.Context()
	seen := make([]bool, bigDirEntries)

	base := liveHeap()
	l, err := fsys.ReadDir(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first, err := l.Next(ctx, listN)
	if err != nil || len(first) == 0 || len(first) > listN {
		t.Fatalf("first Next(%d) = %d entries, %v; want 1 to %d", listN, len(first), err, listN)
	}
	total := s.markSeen(t, seen, first)
	first = nil
	open := max(0, liveHeap()-base)
	for {
		batch, err := l.Next(ctx, listN)
		if len(batch) > listN {
			t.Fatalf("Next(%d) returned %d entries", listN, len(batch))
		}
		total += s.markSeen(t, seen, batch)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d entries: %v", total, err)
		}
	}
	if total != bigDirEntries {
		t.Errorf("listed %d entries, want %d", total, bigDirEntries)
	}
	l.Close()
	t.Logf("created %d directories in %v, listed them in %v", bigDirEntries,
		filled.Round(time.Millisecond), (time.Since(start) - filled).Round(time.Millisecond))

	base = liveHeap()
	all, err := backend.ReadAll(ctx, fsys, "big")
	whole := liveHeap() - base
	runtime.KeepAlive(all)
	if err != nil || len(all) != bigDirEntries {
		t.Fatalf("ReadAll: %d entries, %v", len(all), err)
	}
	t.Logf("open listing after one batch holds %s; the whole listing takes %s", mib(open), mib(whole))
	if open > whole/2 || open > s.h.MemBound {
		t.Errorf("an open listing holds %s after one batch of %d: it reads the directory whole (all of it takes %s, bound %s)",
			mib(open), listN, mib(whole), mib(s.h.MemBound))
	}
}

// fill creates n empty directories e00000... in dir, with a few workers
// (directories: creating them costs no fsync on a disk).
func fill(t *testing.T, fsys backend.FS, dir string, n int) {
	t.Helper()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fsys.Mkdir(t.Context(), fmt.Sprintf("%s/e%05d", dir, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("filling %s: %v", dir, err)
	}
}

// markSeen records a batch of the big listing and returns its length.
func (s *suite) markSeen(t *testing.T, seen []bool, batch []fs.FileInfo) int {
	t.Helper()
	for _, fi := range batch {
		i, err := strconv.Atoi(fi.Name()[min(1, len(fi.Name())):])
		switch {
		case err != nil || i < 0 || i >= len(seen) || fi.Name() != fmt.Sprintf("e%05d", i):
			t.Fatalf("unexpected entry %q", fi.Name())
		case seen[i]:
			t.Fatalf("entry %q listed twice", fi.Name())
		case !fi.IsDir():
			t.Errorf("entry %q listed as a file", fi.Name())
		}
		seen[i] = true
	}
	return len(batch)
}

// gen produces the big transfer's data: pseudo-random 1 MiB blocks that
// differ in their first 8 bytes (the block number), so that a lost,
// repeated or reordered block changes the checksum. It is cheap: one
// random block, then 8 bytes per block.
type gen struct {
	block []byte
}

func newGen() *gen {
	g := &gen{block: make([]byte, blockSize)}
	r := rand.NewChaCha8([32]byte{'f', 't', 'p', 's', 'g', 'w'})
	r.Read(g.block)
	return g
}

// next returns block i; the slice is reused by the following call.
func (g *gen) next(i int64) []byte {
	binary.BigEndian.PutUint64(g.block, uint64(i))
	return g.block
}

// heapWatch tracks the peak live-heap growth over a baseline.
type heapWatch struct {
	base, peak int64
}

func newHeapWatch() *heapWatch { return &heapWatch{base: liveHeap()} }

// sample records the growth, less allowance (the data an in-heap storage
// legitimately holds).
func (w *heapWatch) sample(allowance int64) {
	w.peak = max(w.peak, liveHeap()-w.base-allowance)
}

// testBigTransfer writes a 1 GiB file (64 MiB with -short) through one
// upload, reads it back and compares checksums, sampling the live heap:
// neither direction may buffer more than MemBound.
func (s *suite) testBigTransfer(t *testing.T) {
	fsys := s.fresh(t)
	size := bigSize()
	blocks := size / blockSize
	g := newGen()
	start := time.Now()
	wrote, w := s.bigWrite(t, fsys, g, blocks)
	wroteIn := time.Since(start)
	if fi := stat(t, fsys, "big"); fi.Size() != size {
		t.Fatalf("big file is %d bytes, want %d", fi.Size(), size)
	}
	start = time.Now()
	read, r := s.bigRead(t, fsys)
	t.Logf("%s: write %v, peak heap growth %s; read %v, peak heap growth %s (bound %s)",
		mib(size), wroteIn.Round(time.Millisecond), mib(w.peak), time.Since(start).Round(time.Millisecond), mib(r.peak), mib(s.h.MemBound))
	if !bytes.Equal(wrote, read) {
		t.Errorf("read back a different file: sha256 %x, wrote %x", read, wrote)
	}
	if w.peak > s.h.MemBound {
		t.Errorf("writing %s grew the heap by %s, bound %s", mib(size), mib(w.peak), mib(s.h.MemBound))
	}
	if r.peak > s.h.MemBound {
		t.Errorf("reading %s grew the heap by %s, bound %s", mib(size), mib(r.peak), mib(s.h.MemBound))
	}
	if err := fsys.Remove(t.Context(), "big"); err != nil {
		t.Errorf("Remove(big): %v", err)
	}
}

// bigWrite uploads blocks generated blocks to "big" and returns their
// sha256.
func (s *suite) bigWrite(t *testing.T, fsys backend.FS, g *gen, blocks int64) ([]byte, *heapWatch) {
	t.Helper()
	h := sha256.New()
	w := newHeapWatch()
	u, err := fsys.Create(t.Context(), "big", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Abort()
	for i := range blocks {
		b := g.next(i)
		h.Write(b)
		if _, err := u.Write(b); err != nil {
			t.Fatalf("write block %d: %v", i, err)
		}
		if i%sampleEvery == 0 {
			w.sample(s.inHeap(i * blockSize))
		}
	}
	if err := u.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	w.sample(s.inHeap(blocks * blockSize))
	return h.Sum(nil), w
}

// bigRead reads "big" back and returns its sha256.
func (s *suite) bigRead(t *testing.T, fsys backend.FS) ([]byte, *heapWatch) {
	t.Helper()
	h := sha256.New()
	w := newHeapWatch()
	r, err := fsys.Open(t.Context(), "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 32<<10)
	var n int64
	for i := 0; ; i++ {
		k, err := r.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if i%(sampleEvery*blockSize/len(buf)) == 0 {
			w.sample(0)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v", n, err)
		}
	}
	w.sample(0)
	return h.Sum(nil), w
}

// inHeap is the heap an in-heap storage may hold after n bytes written.
func (s *suite) inHeap(n int64) int64 {
	if s.h.InHeap {
		return n
	}
	return 0
}
