package policy

// Stateful companions of the immutable Policy: they outlive reloads.

import (
	"context"
	"net/netip"
	"time"
)

// Defender counts failed logins per client IP and bans offenders.
type Defender struct{}

// NewDefender returns a defender using now as its clock (time.Now in
// production, a fake clock in tests).
func NewDefender(cfg DefenderConfig, now func() time.Time) *Defender { return &Defender{} }

// SetConfig applies a reloaded defender block; existing bans stay.
func (d *Defender) SetConfig(cfg DefenderConfig) {}

// Banned reports whether ip is banned now, and until when.
func (d *Defender) Banned(ip netip.Addr) (bool, time.Time) { return false, time.Time{} }

// Failure records a failed login from ip; banned is true when this failure
// started a ban.
func (d *Defender) Failure(ip netip.Addr) (banned bool, until time.Time) { return false, time.Time{} }

// Success resets ip's failure count.
func (d *Defender) Success(ip netip.Addr) {}

// ActiveBans counts bans in force now.
func (d *Defender) ActiveBans() int { return 0 }

// Bandwidth holds per-user token buckets shared by all of a user's sessions.
type Bandwidth struct{}

// NewBandwidth returns an empty set of buckets.
func NewBandwidth() *Bandwidth { return &Bandwidth{} }

// Wait blocks until user may move n more bytes in the given direction at
// bytesPerSec (0: unlimited, returns at once), or ctx ends.
func (b *Bandwidth) Wait(ctx context.Context, user string, upload bool, bytesPerSec int64, n int) error {
	return nil
}

// Quotas tracks each user's stored bytes and files.
type Quotas struct{}

// NewQuotas returns an empty tracker.
func NewQuotas() *Quotas { return &Quotas{} }

// Known reports whether user's usage has been counted.
func (q *Quotas) Known(user string) bool { return false }

// Set records user's usage as counted from the backend.
func (q *Quotas) Set(user string, bytes, files int64) {}

// Add adjusts user's usage by a delta (negative on delete).
func (q *Quotas) Add(user string, bytes, files int64) {}

// Usage returns user's current usage.
func (q *Quotas) Usage(user string) (bytes, files int64) { return 0, 0 }
