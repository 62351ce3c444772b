package main

// The backend types this binary serves. Each package registers its type
// with gateway/backend from an init function, decodes and validates its
// own config block, and opens itself; cmd knows none of them by name.
import (
	_ "github.com/ftpsgw/ftpsgw/gateway/backend/ftp"
	_ "github.com/ftpsgw/ftpsgw/gateway/backend/local"
	_ "github.com/ftpsgw/ftpsgw/gateway/backend/s3"
	_ "github.com/ftpsgw/ftpsgw/gateway/backend/sftp"
)
