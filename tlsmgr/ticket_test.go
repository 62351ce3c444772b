package tlsmgr

import (
	"context"
	"crypto/tls"
	"net/netip"
	"testing"
	"time"
)

func TestBindingEntryRoundTrip(t *testing.T) {
	n, s := token{1, 2, 3}, token{9, 8, 7}
	for _, b := range []binding{
		{nonce: n, kind: kindVoid},
		{nonce: n, kind: kindSession, session: s},
		{nonce: n, kind: kindIdentity, session: s, user: "alice", addr: netip.MustParseAddr("192.0.2.7")},
		{nonce: n, kind: kindIdentity, session: s, user: "", addr: netip.MustParseAddr("2001:db8::1")},
		{nonce: n, kind: kindIdentity, session: s, user: "ü\x00x", addr: netip.MustParseAddr("::ffff:10.0.0.1")},
	} {
		got, ok := decodeBinding(b.encode())
		want := b
		want.addr = b.addr.Unmap()
		if !ok || got != want {
			t.Errorf("round trip of %+v: %+v %v", b, got, ok)
		}
	}
	good := binding{nonce: n, kind: kindIdentity, session: s, user: "bob", addr: netip.MustParseAddr("10.0.0.1")}.encode()
	for name, e := range map[string][]byte{
		"empty":        nil,
		"prefix only":  bindPrefix,
		"other prefix": append([]byte("ftpsgw-bind-v1:"), good[len(bindPrefix):]...),
		"unknown kind": append(append(append([]byte{}, bindPrefix...), n[:]...), 7),
		"void extra":   append(append(append(append([]byte{}, bindPrefix...), n[:]...), kindVoid), 0),
		"short token":  good[:len(bindPrefix)+tokenLen+5],
		"addr overrun": append(good[:len(bindPrefix)+2*tokenLen+1:len(bindPrefix)+2*tokenLen+1], 200, 1),
		"no addr":      append(good[:len(bindPrefix)+2*tokenLen+1:len(bindPrefix)+2*tokenLen+1], 0),
	} {
		if _, ok := decodeBinding(e); ok {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestSetBindingReplaces: a ticket minted on a resumed connection carries
// exactly one binding, the new one, and keeps foreign Extra entries.
func TestSetBindingReplaces(t *testing.T) {
	ss := &tls.SessionState{Extra: [][]byte{[]byte("other"), binding{kind: kindVoid}.encode()}}
	b := binding{nonce: token{5}, kind: kindSession, session: token{6}}
	setBinding(ss, b)
	if len(ss.Extra) != 2 || string(ss.Extra[0]) != "other" {
		t.Fatalf("extra: %q", ss.Extra)
	}
	if got, ok := bindingOf(ss); !ok || got != b {
		t.Fatalf("binding: %+v %v", got, ok)
	}
}

// TestRegistryBounds: closed sessions that logged in are kept up to
// maxClosed and closedRetention; sessions that never logged in are
// forgotten at close; open sessions are always known.
func TestRegistryBounds(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := newRegistry(func() time.Time { return now })
	a := netip.MustParseAddr("192.0.2.1")
	tk := func(i int) token { return token{byte(i), byte(i >> 8), byte(i >> 16), 1} }
	open := r.open(token{0xff})
	r.bind(open, "keeper", a)
	for i := range 2*maxClosed + 200 {
		tok := tk(i)
		rec := r.open(tok)
		if i%2 == 0 {
			r.bind(rec, "u", a)
		}
		r.close(tok, rec)
	}
	if o, c := r.size(); o != 1 || c != maxClosed {
		t.Fatalf("open %d closed %d, want 1 and %d", o, c, maxClosed)
	}
	ctx := context.Background()
	last := 2*maxClosed + 200 - 2 // the newest that logged in
	if _, _, ok := r.lookup(ctx, tk(last), now); !ok {
		t.Fatal("newest closed session forgotten")
	}
	if _, _, ok := r.lookup(ctx, tk(0), now); ok {
		t.Fatal("oldest closed session kept beyond maxClosed")
	}
	if _, _, ok := r.lookup(ctx, tk(last-2*(maxClosed-1)), now); !ok {
		t.Fatal("the oldest of the newest maxClosed forgotten")
	}
	if _, _, ok := r.lookup(ctx, tk(last-2*maxClosed), now); ok {
		t.Fatal("one more than maxClosed kept")
	}
	if _, _, ok := r.lookup(ctx, tk(1), now); ok {
		t.Fatal("a session that never logged in is known")
	}
	now = now.Add(closedRetention + time.Second)
	if _, _, ok := r.lookup(ctx, tk(last), now); ok {
		t.Fatal("closed session known after the retention")
	}
	tok := token{0xfe}
	r.close(tok, r.open(tok)) // prunes
	if o, c := r.size(); o != 1 || c != 0 {
		t.Fatalf("after the retention: open %d closed %d", o, c)
	}
	if u, ad, ok := r.lookup(ctx, token{0xff}, now); !ok || u != "keeper" || ad != a {
		t.Fatal("open session forgotten")
	}
}
