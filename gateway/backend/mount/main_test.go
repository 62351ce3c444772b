package mount

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when goroutines started by this package's tests
// or the conformance suite outlive the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/gateway/backend/mount.", "ftpsgw/gateway/backend/backendtest."})
}
