package gateway

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/policy"
)

// TestAccountThrottleSpansAddresses: failed logins on one user name from
// several addresses (none of them reaching the address ban) throttle the
// name, so the next attempt, from yet another address, waits before its
// password is checked; other names are not slowed.
func TestAccountThrottleSpansAddresses(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	def := policy.NewDefender(policy.DefenderConfig{MaxFailures: 5, Window: 10 * time.Minute, Ban: 30 * time.Minute,
		AccountFailures: 2, AccountMaxDelay: 4 * time.Second}, clock)
	var logs lockedBuffer
	e := newEnv(t, func(c *Config) { c.Defender = def }, logTo(t, &logs))
	for _, from := range []string{"127.0.0.4", "127.0.0.5"} {
		c := e.dialFrom(from)
		c.banner()
		c.authTLS()
		c.expect(331, "USER alice")
		c.expect(530, "PASS wrong")
	}
	if n := def.ThrottledAccounts(); n != 1 {
		t.Fatalf("throttled accounts = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "user name throttled") {
		t.Errorf("no log line for the throttle:\n%s", logs.String())
	}

	login := func(from, user, pw string) time.Duration {
		t.Helper()
		c := e.dialFrom(from)
		start := time.Now()
		c.login(user, pw)
		return time.Since(start)
	}
	// Attempts on the throttled name are spaced out (the defender's clock
	// stands still, so the first finds its slot free and the second waits
	// the 1s interval; sleeping can only take longer), and the right
	// password still works.
	login("127.0.0.6", "alice", alicePW)
	if d := login("127.0.0.7", "alice", alicePW); d < 900*time.Millisecond {
		t.Errorf("second login on a throttled name took %v, want at least the 1s spacing", d)
	}
	if !strings.Contains(logs.String(), "login attempt spaced out") {
		t.Errorf("no log line for the spaced-out attempt:\n%s", logs.String())
	}
	// Another name is not slowed.
	if d := login("127.0.0.6", "bob", bobPW); d > 700*time.Millisecond {
		t.Errorf("login on another name took %v", d)
	}
	if banned, _ := def.Banned(mustAddr("127.0.0.4")); banned {
		t.Error("one failure banned an address")
	}
}
