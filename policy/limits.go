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
