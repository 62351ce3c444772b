package policy

import (
	"reflect"
	"testing"
)

func TestMountsOverlap(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"/a", "/a", true},
		{"/a", "/a/b", true},
		{"/a/b", "/a", true},
		{"/a", "/ab", false},
		{"/ab", "/a", false},
		{"/x/y", "/x/z", false},
	} {
		if got := MountsOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("MountsOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestMountsForUserWinsOverGroup(t *testing.T) {
	g1 := &group{cfg: GroupConfig{Name: "g1", Mounts: []MountConfig{
		{Path: "/archive", Backend: "g-archive"},
		{Path: "/shared", Backend: "g-shared", Dir: "/s"},
	}}}
	g2 := &group{cfg: GroupConfig{Name: "g2", Mounts: []MountConfig{
		{Path: "/shared/sub", Backend: "g2-sub"}, // overlaps g1's /shared: skipped
		{Path: "/b", Backend: "g2-b"},
	}}}
	own := []MountConfig{{Path: "/archive", Backend: "mine", Dir: "/exports/alice"}}
	got := mountsFor(own, []*group{g1, g2})
	want := []MountConfig{
		{Path: "/archive", Backend: "mine", Dir: "/exports/alice"},
		{Path: "/b", Backend: "g2-b", Dir: "/"},
		{Path: "/shared", Backend: "g-shared", Dir: "/s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mountsFor = %+v\nwant %+v", got, want)
	}
}

func TestCheckMountsRejects(t *testing.T) {
	var msgs []string
	checkMounts([]MountConfig{
		{Path: "/", Backend: "x"},
		{Path: "/a/../b", Backend: "x"},
		{Path: "/ok", Backend: ""},
		{Path: "/d", Backend: "x", Dir: "rel"},
		{Path: "/n", Backend: "x"},
		{Path: "/n/m", Backend: "x"},
	}, func(field, msg string) { msgs = append(msgs, field+": "+msg) })
	if len(msgs) != 5 {
		t.Fatalf("got %d problems, want 5: %q", len(msgs), msgs)
	}
}
