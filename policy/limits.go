package policy

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits returns the limits in force for id in this snapshot: a file
// user's own settings; LDAP and anonymous users, and users removed by a
// reload, get the zero Limits (no per-user limits; the server-wide ones
// still apply).
func (p *Policy) Limits(id *Identity) Limits {
	if id == nil || id.Source != "file" {
		return Limits{}
	}
	u := p.users[id.User]
	if u == nil {
		return Limits{}
	}
	c := &u.cfg
	return Limits{
		MaxSessions:  c.MaxSessions,
		MaxFileSize:  c.MaxFileSize,
		QuotaBytes:   c.QuotaBytes,
		QuotaFiles:   c.QuotaFiles,
		UploadRate:   c.UploadRate,
		DownloadRate: c.DownloadRate,
	}
}

// Bandwidth bounds.
const (
	bwMaxBurst     = 1 << 20 // bytes a bucket may hold
	bwMinBurst     = 512
	bwSweepAt      = 4096 // buckets before idle ones are swept
	bwIdleForSweep = 10 * time.Minute
)

// Bandwidth holds per-user token buckets (golang.org/x/time/rate), one per
// user and direction, shared by all of that user's sessions. It is safe for
// concurrent use and outlives reloads: a changed rate is applied to the
// existing bucket on the next Wait. Buckets idle for 10 minutes are
// dropped once there are more than 4096.
type Bandwidth struct {
	now func() time.Time

	mu      sync.Mutex
	buckets map[bwKey]*bwBucket // guarded by mu
}

type bwKey struct {
	user   string
	upload bool
}

type bwBucket struct {
	lim      *rate.Limiter
	lastUsed time.Time // guarded by Bandwidth.mu
}

// NewBandwidth returns an empty set of buckets.
func NewBandwidth() *Bandwidth {
	return &Bandwidth{now: time.Now, buckets: make(map[bwKey]*bwBucket)}
}

// burstFor is a quarter second of traffic, within [512 B, 1 MiB] and never
// above the rate itself.
func burstFor(bps int64) int {
	b := max(bps/4, bwMinBurst)
	b = min(b, bps, bwMaxBurst)
	return int(max(b, 1))
}

// limiter returns user's bucket for the direction, created or adjusted to
// bps.
func (b *Bandwidth) limiter(user string, upload bool, bps int64) *rate.Limiter {
	k := bwKey{user, upload}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[k]
	if bk == nil {
		if len(b.buckets) >= bwSweepAt {
			for key, v := range b.buckets {
				if now.Sub(v.lastUsed) > bwIdleForSweep {
					delete(b.buckets, key)
				}
			}
		}
		bk = &bwBucket{lim: rate.NewLimiter(rate.Limit(bps), burstFor(bps))}
		b.buckets[k] = bk
	} else if bk.lim.Limit() != rate.Limit(bps) {
		bk.lim.SetLimit(rate.Limit(bps))
		bk.lim.SetBurst(burstFor(bps))
	}
	bk.lastUsed = now
	return bk.lim
}

// Wait blocks until user may move n more bytes in the given direction at
// bytesPerSec (0 or less: unlimited, returns at once), or ctx ends (then
// it returns ctx's error, or an error at once when the wait would outlast
// ctx's deadline). All sessions of a user draw from the same bucket.
func (b *Bandwidth) Wait(ctx context.Context, user string, upload bool, bytesPerSec int64, n int) error {
	if bytesPerSec <= 0 || n <= 0 {
		return nil
	}
	lim := b.limiter(user, upload, bytesPerSec)
	for n > 0 {
		k := min(n, lim.Burst())
		if err := lim.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// Quotas tracks each user's stored bytes and files. It is safe for
// concurrent use and outlives reloads.
type Quotas struct {
	mu sync.Mutex
	m  map[string]*quotaUsage // guarded by mu
}

type quotaUsage struct {
	known        bool
	bytes, files int64
}

// NewQuotas returns an empty tracker.
func NewQuotas() *Quotas { return &Quotas{m: make(map[string]*quotaUsage)} }

// Known reports whether user's usage has been counted (Set).
func (q *Quotas) Known(user string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.m[user]
	return u != nil && u.known
}

// Set records user's usage as counted from the backend.
func (q *Quotas) Set(user string, bytes, files int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.m[user] = &quotaUsage{known: true, bytes: max(bytes, 0), files: max(files, 0)}
}

// Add adjusts user's usage by a delta (negative on delete); usage never
// goes below zero.
func (q *Quotas) Add(user string, bytes, files int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.m[user]
	if u == nil {
		u = &quotaUsage{}
		q.m[user] = u
	}
	u.bytes = max(u.bytes+bytes, 0)
	u.files = max(u.files+files, 0)
}

// Usage returns user's current usage.
func (q *Quotas) Usage(user string) (bytes, files int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u := q.m[user]; u != nil {
		return u.bytes, u.files
	}
	return 0, 0
}

// Allows reports whether user may store bytes more bytes in files more
// files under l's quotas (zero quota: unlimited).
func (q *Quotas) Allows(user string, l Limits, bytes, files int64) bool {
	ub, uf := q.Usage(user)
	if l.QuotaBytes > 0 && ub+bytes > l.QuotaBytes {
		return false
	}
	if l.QuotaFiles > 0 && uf+files > l.QuotaFiles {
		return false
	}
	return true
}
