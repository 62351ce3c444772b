package gateway

import (
	"crypto/tls"
	"fmt"
	"slices"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// errNotDirListing: MLSD names a file (RFC 3659 wants a directory).
var errNotDirListing = fmt.Errorf("mlsd of a file: %w", backend.ErrNotDir)

func sortStrings(s []string) { slices.Sort(s) }

// tlsVersionName names a TLS version for logs; 0 is a clear connection.
func tlsVersionName(v uint16) string {
	if v == 0 {
		return "none"
	}
	return tls.VersionName(v)
}
