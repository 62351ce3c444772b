package policy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// Bounds of the login caches of the remote providers (LDAP, upstream).
const (
	credCacheDefaultTTL = 30 * time.Second
	credCacheMaxTTL     = time.Hour
	credCacheMaxEntries = 10000
)

// credCache remembers successful logins of a remote provider for a
// while, so a burst of sessions costs the directory or the upstream
// server one check. Entries are keyed by HMAC-SHA256(random key made for
// this policy snapshot, user NUL password): the password itself is never
// stored, and a changed password misses the cache. A ttl <= 0 disables
// it. It holds at most credCacheMaxEntries entries.
type credCache[V any] struct {
	ttl time.Duration
	key []byte
	now func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]credEntry[V] // guarded by mu
}

type credEntry[V any] struct {
	val     V
	expires time.Time
}

func newCredCache[V any](ttl time.Duration) *credCache[V] {
	c := &credCache[V]{ttl: ttl, key: make([]byte, 32), now: time.Now, m: make(map[[sha256.Size]byte]credEntry[V])}
	_, _ = rand.Read(c.key)
	return c
}

// cacheTTL applies the default (0) and checks the bound; negative means
// no cache.
func cacheTTL(ttl time.Duration, bad func(field, msg string)) time.Duration {
	switch {
	case ttl > credCacheMaxTTL:
		bad("cache_ttl", "must be at most 1h (0: default 30s, negative: no cache)")
	case ttl == 0:
		return credCacheDefaultTTL
	}
	return ttl
}

func (c *credCache[V]) keyOf(user, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// get returns the value cached for this user and password, if fresh.
func (c *credCache[V]) get(user, password string) (V, bool) {
	var zero V
	if c.ttl <= 0 {
		return zero, false
	}
	k := c.keyOf(user, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return zero, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, k)
		return zero, false
	}
	return e.val, true
}

// clear forgets every entry.
func (c *credCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// put remembers a successful login.
func (c *credCache[V]) put(user, password string, v V) {
	if c.ttl <= 0 {
		return
	}
	k := c.keyOf(user, password)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= credCacheMaxEntries {
		for ck, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, ck)
			}
		}
		for ck := range c.m {
			if len(c.m) < credCacheMaxEntries {
				break
			}
			delete(c.m, ck)
		}
	}
	c.m[k] = credEntry[V]{val: v, expires: now.Add(c.ttl)}
}
