package tlsmgr

import (
	"crypto/tls"
	"errors"
	"testing"
)

func TestBindingSameSessionControlTicket(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			s := m.NewSession("s1")
			defer s.Close()
			cache := tls.NewLRUClientSessionCache(8)
			ctl := dial(t, s.Control(""), clientConfig(ca, ver.v, cache))
			if ctl.srvErr != nil || ctl.cliErr != nil {
				t.Fatalf("control: server %v, client %v", ctl.srvErr, ctl.cliErr)
			}
			data := dial(t, s.Data(), clientConfig(ca, ver.v, cache))
			if data.srvErr != nil || data.cliErr != nil {
				t.Fatalf("data: server %v, client %v", data.srvErr, data.cliErr)
			}
			if !data.server.DidResume {
				t.Fatal("data connection did not resume the control ticket")
			}
			if err := s.CheckData(data.server); err != nil {
				t.Fatalf("CheckData = %v, want nil", err)
			}
		})
	}
}

// TestBindingChainSingleUseTickets: a client that uses each ticket once
// keeps resuming across 300 data connections, because each data handshake
// mints a new ticket bound to the same FTP session.
func TestBindingChainSingleUseTickets(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			s := m.NewSession("chain")
			defer s.Close()
			cache := newSingleUseCache()
			if r := dial(t, s.Control(""), clientConfig(ca, ver.v, cache)); r.srvErr != nil || r.cliErr != nil {
				t.Fatalf("control: %v %v", r.srvErr, r.cliErr)
			}
			const n = 300
			for i := range n {
				r := dial(t, s.Data(), clientConfig(ca, ver.v, cache))
				if r.srvErr != nil || r.cliErr != nil {
					t.Fatalf("data %d: server %v, client %v", i, r.srvErr, r.cliErr)
				}
				if err := s.CheckData(r.server); err != nil {
					t.Fatalf("data %d: CheckData = %v, want nil", i, err)
				}
			}
			if cache.hits != n {
				t.Fatalf("client offered a ticket %d times, want %d", cache.hits, n)
			}
		})
	}
}

func TestBindingForeignTicketRefused(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			a, b := m.NewSession("a"), m.NewSession("b")
			defer a.Close()
			defer b.Close()
			cache := tls.NewLRUClientSessionCache(8)
			if r := dial(t, a.Control(""), clientConfig(ca, ver.v, cache)); r.cliErr != nil {
				t.Fatal(r.cliErr)
			}
			// B's data channel is offered A's ticket.
			r := dial(t, b.Data(), clientConfig(ca, ver.v, cache))
			if r.srvErr != nil || r.cliErr != nil {
				t.Fatalf("data: server %v, client %v", r.srvErr, r.cliErr)
			}
			if r.server.DidResume {
				t.Fatal("session b resumed session a's ticket")
			}
			if err := b.CheckData(r.server); !errors.Is(err, ErrForeignSession) {
				t.Fatalf("CheckData = %v, want ErrForeignSession", err)
			}
			// A ticket from one of A's data connections is foreign to B too.
			cache2 := tls.NewLRUClientSessionCache(8)
			_ = dial(t, a.Control(""), clientConfig(ca, ver.v, cache2))
			if r := dial(t, a.Data(), clientConfig(ca, ver.v, cache2)); a.CheckData(r.server) != nil {
				t.Fatal("own data connection not bound")
			}
			r = dial(t, b.Data(), clientConfig(ca, ver.v, cache2))
			if err := b.CheckData(r.server); !errors.Is(err, ErrForeignSession) {
				t.Fatalf("CheckData for a's data ticket = %v, want ErrForeignSession", err)
			}
		})
	}
}

func TestBindingNoResumeRefused(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			s := m.NewSession("s")
			defer s.Close()
			_ = dial(t, s.Control(""), clientConfig(ca, ver.v, tls.NewLRUClientSessionCache(8)))
			// A client that keeps no session cache: full handshake.
			r := dial(t, s.Data(), clientConfig(ca, ver.v, nil))
			if r.srvErr != nil || r.cliErr != nil {
				t.Fatalf("data: server %v, client %v", r.srvErr, r.cliErr)
			}
			if err := s.CheckData(r.server); !errors.Is(err, ErrNotResumed) {
				t.Fatalf("CheckData = %v, want ErrNotResumed", err)
			}
		})
	}
}

// TestBindingStateFromOtherConfig: a resumed connection state that did not
// come through this session's Data config is not accepted.
func TestBindingStateFromOtherConfig(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	a, b := m.NewSession("a"), m.NewSession("b")
	cache := tls.NewLRUClientSessionCache(8)
	_ = dial(t, a.Control(""), clientConfig(ca, tls.VersionTLS13, cache))
	r := dial(t, a.Data(), clientConfig(ca, tls.VersionTLS13, cache))
	if !r.server.DidResume {
		t.Fatal("not resumed")
	}
	if err := b.CheckData(r.server); !errors.Is(err, ErrForeignSession) {
		t.Fatalf("b.CheckData(a's state) = %v, want ErrForeignSession", err)
	}
	if err := a.CheckData(r.server); err != nil {
		t.Fatalf("a.CheckData = %v", err)
	}
}

func TestBindingClosedSessionAndControlReuse(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			a := m.NewSession("a")
			cache := tls.NewLRUClientSessionCache(8)
			_ = dial(t, a.Control(""), clientConfig(ca, ver.v, cache))
			// Another FTP session's control connection does not resume it
			// (client certificates are checked afresh) and rebinds.
			b := m.NewSession("b")
			defer b.Close()
			r := dial(t, b.Control(""), clientConfig(ca, ver.v, cache))
			if r.server.DidResume {
				t.Fatal("control connection of b resumed a's ticket")
			}
			r = dial(t, b.Data(), clientConfig(ca, ver.v, cache))
			if err := b.CheckData(r.server); err != nil {
				t.Fatalf("b data after b control: %v", err)
			}
			// Once closed, a's tickets are dead.
			cache2 := tls.NewLRUClientSessionCache(8)
			_ = dial(t, a.Control(""), clientConfig(ca, ver.v, cache2))
			a.Close()
			r = dial(t, a.Data(), clientConfig(ca, ver.v, cache2))
			if r.server.DidResume || a.CheckData(r.server) == nil {
				t.Fatal("closed session still resumes")
			}
		})
	}
}

// TestWrapReplacesBinding: a ticket minted on a resumed connection carries
// exactly one binding, the minting session's.
func TestWrapReplacesBinding(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	a := m.NewSession("a").(*Session)
	b := m.NewSession("b").(*Session)
	ctl := a.Control("")
	var minted []byte
	ctl.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		l, err := a.wrap(cs, ss)
		minted = l
		return l, err
	}
	_ = dial(t, ctl, clientConfig(ca, tls.VersionTLS13, tls.NewLRUClientSessionCache(1)))
	ss, err := m.ticketKeys.DecryptTicket(minted, tls.ConnectionState{})
	if err != nil || ss == nil || !a.owns(ss) {
		t.Fatalf("minted ticket not bound to a: %v", err)
	}
	ss.Extra = append([][]byte{[]byte("other")}, ss.Extra...)
	label, err := b.wrap(tls.ConnectionState{}, ss)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.ticketKeys.DecryptTicket(label, tls.ConnectionState{})
	if err != nil || got == nil {
		t.Fatalf("decrypt: %v", err)
	}
	n := 0
	for _, e := range got.Extra {
		if len(e) >= len(bindPrefix) && string(e[:len(bindPrefix)]) == string(bindPrefix) {
			n++
		}
	}
	if n != 1 || !b.owns(got) || a.owns(got) || string(got.Extra[0]) != "other" {
		t.Fatalf("extra after rewrap: %q", got.Extra)
	}
}
