package local

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
)

func newTestOpener(t *testing.T) *Opener {
	t.Helper()
	o, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestConformance runs the backend suite on a temporary directory. Deny
// and Small come from faultHooks (Linux: chmod plus the immutable flag,
// and a 1 MiB tmpfs). Kill, Stop and Stall skip with the reason: a local
// directory has no connection to drop, no server to stop and none to
// freeze.
func TestConformance(t *testing.T) {
	h := backendtest.Harness{
		New:   func(t *testing.T) backend.Opener { return newTestOpener(t) },
		Kill:  func(t *testing.T) { t.Skip("local backend: no connection to the storage to kill") },
		Stop:  func(t *testing.T) func() { t.Skip("local backend: a directory cannot be made unreachable"); return nil },
		Stall: func(t *testing.T) func() { t.Skip("local backend: no storage server to freeze"); return nil },
	}
	h.Deny, h.Small = faultHooks()
	backendtest.RunHarness(t, h)
}
