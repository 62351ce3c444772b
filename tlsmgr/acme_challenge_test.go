package tlsmgr

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// startLoopbackDNS answers every A query with 127.0.0.1 (and AAAA with
// nothing), so Pebble's validator reaches our solvers on loopback.
func startLoopbackDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String()) // Pebble may ask over TCP
	if err != nil {
		pc.Close()
		t.Skipf("tcp port of the dns server taken: %v", err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qu := range q.Question {
			if qu.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: qu.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// TestACMERealChallenges: Pebble really validates, against our solvers on
// the alternate ports, once with HTTP-01 only and once with TLS-ALPN-01
// only.
func TestACMERealChallenges(t *testing.T) {
	for _, ch := range []string{ChallengeHTTP01, ChallengeTLSALPN01} {
		t.Run(ch, func(t *testing.T) {
			p := startPebbleOpts(t, 24*time.Hour, startLoopbackDNS(t))
			log, sink := testLogger(t)
			cfg := p.acmeConfig(t, "real.test.example")
			cfg.ACME.Challenges = []string{ch}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			m, err := New(ctx, cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			acmeLeaf(t, m, p.roots(t), "real.test.example", "", "real.test.example")
			want := map[string]string{ChallengeHTTP01: "http-01", ChallengeTLSALPN01: "tls-alpn-01"}[ch]
			if !strings.Contains(sink.String(), "challenge_type="+want) {
				t.Errorf("log does not show a %s challenge being solved", want)
			}
		})
	}
}
