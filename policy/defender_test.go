package policy

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the defender.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestDefenderBanAndExpiry(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 6, Window: 10 * time.Minute, Ban: 30 * time.Minute, MaxBan: 4 * time.Hour}, clk.Now)
	bad := netip.MustParseAddr("127.0.0.3")
	good := netip.MustParseAddr("127.0.0.1")
	for i := 1; i <= 5; i++ {
		if banned, _ := d.Failure(bad); banned {
			t.Fatalf("banned after %d failures", i)
		}
		clk.Advance(time.Second)
	}
	d.Failure(good)
	banned, until := d.Failure(bad)
	if !banned || !until.Equal(clk.Now().Add(30*time.Minute)) {
		t.Fatalf("6th failure: banned=%v until=%v", banned, until)
	}
	if b, _ := d.Banned(bad); !b {
		t.Fatal("127.0.0.3 not banned")
	}
	if b, _ := d.Banned(netip.MustParseAddr("::ffff:127.0.0.3")); !b {
		t.Fatal("mapped form of 127.0.0.3 not banned")
	}
	if b, _ := d.Banned(good); b {
		t.Fatal("127.0.0.1 banned too")
	}
	if n := d.ActiveBans(); n != 1 {
		t.Fatalf("ActiveBans = %d", n)
	}
	clk.Advance(30*time.Minute - time.Second)
	if b, _ := d.Banned(bad); !b {
		t.Fatal("ban ended early")
	}
	clk.Advance(time.Second)
	if b, _ := d.Banned(bad); b {
		t.Fatal("ban did not expire")
	}
	if n := d.ActiveBans(); n != 0 {
		t.Fatalf("ActiveBans = %d after expiry", n)
	}
}

func TestDefenderDoublesAndCaps(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 3, Window: time.Minute, Ban: 10 * time.Minute, MaxBan: 35 * time.Minute}, clk.Now)
	ip := netip.MustParseAddr("192.0.2.9")
	offend := func() time.Duration {
		t.Helper()
		for i := 0; i < 2; i++ {
			if b, _ := d.Failure(ip); b {
				t.Fatal("banned early")
			}
		}
		b, until := d.Failure(ip)
		if !b {
			t.Fatal("not banned")
		}
		dur := until.Sub(clk.Now())
		clk.Advance(dur) // serve the ban
		return dur
	}
	for i, want := range []time.Duration{10 * time.Minute, 20 * time.Minute, 35 * time.Minute, 35 * time.Minute} {
		if got := offend(); got != want {
			t.Fatalf("offence %d: ban %v, want %v", i+1, got, want)
		}
	}
	// Offences are forgotten a day after the last ban ended.
	clk.Advance(defOffenceMemory + time.Second)
	if got := offend(); got != 10*time.Minute {
		t.Fatalf("after memory: ban %v", got)
	}
}

func TestDefenderWindow(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 3, Window: time.Minute}, clk.Now)
	ip := netip.MustParseAddr("198.51.100.1")
	d.Failure(ip)
	d.Failure(ip)
	clk.Advance(time.Minute) // window over
	if b, _ := d.Failure(ip); b {
		t.Fatal("failures outside the window counted")
	}
	d.Failure(ip)
	if b, _ := d.Failure(ip); !b {
		t.Fatal("3 failures within the window did not ban")
	}
	// One failure while banned extends nothing.
	if b, _ := d.Failure(ip); b {
		t.Fatal("a single failure while banned extended the ban")
	}
}

// TestDefenderSuccessKeepsCount: a login to a valid account between
// guesses must not reset the address's count.
func TestDefenderSuccessKeepsCount(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 3, Window: time.Minute}, clk.Now)
	ip := netip.MustParseAddr("198.51.100.1")
	d.Failure(ip)
	d.Success(ip)
	d.Failure(ip)
	d.Success(ip)
	if b, _ := d.Failure(ip); !b {
		t.Fatal("successful logins between failures reset the count")
	}
}

// TestDefenderFailuresDuringBan: PASS on connections opened before a ban
// still counts; each MaxFailures of them is another, doubled, offence.
func TestDefenderFailuresDuringBan(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 3, Window: time.Minute, Ban: 10 * time.Minute, MaxBan: time.Hour}, clk.Now)
	ip := netip.MustParseAddr("192.0.2.50")
	for range 2 {
		d.Failure(ip)
	}
	b, until1 := d.Failure(ip)
	if !b || !until1.Equal(clk.Now().Add(10*time.Minute)) {
		t.Fatalf("first ban: %v until %v", b, until1)
	}
	clk.Advance(time.Minute)
	for i := range 2 {
		if b, _ := d.Failure(ip); b {
			t.Fatalf("ban extended after %d failures during it", i+1)
		}
	}
	b, until2 := d.Failure(ip)
	if !b || !until2.Equal(clk.Now().Add(20*time.Minute)) {
		t.Fatalf("failures during the ban: extended=%v until %v, want now+20m", b, until2)
	}
	if banned, u := d.Banned(ip); !banned || !u.Equal(until2) {
		t.Fatalf("Banned = %v %v", banned, u)
	}
}

func TestDefenderExempt(t *testing.T) {
	clk := newFakeClock()
	cfg := DefenderConfig{MaxFailures: 2, Exempt: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"), // mapped form of 192.0.2.0/24
		netip.MustParsePrefix("2001:db8:77::/48"),
	}}
	d := NewDefender(cfg, clk.Now)
	for _, a := range []string{"10.1.2.3", "::ffff:10.9.9.9", "192.0.2.7", "2001:db8:77:1::5"} {
		ip := netip.MustParseAddr(a)
		for i := 0; i < 10; i++ {
			if b, _ := d.Failure(ip); b {
				t.Fatalf("exempt %s banned", a)
			}
		}
		if b, _ := d.Banned(ip); b || !d.Exempt(ip) {
			t.Fatalf("exempt %s: banned=%v exempt=%v", a, b, d.Exempt(ip))
		}
	}
	if n := d.len(); n != 0 {
		t.Fatalf("exempt failures tracked: %d entries", n)
	}
	other := netip.MustParseAddr("11.0.0.1")
	d.Failure(other)
	if b, _ := d.Failure(other); !b {
		t.Fatal("non-exempt address not banned")
	}
	// A reload that exempts a banned address lifts the ban.
	d.SetConfig(DefenderConfig{MaxFailures: 2, Exempt: []netip.Prefix{netip.MustParsePrefix("11.0.0.0/24")}})
	if b, _ := d.Banned(other); b || d.ActiveBans() != 0 {
		t.Fatal("newly exempt address still banned")
	}
	// The caller's slice is not aliased.
	cfg.Exempt[0] = netip.MustParsePrefix("0.0.0.0/0")
	d2 := NewDefender(DefenderConfig{Exempt: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, clk.Now)
	if d2.Exempt(netip.MustParseAddr("11.0.0.1")) {
		t.Fatal("exempt list aliased")
	}
	// Compile validates the list.
	_, err := Compile(Config{Defender: DefenderConfig{Exempt: []netip.Prefix{{}}}})
	if err == nil || !strings.Contains(err.Error(), "exempt") {
		t.Fatalf("invalid exempt prefix accepted: %v", err)
	}
}

func TestDefenderIPv6Prefix(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 2}, clk.Now)
	d.Failure(netip.MustParseAddr("2001:db8:1:2::1"))
	if b, _ := d.Failure(netip.MustParseAddr("2001:db8:1:2::ffff")); !b {
		t.Fatal("same /64 not counted together")
	}
	if b, _ := d.Banned(netip.MustParseAddr("2001:db8:1:3::1")); b {
		t.Fatal("other /64 banned")
	}
}

func TestDefenderMemoryBounded(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 2, Window: time.Minute, Ban: time.Minute, MaxBan: time.Minute}, clk.Now)
	d.max = 100
	first := netip.MustParseAddr("10.0.0.1")
	d.Failure(first)
	for i := 0; i < 500; i++ {
		d.Failure(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
	}
	if n := d.len(); n > 100 {
		t.Fatalf("%d entries beyond the cap", n)
	}
	if b, _ := d.Failure(first); b {
		t.Fatal("oldest entry was not evicted")
	}
	clk.Advance(2 * time.Minute)
	d.Banned(first) // triggers a sweep
	if n := d.len(); n != 0 {
		t.Fatalf("%d entries after expiry", n)
	}
}

func TestDefenderSetConfig(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 5}, clk.Now)
	ip := netip.MustParseAddr("203.0.113.5")
	d.Failure(ip)
	d.SetConfig(DefenderConfig{MaxFailures: 2})
	if b, _ := d.Failure(ip); !b {
		t.Fatal("new max_failures not applied")
	}
	d.SetConfig(DefenderConfig{MaxFailures: 50})
	if b, _ := d.Banned(ip); !b {
		t.Fatal("reload lifted a ban")
	}
}
