package backendtest

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when goroutines started by the suite or the
// memory backend outlive the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/gateway/backend/backendtest."})
}
