package sftp

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// SFTP status codes (draft-ietf-secsh-filexfer-13 section 9.1). OpenSSH
// speaks version 3 and sends only codes 0-8; the others come from servers
// that implement later drafts.
const (
	fxFailure          = 4
	fxBadMessage       = 5
	fxNoConnection     = 6
	fxConnectionLost   = 7
	fxOpUnsupported    = 8
	fxNoSuchPath       = 10
	fxFileExists       = 11
	fxWriteProtect     = 12
	fxNoSpace          = 14
	fxQuotaExceeded    = 15
	fxDirNotEmpty      = 18
	fxNotADirectory    = 19
	fxInvalidFilename  = 20
	fxCannotDelete     = 22
	fxInvalidParameter = 23
	fxFileIsADirectory = 24
)

// statusSentinel maps a status code to the contract's sentinel; nil for
// codes that say nothing more specific (SSH_FX_FAILURE above all).
func statusSentinel(code uint32) error {
	switch code {
	case fxNoSuchPath:
		return fs.ErrNotExist
	case fxWriteProtect, fxCannotDelete:
		return fs.ErrPermission
	case fxFileExists:
		return fs.ErrExist
	case fxNoSpace, fxQuotaExceeded:
		return backend.ErrNoSpace
	case fxDirNotEmpty:
		return backend.ErrNotEmpty
	case fxNotADirectory:
		return backend.ErrNotDir
	case fxFileIsADirectory:
		return backend.ErrIsDir
	case fxBadMessage, fxInvalidFilename, fxInvalidParameter:
		return fs.ErrInvalid
	case fxOpUnsupported:
		return errors.ErrUnsupported
	case fxNoConnection, fxConnectionLost:
		return backend.ErrUnavailable
	}
	return nil
}

// mapErr makes a server's answer match the contract's sentinels.
// pkg/sftp already turns NO_SUCH_FILE into fs.ErrNotExist and
// PERMISSION_DENIED into fs.ErrPermission.
func mapErr(err error) error {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		if s := statusSentinel(se.Code); s != nil {
			return fmt.Errorf("%w: %w", s, err)
		}
	}
	return err
}

// isFailure reports whether err is the generic SSH_FX_FAILURE, which
// OpenSSH sends for every errno it has no code for: EEXIST, ENOTEMPTY,
// EISDIR, ENOSPC, EDQUOT, EIO and more. Callers find out which from the
// state of the files.
func isFailure(err error) bool {
	var se *sftp.StatusError
	return errors.As(err, &se) && se.Code == fxFailure
}

// lowSpace is the free space under which a generic failure of a write is
// taken for a full filesystem.
const lowSpace = 1 << 20

// full reports whether the filesystem holding dir is (nearly) out of
// space or inodes, by statvfs@openssh.com. It is how a generic failure of
// a write is recognised as ENOSPC; a per-user quota (EDQUOT) does not show
// in statvfs and stays a generic failure.
func full(l *link, dir string) bool {
	if !l.statvfs {
		return false
	}
	st, err := l.c.StatVFS(dir)
	if err != nil {
		return false
	}
	return st.Bavail*st.Frsize < lowSpace || (st.Files > 0 && st.Favail == 0)
}

// noSpace wraps err as backend.ErrNoSpace when it is a generic failure and
// dir's filesystem is full.
func noSpace(l *link, dir string, err error) error {
	if err != nil && isFailure(err) && full(l, dir) {
		return fmt.Errorf("%w: %w", backend.ErrNoSpace, err)
	}
	return err
}
