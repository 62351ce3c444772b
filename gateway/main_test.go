package gateway

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run if a goroutine of the gateway (a session, a
// transfer, an accept loop) outlives the tests: every server is closed at
// cleanup, so anything left is a leak.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/gateway."})
}
