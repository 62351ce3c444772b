package tlsmgr

import (
	"crypto/x509"
	"testing"
	"time"
)

// PebbleForTest starts a real Pebble for tests in package tlsmgr_test and
// returns a Config that obtains certificates for domains from it, and the
// roots that verify them.
func PebbleForTest(t *testing.T, domains ...string) (Config, *x509.CertPool) {
	p := startPebble(t, 90*24*time.Hour)
	return p.acmeConfig(t, domains...), p.roots(t)
}
