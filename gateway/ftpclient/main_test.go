package ftpclient

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when goroutines started by this package outlive
// the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"ftpsgw/gateway/ftpclient."})
}
