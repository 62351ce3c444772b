package policy

import (
	"net/netip"
	"testing"
	"time"
)

func TestDefenderBansAndUnban(t *testing.T) {
	clk := newFakeClock()
	d := NewDefender(DefenderConfig{MaxFailures: 2, Window: time.Minute, Ban: time.Hour}, clk.Now)
	a := netip.MustParseAddr("192.0.2.7")
	v6 := netip.MustParseAddr("2001:db8:1:2::5")
	d.Failure(a)
	if len(d.Bans()) != 0 {
		t.Fatal("banned after one failure")
	}
	d.Failure(a)
	d.Failure(v6)
	d.Failure(v6)
	bans := d.Bans()
	if len(bans) != 2 || bans[0].Client != a || bans[0].Offences != 1 ||
		bans[1].Client != netip.MustParseAddr("2001:db8:1:2::") {
		t.Fatalf("bans = %+v", bans)
	}
	if d.Unban(netip.MustParseAddr("192.0.2.8")) {
		t.Error("unbanned an address that was not banned")
	}
	if !d.Unban(a) || !d.Unban(netip.MustParseAddr("2001:db8:1:2::99")) { // same /64
		t.Fatal("unban failed")
	}
	if ok, _ := d.Banned(a); ok || len(d.Bans()) != 0 {
		t.Fatal("still banned after unban")
	}
	// Unban forgets the offences too: the next ban is not doubled.
	d.Failure(a)
	if banned, until := d.Failure(a); !banned || until.Sub(clk.Now()) != time.Hour {
		t.Errorf("ban after unban: %v until %v", banned, until)
	}
	clk.Advance(2 * time.Hour)
	if len(d.Bans()) != 0 {
		t.Error("an expired ban is listed")
	}
}
