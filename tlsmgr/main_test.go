package tlsmgr

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run if goroutines started by tlsmgr or certmagic
// outlive the tests (every Manager is closed at cleanup). certmagic keeps
// one process-wide rate limiter per CA and account (a package map, never
// stopped), which is ignored.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/tlsmgr.", "caddyserver/certmagic."}, "certmagic.(*RingBufferRateLimiter)")
}
