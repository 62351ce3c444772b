package gateway

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func fileInfo(size int64, mtime time.Time) backend.FileInfo {
	return backend.FileInfo{FName: "f", FSize: size, FModTime: mtime}
}

func TestHashCacheValidatesSizeAndMtime(t *testing.T) {
	var c hashCache
	k := hashKey{user: "alice", backend: "files", home: "/alice", path: "/f"}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	sum := sha256.Sum256([]byte("x"))
	if _, ok := c.get(k, fileInfo(1, t0)); ok {
		t.Fatal("hit in an empty cache")
	}
	c.put(k, fileInfo(1, t0), sum)
	if got, ok := c.get(k, fileInfo(1, t0.In(time.Local))); !ok || got != sum {
		t.Fatalf("same size and instant: hit=%v", ok)
	}
	for name, fi := range map[string]backend.FileInfo{
		"size":  fileInfo(2, t0),
		"mtime": fileInfo(1, t0.Add(time.Nanosecond)),
	} {
		c.put(k, fileInfo(1, t0), sum)
		if _, ok := c.get(k, fi); ok {
			t.Errorf("changed %s: served the old hash", name)
		}
		if c.len() != 0 {
			t.Errorf("changed %s: stale entry kept", name)
		}
	}
	other := k
	other.user = "bob" // same home and path, another login
	c.put(k, fileInfo(1, t0), sum)
	if _, ok := c.get(other, fileInfo(1, t0)); ok {
		t.Error("one user's entry served to another")
	}
	c.forget(k)
	if _, ok := c.get(k, fileInfo(1, t0)); ok {
		t.Error("hit after forget")
	}
}

func TestHashCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := hashCache{max: 3}
	t0 := time.Now()
	key := func(i int) hashKey { return hashKey{user: "u", path: fmt.Sprint("/", i)} }
	for i := range 3 {
		c.put(key(i), fileInfo(int64(i), t0), [32]byte{byte(i)})
	}
	c.get(key(0), fileInfo(0, t0)) // 0 is now the most recent; 1 the least
	c.put(key(3), fileInfo(3, t0), [32]byte{3})
	if c.len() != 3 {
		t.Fatalf("%d entries, want 3", c.len())
	}
	if _, ok := c.get(key(1), fileInfo(1, t0)); ok {
		t.Error("least recently used entry kept")
	}
	for _, i := range []int{0, 2, 3} {
		if got, ok := c.get(key(i), fileInfo(int64(i), t0)); !ok || got[0] != byte(i) {
			t.Errorf("entry %d lost", i)
		}
	}
	c.put(key(2), fileInfo(9, t0), [32]byte{9}) // replace keeps one entry
	if got, ok := c.get(key(2), fileInfo(9, t0)); c.len() != 3 || !ok || got[0] != 9 {
		t.Errorf("replace: len %d, hit %v", c.len(), ok)
	}

	var def hashCache
	for i := range hashCacheSize + 10 {
		def.put(key(i), fileInfo(1, t0), [32]byte{})
	}
	if def.len() != hashCacheSize {
		t.Errorf("default cache holds %d, want %d", def.len(), hashCacheSize)
	}
}

func TestHashCacheConcurrent(t *testing.T) {
	c := hashCache{max: 64}
	t0 := time.Now()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := hashKey{user: "u", path: fmt.Sprint("/", (g*31+i)%100)}
				switch i % 3 {
				case 0:
					c.put(k, fileInfo(int64(i), t0), [32]byte{})
				case 1:
					c.get(k, fileInfo(int64(i-1), t0))
				default:
					c.forget(k)
				}
			}
		}()
	}
	wg.Wait()
	if c.len() > 64 {
		t.Errorf("%d entries over the bound", c.len())
	}
}

func TestHashJobSlots(t *testing.T) {
	var h hashState
	for range maxHashJobs {
		if !h.acquire() {
			t.Fatal("slot refused below the limit")
		}
	}
	if h.acquire() {
		t.Fatal("slot granted over the limit")
	}
	h.release()
	if !h.acquire() {
		t.Fatal("released slot not reusable")
	}
}

func TestHashMaxSizeDefault(t *testing.T) {
	for in, want := range map[int64]int64{0: 10 << 30, -1: -1, 5: 5} {
		if got := (&Config{HashMaxSize: in}).hashMaxSize(); got != want {
			t.Errorf("HashMaxSize %d: effective %d, want %d", in, got, want)
		}
	}
}
