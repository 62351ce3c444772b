package tlsmgr

import (
	"net/netip"
	"testing"
)

// BenchmarkDataHandshake measures one data connection over loopback TCP
// (handshake, one byte, close): resumed with a bound single-use ticket, and
// a full handshake for comparison.
func BenchmarkDataHandshake(b *testing.B) {
	ca := newTestCA(b, "bench CA")
	m := fileManager(b, ca, nil)
	for _, ver := range versions {
		b.Run(ver.name+"/resumed", func(b *testing.B) {
			s := m.NewSession("bench")
			s.Bind("bench", netip.MustParseAddr("127.0.0.1"))
			cache := newSingleUseCache()
			dial(b, s.Control(""), clientConfig(ca, ver.v, cache))
			for b.Loop() {
				if r := dialData(b, s, clientConfig(ca, ver.v, cache)); r.bind != nil {
					b.Fatal(r.bind)
				}
			}
		})
		b.Run(ver.name+"/full", func(b *testing.B) {
			s := m.NewSession("bench")
			for b.Loop() {
				r := dialData(b, s, clientConfig(ca, ver.v, nil))
				if r.cliErr != nil || r.server.DidResume || r.bind == nil {
					b.Fatal("unexpected")
				}
			}
		})
	}
}
