package tlsmgr

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
)

// TestALPN: control and data configs offer "ftp" and refuse a ClientHello
// that offers ALPN without it (a browser's h2 or http/1.1: ALPACA).
func TestALPN(t *testing.T) {
	ca := newTestCA(t, "alpn CA")
	m := fileManager(t, ca, nil)
	s := m.NewSession("alpn")
	defer s.Close()
	for _, side := range []struct {
		name string
		mk   server
	}{{"control", cfgServer(s.Control(""))}, {"data", dataServer(s, false)}} {
		for _, tc := range []struct {
			protos []string
			ok     bool
		}{
			{nil, true},
			{[]string{"ftp"}, true},
			{[]string{"h2", "ftp"}, true},
			{[]string{"http/1.1"}, false},
			{[]string{"h2", "http/1.1"}, false},
			{[]string{"acme-tls/1"}, false},
		} {
			for _, ver := range versions {
				c := clientConfig(ca, ver.v, nil)
				c.NextProtos = tc.protos
				r := dialSide(t, side.mk, c, false)
				if ok := r.srvErr == nil && r.cliErr == nil; ok != tc.ok {
					t.Errorf("%s %s ALPN %q: server %v, client %v, want ok %v", side.name, ver.name, tc.protos, r.srvErr, r.cliErr, tc.ok)
					continue
				}
				if !tc.ok && !errors.Is(r.srvErr, ErrALPN) {
					t.Errorf("%s %s ALPN %q: server error %v, want ErrALPN", side.name, ver.name, tc.protos, r.srvErr)
				}
				if tc.ok && tc.protos != nil && r.server.NegotiatedProtocol != ALPNProtocol {
					t.Errorf("%s %s ALPN %q: negotiated %q", side.name, ver.name, tc.protos, r.server.NegotiatedProtocol)
				}
			}
		}
	}
}

// TestStrictSNI: with strict_sni an SNI name the certificate does not
// cover fails the handshake; no SNI and covered names pass; without
// strict_sni any name gets the certificate.
func TestStrictSNI(t *testing.T) {
	ca := newTestCA(t, "sni CA")
	for _, strict := range []bool{false, true} {
		m := fileManager(t, ca, func(c *Config) { c.StrictSNI = strict })
		s := m.NewSession("sni")
		for _, tc := range []struct {
			sni     string
			covered bool
		}{{"", true}, {"localhost", true}, {"LOCALHOST", true}, {"www.example.com", false}, {"127.0.0.2", true}} {
			for _, side := range []struct {
				name string
				mk   server
			}{{"control", cfgServer(s.Control(""))}, {"data", dataServer(s, false)}} {
				c := &tls.Config{InsecureSkipVerify: true, ServerName: tc.sni}
				r := dialSide(t, side.mk, c, false)
				want := tc.covered || !strict
				if ok := r.srvErr == nil; ok != want {
					t.Errorf("strict %v %s SNI %q: server %v, want ok %v", strict, side.name, tc.sni, r.srvErr, want)
				}
				if !want && !errors.Is(r.srvErr, ErrSNI) {
					t.Errorf("strict %v %s SNI %q: %v, want ErrSNI", strict, side.name, tc.sni, r.srvErr)
				}
			}
		}
		s.Close()
	}
}

// TestSessionIDOnlyHint: a TLS 1.2 client without session tickets (curl
// with OpenSSL) cannot resume here; the check says so and carries a hint.
func TestSessionIDOnlyHint(t *testing.T) {
	ca := newTestCA(t, "hint CA")
	m := fileManager(t, ca, nil)
	s := loggedIn(t, m, ca, tls.VersionTLS12, nil, "alice", addr1)
	c := clientConfig(ca, tls.VersionTLS12, tls.NewLRUClientSessionCache(4))
	c.SessionTicketsDisabled = true
	r := dialData(t, s, c)
	var be *BindError
	if !errors.Is(r.bind, ErrSessionIDOnly) || !errors.As(r.bind, &be) ||
		be.Reason() != "no_resume" || !strings.Contains(be.Hint(), "resumes only by session id") ||
		!strings.Contains(be.Hint(), "use TLS 1.3 or exempt it") {
		t.Fatalf("check = %v, want ErrSessionIDOnly with a hint", r.bind)
	}
	// A TLS 1.2 client with tickets that has none yet gets plain no_resume.
	if r := dialData(t, s, clientConfig(ca, tls.VersionTLS12, tls.NewLRUClientSessionCache(1))); r.bind != ErrNotResumed {
		t.Fatalf("ticket-capable full handshake: %v, want ErrNotResumed", r.bind)
	}
	if r := dialData(t, s, clientConfig(ca, tls.VersionTLS13, nil)); r.bind != ErrNotResumed {
		t.Fatalf("TLS 1.3 full handshake: %v, want ErrNotResumed", r.bind)
	}
}
