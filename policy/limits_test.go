package policy

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	p := mustCompile(t, Config{Users: []UserConfig{{Name: "u", PasswordHash: cheapHash(t, "x"),
		MaxSessions: 4, MaxFileSize: 10, QuotaBytes: 100, QuotaFiles: 5, UploadRate: 1000, DownloadRate: 2000}}})
	want := Limits{MaxSessions: 4, MaxFileSize: 10, QuotaBytes: 100, QuotaFiles: 5, UploadRate: 1000, DownloadRate: 2000}
	if got := p.Limits(fileID("u")); got != want {
		t.Fatalf("Limits = %+v", got)
	}
	if got := p.Limits(fileID("gone")); got != (Limits{}) {
		t.Fatalf("unknown user limits %+v", got)
	}
	if got := p.Limits(nil); got != (Limits{}) {
		t.Fatalf("nil limits %+v", got)
	}
}

// TestBandwidthPaces checks pacing through the bucket's own accounting
// (reservation delays and token counts), not wall-clock sleeps.
func TestBandwidthPaces(t *testing.T) {
	b := NewBandwidth()
	ctx := context.Background()
	const bps = 4000
	lim := b.limiter("alice", false, bps)
	burst := lim.Burst()
	if burst != 1000 {
		t.Fatalf("burst %d, want a quarter second (1000)", burst)
	}
	// Draining the burst is immediate.
	if err := b.Wait(ctx, "alice", false, bps, burst); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if tok := lim.TokensAt(now); tok > 100 {
		t.Fatalf("%v tokens left after Wait drained the burst", tok)
	}
	// The next burst must wait ~0.25 s at 4000 B/s.
	r1 := lim.ReserveN(now, burst)
	if d := r1.DelayFrom(now); d < 200*time.Millisecond || d > 260*time.Millisecond {
		t.Fatalf("delay for a burst after draining: %v, want ~250ms", d)
	}
	r1.CancelAt(now)
	// Sessions of the same user share the bucket; other users and the
	// other direction do not.
	if b.limiter("alice", false, bps) != lim {
		t.Fatal("sessions do not share the bucket")
	}
	if b.limiter("alice", true, bps) == lim || b.limiter("bob", false, bps) == lim {
		t.Fatal("bucket shared across direction or user")
	}
	// Unlimited returns at once and touches no bucket.
	if err := b.Wait(ctx, "carol", true, 0, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.buckets[bwKey{"carol", true}]; ok {
		t.Fatal("unlimited created a bucket")
	}
}

func TestBandwidthWaitHonoursContext(t *testing.T) {
	b := NewBandwidth()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// 10 B/s: 1000 bytes cannot fit in 50 ms.
	start := time.Now()
	err := b.Wait(ctx, "slow", true, 10, 1000)
	if err == nil {
		t.Fatal("Wait ignored the deadline")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Wait blocked past the deadline")
	}
}

func TestBandwidthReloadChangesRate(t *testing.T) {
	b := NewBandwidth()
	lim := b.limiter("u", true, 1000)
	if err := b.Wait(context.Background(), "u", true, 1_000_000, 1); err != nil {
		t.Fatal(err)
	}
	if lim.Limit() != 1_000_000 || lim.Burst() != burstFor(1_000_000) {
		t.Fatalf("rate not updated: %v burst %d", lim.Limit(), lim.Burst())
	}
}

func TestQuotas(t *testing.T) {
	q := NewQuotas()
	if q.Known("u") {
		t.Fatal("known before Set")
	}
	q.Set("u", 100, 2)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.Add("u", 10, 1)
			q.Add("u", -5, 0)
		}()
	}
	wg.Wait()
	if b, f := q.Usage("u"); b != 350 || f != 52 || !q.Known("u") {
		t.Fatalf("usage %d %d", b, f)
	}
	q.Add("u", -1000, -1000)
	if b, f := q.Usage("u"); b != 0 || f != 0 {
		t.Fatalf("usage below zero: %d %d", b, f)
	}
	l := Limits{QuotaBytes: 100, QuotaFiles: 1}
	if !q.Allows("u", l, 100, 1) || q.Allows("u", l, 101, 0) || q.Allows("u", l, 0, 2) || !q.Allows("u", Limits{}, 1<<40, 1<<40) {
		t.Fatal("Allows wrong")
	}
}
