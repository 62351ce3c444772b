package tlsmgr

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"testing"
	"time"
)

var (
	addr1 = netip.MustParseAddr("127.0.0.1")
	addr2 = netip.MustParseAddr("127.0.0.2")
)

// loggedIn is a new session whose control handshake stored its ticket in
// cache, then logged in as user from addr.
func loggedIn(t *testing.T, m *Manager, ca *testCA, ver uint16, cache tls.ClientSessionCache, user string, addr netip.Addr) TLSSession {
	t.Helper()
	s := m.NewSession(user)
	t.Cleanup(s.Close)
	if r := dial(t, s.Control(""), clientConfig(ca, ver, cache)); r.srvErr != nil || r.cliErr != nil {
		t.Fatalf("control: server %v, client %v", r.srvErr, r.cliErr)
	}
	if user != "" {
		s.Bind(user, addr)
	}
	return s
}

func TestBindingSameSessionControlTicket(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	for _, mode := range []string{BindingUser, BindingSession} {
		m := fileManager(t, ca, func(c *Config) { c.SessionBinding = mode })
		for _, ver := range versions {
			t.Run(mode+"/"+ver.name, func(t *testing.T) {
				cache := tls.NewLRUClientSessionCache(8)
				s := loggedIn(t, m, ca, ver.v, cache, "alice", addr1)
				r := dialData(t, s, clientConfig(ca, ver.v, cache))
				if r.srvErr != nil || r.cliErr != nil {
					t.Fatalf("data: server %v, client %v", r.srvErr, r.cliErr)
				}
				if !r.server.DidResume || r.bind != nil {
					t.Fatalf("own control ticket: resumed %v, check %v", r.server.DidResume, r.bind)
				}
			})
		}
	}
}

// TestBindingMatrix: which tickets bind a data connection of alice from
// 127.0.0.1, in both binding modes and both TLS versions. "ctl" tickets
// were minted on a control connection before its login, "data" tickets on
// a bound data connection after it.
func TestBindingMatrix(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	type mint struct {
		user   string // "" never logs in
		addr   netip.Addr
		onData bool // the ticket comes from one of the minter's data connections
		close  bool // the minting session is closed before use
	}
	cases := []struct {
		name       string
		mint       *mint // nil: the client offers no ticket
		restart    bool  // the ticket comes from another Manager (a restart)
		user, sess error // want, for bindings "user" and "session"
	}{
		{"fresh handshake", nil, false, ErrNotResumed, ErrNotResumed},
		{"sibling open ctl", &mint{"alice", addr1, false, false}, false, nil, ErrForeignSession},
		{"sibling closed ctl", &mint{"alice", addr1, false, true}, false, nil, ErrForeignSession},
		{"sibling open data", &mint{"alice", addr1, true, false}, false, nil, ErrForeignSession},
		{"sibling closed data", &mint{"alice", addr1, true, true}, false, nil, ErrForeignSession},
		{"other user same address", &mint{"bob", addr1, false, false}, false, ErrOtherUser, ErrForeignSession},
		{"other user data ticket", &mint{"bob", addr1, true, true}, false, ErrOtherUser, ErrForeignSession},
		{"same user other address", &mint{"alice", addr2, false, false}, false, ErrOtherAddress, ErrForeignSession},
		{"same user other address data", &mint{"alice", addr2, true, false}, false, ErrOtherAddress, ErrForeignSession},
		{"never logged in, closed", &mint{"", addr1, false, true}, false, ErrForeignSession, ErrForeignSession},
		{"before a restart", &mint{"alice", addr1, false, false}, true, ErrUnknownTicket, ErrUnknownTicket},
	}
	for _, mode := range []string{BindingUser, BindingSession} {
		m := fileManager(t, ca, func(c *Config) { c.SessionBinding = mode })
		old := fileManager(t, ca, func(c *Config) { c.SessionBinding = mode })
		for _, ver := range versions {
			for _, tc := range cases {
				t.Run(mode+"/"+ver.name+"/"+tc.name, func(t *testing.T) {
					want := tc.user
					if mode == BindingSession {
						want = tc.sess
					}
					me := loggedIn(t, m, ca, ver.v, tls.NewLRUClientSessionCache(8), "alice", addr1)
					var cache tls.ClientSessionCache
					if mt := tc.mint; mt != nil {
						mm := m
						if tc.restart {
							mm = old
						}
						cache = tls.NewLRUClientSessionCache(8)
						minter := loggedIn(t, mm, ca, ver.v, cache, mt.user, mt.addr)
						if mt.onData {
							if r := dialData(t, minter, clientConfig(ca, ver.v, cache)); r.bind != nil {
								t.Fatalf("minter's own data connection: %v", r.bind)
							}
						}
						if mt.close {
							minter.Close()
						}
					}
					r := dialData(t, me, clientConfig(ca, ver.v, cache))
					if r.srvErr != nil || r.cliErr != nil {
						t.Fatalf("data: server %v, client %v", r.srvErr, r.cliErr)
					}
					if !sameReason(r.bind, want) || want == ErrUnknownTicket && r.bind != want {
						t.Fatalf("check = %v, want %v", r.bind, want)
					}
					if r.server.DidResume != (want == nil) {
						t.Fatalf("DidResume = %v with check %v", r.server.DidResume, r.bind)
					}
					var be *BindError
					if r.bind != nil && (!errors.As(r.bind, &be) || be.Reason() == "") {
						t.Fatalf("check error %v carries no reason", r.bind)
					}
				})
			}
		}
	}
}

// TestBindingChainSingleUseTickets: a client that uses each ticket once
// keeps resuming across many downloads, because each bound download mints
// a new ticket bound to the same FTP session.
func TestBindingChainSingleUseTickets(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			cache := newSingleUseCache()
			s := loggedIn(t, m, ca, ver.v, cache, "alice", addr1)
			const n = 100
			for i := range n {
				r := dialData(t, s, clientConfig(ca, ver.v, cache))
				if r.srvErr != nil || r.cliErr != nil {
					t.Fatalf("data %d: server %v, client %v", i, r.srvErr, r.cliErr)
				}
				if r.bind != nil {
					t.Fatalf("data %d: check = %v, want nil", i, r.bind)
				}
			}
			if cache.hits != n {
				t.Fatalf("client offered a ticket %d times, want %d", cache.hits, n)
			}
		})
	}
}

// TestBindingRefusedGetsNoUsableTicket: a data connection that is not
// bound (a port thief from the client's address, with a full handshake or
// another user's ticket) is given no ticket that would bind a later data
// connection of the session it tried.
func TestBindingRefusedGetsNoUsableTicket(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			alice := loggedIn(t, m, ca, ver.v, tls.NewLRUClientSessionCache(8), "alice", addr1)
			thief := tls.NewLRUClientSessionCache(8)
			loggedIn(t, m, ca, ver.v, thief, "bob", addr1)
			r := dialData(t, alice, clientConfig(ca, ver.v, thief))
			if !errors.Is(r.bind, ErrOtherUser) {
				t.Fatalf("bob's ticket: %v", r.bind)
			}
			r = dialData(t, alice, clientConfig(ca, ver.v, thief)) // with what the refused connection gave
			if r.bind == nil || r.server.DidResume {
				t.Fatal("a refused connection's ticket bound a later data connection")
			}
			fresh := newCountingCache()
			r = dialData(t, alice, clientConfig(ca, ver.v, fresh))
			if !errors.Is(r.bind, ErrNotResumed) || fresh.count() == 0 {
				t.Fatalf("full handshake: check %v, tickets %d", r.bind, fresh.count())
			}
			if r = dialData(t, alice, clientConfig(ca, ver.v, fresh)); !errors.Is(r.bind, ErrVoidTicket) || r.bind.(*BindError).Reason() != "no_resume" {
				t.Fatalf("void ticket: check %v, want ErrVoidTicket (a no_resume)", r.bind)
			}
		})
	}
}

// TestBindingWaitsForSiblingLogin: parallel clients share one ticket cache,
// so a data connection can offer the control ticket of a sibling whose
// login is still in flight; the check waits for that login.
func TestBindingWaitsForSiblingLogin(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	me := loggedIn(t, m, ca, tls.VersionTLS13, tls.NewLRUClientSessionCache(8), "alice", addr1)

	cache := tls.NewLRUClientSessionCache(8)
	sib := loggedIn(t, m, ca, tls.VersionTLS13, cache, "", addr1) // handshake done, no login yet
	time.AfterFunc(200*time.Millisecond, func() { sib.Bind("alice", addr1) })
	start := time.Now()
	if r := dialData(t, me, clientConfig(ca, tls.VersionTLS13, cache)); r.bind != nil {
		t.Fatalf("sibling logging in: %v", r.bind)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > bindWait {
		t.Fatalf("waited %s, want about 200ms", d)
	}

	cache = tls.NewLRUClientSessionCache(8)
	sib = loggedIn(t, m, ca, tls.VersionTLS13, cache, "", addr1)
	time.AfterFunc(100*time.Millisecond, sib.Close) // gives up without logging in
	start = time.Now()
	if r := dialData(t, me, clientConfig(ca, tls.VersionTLS13, cache)); !errors.Is(r.bind, ErrForeignSession) {
		t.Fatalf("sibling closed before login: %v", r.bind)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %s after the sibling closed", d)
	}
}

// TestDataUploadTickets: on TLS 1.3 an upload that made a full handshake
// is sent no NewSessionTicket (such a client may never read, and its close
// would become a reset); a resumed upload gets one, which a client that
// uses each ticket once needs for the next data connection.
func TestDataUploadTickets(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			cache := newCountingCache()
			s := loggedIn(t, m, ca, ver.v, cache, "alice", addr1)
			fresh := newCountingCache()
			r := dialUpload(t, s, clientConfig(ca, ver.v, fresh))
			if r.srvErr != nil || r.cliErr != nil || r.bind == nil {
				t.Fatalf("fresh upload: server %v, client %v, check %v", r.srvErr, r.cliErr, r.bind)
			}
			if want := map[uint16]int{tls.VersionTLS12: 1, tls.VersionTLS13: 0}[ver.v]; fresh.count() != want {
				t.Fatalf("fresh upload got %d tickets, want %d", fresh.count(), want)
			}
			single := newSingleUseCache()
			copyTicket(t, cache, single)
			for i := range 3 {
				if r := dialUpload(t, s, clientConfig(ca, ver.v, single)); r.bind != nil {
					t.Fatalf("resumed upload %d with single-use tickets: %v", i, r.bind)
				}
			}
			if single.hits != 3 {
				t.Fatalf("single-use client offered %d tickets, want 3", single.hits)
			}
		})
	}
}

// copyTicket puts the newest ticket of from into a single-use cache.
func copyTicket(t *testing.T, from tls.ClientSessionCache, to *singleUseCache) {
	t.Helper()
	cs, ok := from.Get("localhost")
	if !ok {
		t.Fatal("no ticket from the control connection")
	}
	to.Put("localhost", cs)
}

// TestBindingClosedSessionAndControlReuse: a control connection resumes
// no other session's ticket (client certificates are verified afresh),
// and a closed session's own data connections bind nothing.
func TestBindingClosedSessionAndControlReuse(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m := fileManager(t, ca, nil)
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(8)
			a := loggedIn(t, m, ca, ver.v, cache, "alice", addr1)
			b := m.NewSession("b")
			defer b.Close()
			if r := dial(t, b.Control(""), clientConfig(ca, ver.v, cache)); r.server.DidResume {
				t.Fatal("control connection of b resumed a's ticket")
			}
			a.Close()
			if r := dialData(t, a, clientConfig(ca, ver.v, cache)); r.server.DidResume || r.bind == nil {
				t.Fatal("closed session still binds its data connections")
			}
		})
	}
}

// sameReason reports whether got and want are both nil or carry the same
// reason (ErrSessionIDOnly is a no_resume for a TLS 1.2 client without
// tickets).
func sameReason(got, want error) bool {
	var g, w *BindError
	if got == nil || want == nil {
		return got == want
	}
	return errors.As(got, &g) && errors.As(want, &w) && g.Reason() == w.Reason()
}

// TestBindingNonce: a ticket that decrypts but carries another Manager's
// nonce (what persistent ticket keys would allow across a restart) binds
// nothing.
func TestBindingNonce(t *testing.T) {
	ca := newTestCA(t, "binding CA")
	m, old := fileManager(t, ca, nil), fileManager(t, ca, nil)
	old.ticketKeys = m.ticketKeys // same keys, other nonce
	for _, ver := range versions {
		cache := tls.NewLRUClientSessionCache(8)
		loggedIn(t, old, ca, ver.v, cache, "alice", addr1)
		me := loggedIn(t, m, ca, ver.v, tls.NewLRUClientSessionCache(8), "alice", addr1)
		if r := dialData(t, me, clientConfig(ca, ver.v, cache)); !sameReason(r.bind, ErrNotResumed) || r.server.DidResume {
			t.Fatalf("%s: ticket with another nonce: %v", ver.name, r.bind)
		}
	}
}
