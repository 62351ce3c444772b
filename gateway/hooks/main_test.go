package hooks

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when delivery goroutines outlive the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/hooks."})
}
