package sftp

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when goroutines started by this package, the
// conformance suite, pkg/sftp or the SSH client outlive the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{
		"ftpsgw/gateway/backend/sftp.", "ftpsgw/gateway/backend/backendtest.",
		"github.com/pkg/sftp.", "golang.org/x/crypto/ssh.",
	})
}
