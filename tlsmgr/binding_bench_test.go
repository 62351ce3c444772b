package tlsmgr

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// controlTicket runs a control handshake of s and returns the first
// ticket it minted, with the connection state it was minted on.
func controlTicket(b *testing.B, s *Session, ca *testCA, ver uint16) ([]byte, tls.ConnectionState) {
	b.Helper()
	cfg := s.Control("")
	wrap := cfg.WrapSession
	var identity []byte
	var state tls.ConnectionState
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		id, err := wrap(cs, ss)
		if identity == nil {
			identity, state = id, cs
		}
		return id, err
	}
	if r := dial(b, cfg, clientConfig(ca, ver, tls.NewLRUClientSessionCache(4))); r.srvErr != nil || r.cliErr != nil {
		b.Fatalf("control: server %v, client %v", r.srvErr, r.cliErr)
	}
	if identity == nil {
		b.Fatal("no ticket minted")
	}
	return identity, state
}

// BenchmarkBindingCheck is the data connection's binding check without
// the handshake around it: the UnwrapSession hook decrypts the offered
// ticket with the shared keys, decodes its binding and judges it. "own"
// resumes the session's own control ticket; "sibling" another logged-in
// session's of the same user and address (a registry lookup); "other-user"
// is refused.
func BenchmarkBindingCheck(b *testing.B) {
	ca := newTestCA(b, "bench CA")
	m := fileManager(b, ca, nil)
	addr := netip.MustParseAddr("127.0.0.1")
	for _, ver := range versions {
		minter := m.NewSession("minter").(*Session)
		b.Cleanup(minter.Close)
		identity, cs := controlTicket(b, minter, ca, ver.v)
		minter.Bind("alice", addr)
		sibling := m.NewSession("sibling").(*Session)
		sibling.Bind("alice", addr)
		b.Cleanup(sibling.Close)
		stranger := m.NewSession("stranger").(*Session)
		stranger.Bind("bob", addr)
		b.Cleanup(stranger.Close)
		for _, tc := range []struct {
			name string
			s    *Session
			want error
		}{
			{"own", minter, nil},
			{"sibling", sibling, nil},
			{"other-user", stranger, ErrOtherUser},
		} {
			b.Run(ver.name+"/"+tc.name, func(b *testing.B) {
				check := func() error {
					d := &dataConn{s: tc.s, ctx: context.Background(), deadline: time.Now().Add(bindWait)}
					ss, err := d.unwrap(identity, cs)
					if err != nil {
						return err
					}
					if (ss == nil) != (d.declined != nil) {
						return errors.New("resumed and declined disagree")
					}
					return d.declined
				}
				if err := check(); err != tc.want {
					b.Fatalf("check = %v, want %v", err, tc.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					check()
				}
				if err := check(); err != tc.want {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkBindingCodec encodes a logged-in binding into a ticket's
// state and reads it back, as wrap and unwrap do around the encryption.
func BenchmarkBindingCodec(b *testing.B) {
	var want binding
	want.kind, want.user, want.addr = kindIdentity, "alice@example.com", netip.MustParseAddr("2001:db8::1")
	want.nonce[0], want.session[0] = 1, 2
	ss := &tls.SessionState{Extra: [][]byte{[]byte("other entry")}}
	b.ReportAllocs()
	for b.Loop() {
		setBinding(ss, want)
		got, ok := bindingOf(ss)
		if !ok || got != want || len(ss.Extra) != 2 {
			b.Fatalf("bindingOf = %+v, %v (%d entries)", got, ok, len(ss.Extra))
		}
	}
}
