//go:build !linux

package local

import (
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// faultHooks has no Deny or Small hook outside Linux (they need chattr's
// ioctl and a tmpfs mount); the suite skips those subtests.
func faultHooks() (deny func(*testing.T, backend.Opener, string, string), small func(*testing.T) backend.Opener) {
	return nil, nil
}
