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
	runConformance(t, DurabilityFsync)
}

// TestConformanceDurabilityNone runs the suite with durability "none":
// without the syncs, every clause must hold just the same.
func TestConformanceDurabilityNone(t *testing.T) {
	runConformance(t, DurabilityNone)
}

// TestConformanceNamedTemporaries runs the suite with uploads written to
// named temporary files, as on filesystems without O_TMPFILE.
func TestConformanceNamedTemporaries(t *testing.T) {
	old := unnamedUploads
	unnamedUploads = false
	defer func() { unnamedUploads = old }()
	runConformance(t, DurabilityFsync)
}

func runConformance(t *testing.T, d Durability) {
	h := backendtest.Harness{
		New: func(t *testing.T) backend.Opener {
			o := newTestOpener(t)
			o.Durability = d
			return o
		},
		Kill:  func(t *testing.T) { t.Skip("local backend: no connection to the storage to kill") },
		Stop:  func(t *testing.T) func() { t.Skip("local backend: a directory cannot be made unreachable"); return nil },
		Stall: func(t *testing.T) func() { t.Skip("local backend: no storage server to freeze"); return nil },
	}
	deny, small := faultHooks()
	h.Deny = deny
	if small != nil {
		h.Small = func(t *testing.T) backend.Opener {
			o := small(t)
			o.(*Opener).Durability = d
			return o
		}
	}
	backendtest.RunHarness(t, h)
}
