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

// TLSVersionName is the one name of a crypto/tls version number for logs,
// labels and listings: "TLS1.0" .. "TLS1.3", "none" for 0 (no TLS) and
// "unknown" otherwise.
func TLSVersionName(v uint16) string {
	switch v {
	case 0:
		return "none"
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return "unknown"
}
