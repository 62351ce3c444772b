package tlsmgr_test

import (
	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// Manager is the gateway's TLSProvider without tlsmgr importing gateway:
// both packages alias the same interface literal for TLSSession.
var (
	_ gateway.TLSProvider = (*tlsmgr.Manager)(nil)
	_ gateway.TLSSession  = (*tlsmgr.Session)(nil)
)
