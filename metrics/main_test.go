package metrics

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when an HTTP server, TLS connection or metrics
// goroutine outlives the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/ftpsgw/metrics.", "net/http.", "crypto/tls."})
}
