package gateway

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"
)

// The hash cache remembers the SHA-256 that a transfer computed while it
// streamed a whole file, so that HASH (cmd_hash.go) can answer without
// reading the file again, as draft-bryan-ftpext-hash-02 §6 suggests ("a
// server MAY cache the calculated hashes ... provided it updates or
// invalidates the cached hash when the content of the corresponding file
// changes").
//
// An entry is valid only while a Stat of the file reports the same size
// and the same modification time as when the entry was made. Uploads
// through the gateway replace or drop the entry when they end; changes
// made behind the gateway's back are caught by the Stat comparison, except
// a rewrite that keeps both the size and the mtime (possible on storage
// with one-second mtimes, within that second).

// Bounds of the HASH machinery.
const (
	hashCacheSize = 4096 // entries, least recently used evicted
	// maxHashJobs bounds HASH computations (not cache hits) running at once
	// in the process; beyond it HASH answers 450 (draft §3.5, §6).
	maxHashJobs = 16
)

// hashKey names one file as one login sees it: the user, the backend and
// home the login opened, and the virtual path. The user is part of the key
// because virtual folders (policy mounts) are per login: the same virtual
// path may be different storage for two users sharing a home, and the
// draft (§6) warns that shared hashes leak which files are alike.
type hashKey struct {
	user, backend, home, path string
}

// hashEntry is one cached whole-file SHA-256.
type hashEntry struct {
	key   hashKey
	size  int64
	mtime time.Time
	sum   [sha256.Size]byte
}

// hashCache is a bounded LRU of whole-file SHA-256 sums, safe for
// concurrent use. The zero value is an empty cache of hashCacheSize.
type hashCache struct {
	mu  sync.Mutex // guards the fields below
	lru list.List  // of *hashEntry, most recently used at the front
	idx map[hashKey]*list.Element
	max int // 0: hashCacheSize
}

// get returns the cached sum for k if fi still has the size and mtime it
// had when the sum was computed; a stale entry is dropped.
func (c *hashCache) get(k hashKey, fi fs.FileInfo) ([sha256.Size]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.idx[k]
	if !ok {
		return [sha256.Size]byte{}, false
	}
	e := el.Value.(*hashEntry)
	if e.size != fi.Size() || !e.mtime.Equal(fi.ModTime()) {
		c.remove(el)
		return [sha256.Size]byte{}, false
	}
	c.lru.MoveToFront(el)
	return e.sum, true
}

// put remembers sum as the SHA-256 of k while it has fi's size and mtime.
func (c *hashCache) put(k hashKey, fi fs.FileInfo, sum [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx == nil {
		c.idx = make(map[hashKey]*list.Element)
	}
	e := &hashEntry{key: k, size: fi.Size(), mtime: fi.ModTime(), sum: sum}
	if el, ok := c.idx[k]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.idx[k] = c.lru.PushFront(e)
	limit := c.max
	if limit <= 0 {
		limit = hashCacheSize
	}
	for c.lru.Len() > limit {
		c.remove(c.lru.Back())
	}
}

// forget drops k (after an upload that changed the file in place).
func (c *hashCache) forget(k hashKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.idx[k]; ok {
		c.remove(el)
	}
}

// len is the number of entries.
func (c *hashCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *hashCache) remove(el *list.Element) {
	delete(c.idx, el.Value.(*hashEntry).key)
	c.lru.Remove(el)
}

// hashState is the Server's process-wide HASH state. The zero value is
// ready for use.
type hashState struct {
	cache hashCache
	jobs  atomic.Int32 // HASH computations running
}

// acquire claims a computation slot; false means the server is busy.
func (h *hashState) acquire() bool {
	if h.jobs.Add(1) > maxHashJobs {
		h.jobs.Add(-1)
		return false
	}
	return true
}

func (h *hashState) release() { h.jobs.Add(-1) }

// hashKeyFor is the cache key of p for the logged-in user.
func (s *session) hashKeyFor(p vpath) hashKey {
	return hashKey{user: s.ident.User, backend: s.ident.Backend, home: s.ident.Home, path: p.String()}
}

// forgetHash drops p's cached hash. Commands that change which file a path
// names without a transfer (DELE, RNFR/RNTO on both names) should call it:
// the size and mtime check catches them too, except a rename of a file
// with the same size and mtime as the one it replaces.
func (s *session) forgetHash(p vpath) { s.srv.hashes.cache.forget(s.hashKeyFor(p)) }

// settleHash runs when a transfer has ended, before its record is written
// and its final reply sent (so a HASH right after the 226 sees the cache).
// It fills in the transfer's digest for the record and updates the cache:
//
//   - a complete binary download from offset 0 read the whole file; its
//     sum is cached if a Stat shows the size that was read and an mtime
//     older than the transfer's start (with a second of slack for storage
//     with whole-second mtimes), so a file rewritten while it was read is
//     never cached;
//   - a committed binary upload that wrote the whole file (STOR, STOU, or
//     APPE that created it) is cached with the Stat taken after the commit;
//   - any other upload drops the entry: APPE and REST+STOR change the file
//     in place, even when they fail.
func (s *session) settleHash(x *transfer, start time.Time, result TransferResult) {
	if x.dir == Download && x.known != nil {
		if result == TransferOK {
			s.settleKnown(x)
		}
		return
	}
	if x.dir == "" || (x.dir == Download && (x.hash == nil || result != TransferOK)) {
		return
	}
	if x.dir == Upload && (x.hash == nil || result != TransferOK) {
		s.srv.hashes.cache.forget(x.key)
		return
	}
	var sum [sha256.Size]byte
	x.hash.Sum(sum[:0])
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.OpTimeout)
	fi, err := x.fs.Stat(ctx, x.path.name())
	cancel()
	n := x.bytes.Load()
	offset := x.offset
	if x.dir == Upload && x.verb == "APPE" {
		if err != nil {
			s.srv.hashes.cache.forget(x.key)
			return // where the appended bytes start is unknown
		}
		if offset = fi.Size() - n; offset < 0 {
			s.srv.hashes.cache.forget(x.key)
			return // the file shrank meanwhile
		}
	}
	if offset != 0 {
		x.digest = transferDigest{offset: offset, rangeSHA256: hex.EncodeToString(sum[:])}
		if x.dir == Upload {
			s.srv.hashes.cache.forget(x.key)
		}
		return
	}
	x.digest = transferDigest{sha256: hex.EncodeToString(sum[:])}
	switch {
	case err != nil || !fi.Mode().IsRegular() || fi.Size() != n:
		if x.dir == Upload {
			s.srv.hashes.cache.forget(x.key)
		}
	case x.dir == Upload || fi.ModTime().Before(start.Add(-time.Second)):
		s.srv.hashes.cache.put(x.key, fi, sum)
	}
}

// knownHash returns the cached entry for a whole-file binary download of
// p, whose Stat at RETR was fi, or nil.
func (s *session) knownHash(p vpath, fi fs.FileInfo) *hashEntry {
	k := s.hashKeyFor(p)
	sum, ok := s.srv.hashes.cache.get(k, fi)
	if !ok {
		return nil
	}
	return &hashEntry{key: k, size: fi.Size(), mtime: fi.ModTime(), sum: sum}
}

// settleKnown records the known sum of a complete download that was sent
// unhashed, if it moved the whole file and a Stat shows the file unchanged
// since the entry was checked at RETR; otherwise the record carries no
// hash, since the bytes sent were not hashed.
func (s *session) settleKnown(x *transfer) {
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.OpTimeout)
	fi, err := x.fs.Stat(ctx, x.path.name())
	cancel()
	k := x.known
	if err != nil || fi.Size() != k.size || !fi.ModTime().Equal(k.mtime) || x.bytes.Load() != k.size {
		return
	}
	x.digest = transferDigest{sha256: hex.EncodeToString(k.sum[:])}
}

// transferDigest is what a transfer's record says about its bytes' hash:
// sha256 for a whole file, or rangeSHA256 of the bytes from offset on.
type transferDigest struct {
	sha256      string
	rangeSHA256 string
	offset      int64
}
