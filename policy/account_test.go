package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAccountThrottle: a user name collects failures from any address;
// past AccountFailures attempts on it are spaced out by a growing delay,
// capped, never refused.
func TestAccountThrottle(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{AccountFailures: 3, AccountMaxDelay: 4 * time.Second}, clk.Now)
	if got := d.AccountDelay("alice"); got != 0 {
		t.Fatalf("fresh name delayed %v", got)
	}
	for i := 1; i <= 2; i++ {
		if d.AccountFailure("alice") {
			t.Fatalf("throttled after %d failures", i)
		}
		if got := d.AccountDelay("alice"); got != 0 {
			t.Fatalf("delay %v after %d failures", got, i)
		}
	}
	if !d.AccountFailure("alice") {
		t.Fatal("third failure did not report the throttle")
	}
	if d.ThrottledAccounts() != 1 {
		t.Fatalf("ThrottledAccounts = %d", d.ThrottledAccounts())
	}
	// Two attempts in a row: the first finds its slot free, the second
	// waits the spacing, which doubles with each failure up to the cap
	// (1s, 2s, 4s, 4s).
	for i, w := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		clk.Advance(8 * time.Second) // past any pending slot, within a decay period
		if got := d.AccountDelay("alice"); got != 0 {
			t.Fatalf("round %d: first attempt waits %v, want 0", i, got)
		}
		if got := d.AccountDelay("alice"); got != w {
			t.Fatalf("round %d: second attempt waits %v, want %v", i, got, w)
		}
		if d.AccountFailure("alice") {
			t.Fatal("throttle reported twice")
		}
	}
	// Many parallel attempts queue up but none waits beyond the cap: no
	// lockout, the right password is always checked.
	for i := 0; i < 50; i++ {
		if got := d.AccountDelay("alice"); got > 4*time.Second || got < 0 {
			t.Fatalf("parallel attempt %d waits %v", i, got)
		}
	}
	// Other names are untouched; names that never failed are not stored.
	if got := d.AccountDelay("bob"); got != 0 {
		t.Fatalf("bob delayed %v", got)
	}
	if n := d.accountsLen(); n != 1 {
		t.Fatalf("%d names tracked", n)
	}
	// The throttle leaks away: at most free+steps points, one a minute.
	clk.Advance(10 * time.Minute)
	if got := d.AccountDelay("alice"); got != 0 {
		t.Fatalf("still delayed %v after the attack stopped", got)
	}
	if d.ThrottledAccounts() != 0 {
		t.Fatalf("ThrottledAccounts = %d after decay", d.ThrottledAccounts())
	}
}

// TestAccountThrottleSuccessResetsNothing: logins do not hand the sprayer
// fresh free guesses, and names count the same whether they exist or not.
func TestAccountThrottleSuccessResetsNothing(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{AccountFailures: 2}, clk.Now)
	d.AccountFailure("alice")
	d.Success(netip.MustParseAddr("192.0.2.1"))
	d.AccountFailure("alice")
	d.AccountDelay("alice")
	if got := d.AccountDelay("alice"); got == 0 {
		t.Fatal("a success reset the account throttle")
	}
	d.AccountFailure("no-such-user")
	d.AccountFailure("no-such-user")
	d.AccountDelay("no-such-user")
	if got := d.AccountDelay("no-such-user"); got != time.Second {
		t.Fatalf("unknown name delayed %v, want 1s like any name", got)
	}
}

// TestAccountThrottleSpacesParallel: concurrent attempts on one throttled
// name get distinct slots, an interval apart.
func TestAccountThrottleSpacesParallel(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{AccountFailures: 1, AccountMaxDelay: time.Minute}, clk.Now)
	d.AccountFailure("u")
	d.AccountFailure("u") // interval 2s
	seen := map[time.Duration]bool{}
	for i := 0; i < 5; i++ {
		w := d.AccountDelay("u")
		if seen[w] {
			t.Fatalf("two attempts share the slot %v", w)
		}
		seen[w] = true
		if want := time.Duration(i) * 2 * time.Second; w != want {
			t.Fatalf("attempt %d waits %v, want %v", i, w, want)
		}
	}
}

func TestAccountThrottleMemoryBounded(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{}, clk.Now)
	d.accounts.max = 100
	for i := 0; i < 500; i++ {
		d.AccountFailure(fmt.Sprintf("user%d", i))
	}
	if n := d.accountsLen(); n > 100 {
		t.Fatalf("%d names beyond the cap", n)
	}
	long := strings.Repeat("x", 10_000)
	d.AccountFailure(long)
	for k := range d.accounts.m {
		if len(k) > accountMaxKey {
			t.Fatalf("key of %d bytes stored", len(k))
		}
	}
	clk.Advance(time.Hour)
	d.Failure(netip.MustParseAddr("192.0.2.1")) // sweeps
	if n := d.accountsLen(); n != 0 {
		t.Fatalf("%d names after decay", n)
	}
}

// TestDefenderRace hammers every entry point from many goroutines (run
// with -race).
func TestDefenderRace(t *testing.T) {
	d := NewDefender(DefenderConfig{MaxFailures: 3, AccountFailures: 2, AccountMaxDelay: time.Millisecond}, nil)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(g % 4)})
			name := fmt.Sprintf("u%d", g%3)
			for i := 0; i < 200; i++ {
				d.AccountDelay(name)
				d.AccountFailure(name)
				d.Failure(ip)
				d.Banned(ip)
				d.ActiveBans()
				d.ThrottledAccounts()
				if i%50 == 0 {
					d.SetConfig(DefenderConfig{MaxFailures: 3, AccountFailures: 2})
				}
			}
		}()
	}
	wg.Wait()
	if d.ActiveBans() != 4 {
		t.Fatalf("ActiveBans = %d, want 4", d.ActiveBans())
	}
}
