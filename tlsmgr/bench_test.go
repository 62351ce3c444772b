package tlsmgr

import "testing"

// BenchmarkDataHandshake measures one data connection over loopback TCP
// (handshake, one byte, close): resumed with a bound single-use ticket, and
// a full handshake for comparison.
func BenchmarkDataHandshake(b *testing.B) {
	ca := newTestCA(b, "bench CA")
	m := fileManager(b, ca, nil)
	for _, ver := range versions {
		b.Run(ver.name+"/resumed", func(b *testing.B) {
			s := m.NewSession("bench")
			cache := newSingleUseCache()
			dial(b, s.Control(""), clientConfig(ca, ver.v, cache))
			for b.Loop() {
				r := dial(b, s.Data(), clientConfig(ca, ver.v, cache))
				if err := s.CheckData(r.server); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(ver.name+"/full", func(b *testing.B) {
			s := m.NewSession("bench")
			for b.Loop() {
				r := dial(b, s.Data(), clientConfig(ca, ver.v, nil))
				if r.cliErr != nil || r.server.DidResume {
					b.Fatal("unexpected")
				}
				_ = s.CheckData(r.server)
			}
		})
	}
}
