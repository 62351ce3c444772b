package policy

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/leakcheck"
)

// TestMain fails the run when goroutines started by this package or the
// LDAP client outlive the tests.
func TestMain(m *testing.M) {
	leakcheck.Main(m, []string{"go-ldap", "ftpsgw/policy."})
}
