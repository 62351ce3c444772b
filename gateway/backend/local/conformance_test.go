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

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Opener { return newTestOpener(t) })
}
