package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/pasv"
)

// Typed errors raised inside the gateway; replyFor maps them.
var (
	errQuota = errors.New("quota exceeded")
	// errQuotaUnknown: a quota is set but the usage could not be measured.
	errQuotaUnknown = errors.New("quota usage unmeasured")
	// errUnsupported: the storage lacks the capability the command needs.
	errUnsupported = fmt.Errorf("storage lacks the capability: %w", errors.ErrUnsupported)
	// errNoDirRename: the storage cannot rename directories.
	errNoDirRename = errors.New("storage cannot rename directories")
	errTooLarge    = errors.New("file size limit exceeded")
	errDenied      = errors.New("permission denied")
	errHidden      = errors.New("hidden path")
	errAborted     = errors.New("transfer aborted")
	errDataConn    = errors.New("data connection failed")
	errNotResumed  = errors.New("data tls session not resumed")
	errNotFile     = errors.New("not a regular file")
	errShutdown    = errors.New("server shutting down")
	errNoPassive   = errors.New("no data connection set up")
	errPasvIPv6    = errors.New("pasv on ipv6")
	errProtClear   = errors.New("clear data connection refused")
	// errTruncated: an upload's TLS stream ended without close_notify.
	errTruncated = errors.New("data connection closed without tls close_notify")
	// errVetoed: a screening hook refused an upload; it was not published.
	errVetoed = errors.New("upload refused by screening")
	// errRestBeyondEnd: REST named an offset past the end of the file.
	errRestBeyondEnd = errors.New("restart offset beyond end of file")
	// errPassiveHeld: the user holds MaxPassivePerClient passive ports from
	// this address already.
	errPassiveHeld = errors.New("too many passive ports held by this user and address")
)

// reply is a code and a fixed text.
type reply struct {
	code int
	text string
}

// Fixed replies used in more than one place.
var (
	replyNotFound     = reply{550, "No such file or directory."}
	replyDenied       = reply{550, "Permission denied."}
	replyBadName      = reply{553, "File name not allowed."}
	replyExists       = reply{550, "File exists."}
	replyNotEmpty     = reply{550, "Directory not empty."}
	replyIsDir        = reply{550, "Is a directory."}
	replyNotDir       = reply{550, "Not a directory."}
	replyNotFile      = reply{550, "Not a regular file."}
	replyQuota        = reply{552, "Quota exceeded."}
	replyTooLarge     = reply{552, "File size limit exceeded."}
	replyUnavailable  = reply{451, "Storage temporarily unavailable, try again later."}
	replyLocalError   = reply{451, "Requested action aborted: local error in processing."}
	replyAborted      = reply{426, "Connection closed; transfer aborted."}
	replyDataFailed   = reply{425, "Can't open data connection."}
	replyNoReuse      = reply{522, "Data connection must resume the control connection's TLS session."}
	replyUseEPSV      = reply{425, "PASV is not available on IPv6, use EPSV."}
	replyNoPassive    = reply{425, "Use PASV or EPSV first."}
	replyPassiveFull  = reply{425, "No passive port available, try again later."}
	replyPassiveHeld  = reply{425, "Too many passive ports held from this address, close some first."}
	replyProtRequired = reply{521, "Data connections must be encrypted (PROT P)."}
	replyLoginFirst   = reply{530, "Please login with USER and PASS."}
	replyTLSFirst     = reply{530, "TLS required: use AUTH TLS first."}
	replyBadSequence  = reply{503, "Bad sequence of commands."}
	replyClosing      = reply{421, "Service not available, closing control connection."}
	replyShuttingDown = reply{421, "Server shutting down, closing control connection."}
	replyTooManyConns = reply{421, "Too many connections, try again later."}
)

// replyFor is the one place where an error becomes an FTP reply. The text
// is fixed; the error itself goes to the log only.
func replyFor(err error) reply {
	var pathErr *fs.PathError
	_ = errors.As(err, &pathErr)
	switch {
	case errors.Is(err, errHidden), errors.Is(err, fs.ErrNotExist):
		return replyNotFound
	case errors.Is(err, errDenied), errors.Is(err, fs.ErrPermission):
		return replyDenied
	case errors.Is(err, errBadPath), errors.Is(err, fs.ErrInvalid):
		return replyBadName
	case errors.Is(err, backend.ErrNotEmpty): // before ErrExist: ENOTEMPTY is both
		return replyNotEmpty
	case errors.Is(err, fs.ErrExist):
		return replyExists
	case errors.Is(err, backend.ErrIsDir):
		return replyIsDir
	case errors.Is(err, backend.ErrNotDir):
		return replyNotDir
	case errors.Is(err, errNotFile):
		return replyNotFile
	case errors.Is(err, errQuota):
		return replyQuota
	case errors.Is(err, errTooLarge):
		return replyTooLarge
	case errors.Is(err, errVetoed):
		return reply{550, "Upload refused by content screening; the file was not stored."}
	case errors.Is(err, errAborted), errors.Is(err, context.Canceled):
		return replyAborted
	case errors.Is(err, errTruncated):
		return reply{426, "Upload not closed with TLS close_notify; discarded as possibly truncated."}
	case errors.Is(err, errRestBeyondEnd):
		return reply{554, "Restart offset beyond the end of the file."}
	case errors.Is(err, errProtClear):
		return replyProtRequired
	case errors.Is(err, errNoDirRename):
		return reply{550, "Renaming a directory is not supported by this storage."}
	case errors.Is(err, backend.ErrCrossMount):
		return reply{553, "Cannot rename across folders on different storage; nothing was moved."}
	case errors.Is(err, backend.ErrTooManyObjects):
		return reply{550, "Directory too large to rename on this storage; nothing was moved."}
	case errors.Is(err, errQuotaUnknown):
		return reply{452, "Quota usage cannot be measured now; upload refused, try again later."}
	case errors.Is(err, backend.ErrNoSpace):
		return reply{452, "Insufficient storage space."}
	case errors.Is(err, errors.ErrUnsupported):
		return reply{504, "Not supported by this storage."}
	case errors.Is(err, errNotResumed):
		return replyNoReuse
	case errors.Is(err, errDataConn), errors.Is(err, os.ErrDeadlineExceeded):
		return replyDataFailed
	case errors.Is(err, errPassiveHeld):
		return replyPassiveHeld
	case errors.Is(err, pasv.ErrExhausted):
		return replyPassiveFull
	case errors.Is(err, errNoPassive):
		return replyNoPassive
	case errors.Is(err, errPasvIPv6):
		return replyUseEPSV
	case errors.Is(err, backend.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return replyUnavailable
	case errors.Is(err, net.ErrClosed), errors.Is(err, errShutdown):
		return replyAborted
	}
	return replyLocalError
}

// HASH and the digest commands (cmd_hash.go), per draft-bryan-ftpext-hash-02
// §3.2 and §3.5.
var (
	// errHashTooLarge: the file is bigger than Config.HashMaxSize.
	errHashTooLarge = errors.New("file exceeds the hash size limit")
	// errHashBusy: every HASH computation slot is taken.
	errHashBusy = errors.New("too many hash computations")

	replyHashDir      = reply{553, "HASH of a directory is not defined."}
	replyHashTooLarge = reply{556, "File too large for HASH under this server's policy."}
	replyHashBusy     = reply{450, "Server busy computing hashes, try again later."}
	replyHashAborted  = reply{451, "HASH aborted."}
	replyHashUnknown  = reply{501, "Unknown algorithm, current selection not changed."}
)

// replyForHash maps an error that ended a HASH (or XCRC, XMD5, ...): the
// draft's own codes first, then replyFor. A hidden or missing file is 550
// "No such file or directory." either way.
func replyForHash(err error) reply {
	switch {
	case errors.Is(err, backend.ErrIsDir):
		return replyHashDir
	case errors.Is(err, errHashTooLarge):
		return replyHashTooLarge
	case errors.Is(err, errHashBusy):
		return replyHashBusy
	case errors.Is(err, errAborted), errors.Is(err, context.Canceled):
		return replyHashAborted
	}
	return replyFor(err)
}

// Fixed replies of the commands, in one catalogue with those above.
var (
	replyEpsvAllOk                        = reply{200, "EPSV ALL ok."}
	replyModeSetS                         = reply{200, "Mode set to S."}
	replyNoopOk                           = reply{200, "NOOP ok."}
	replyPbsz0                            = reply{200, "PBSZ=0"}
	replyPortCommandSuccessful            = reply{200, "PORT command successful."}
	replyProtPrivate                      = reply{200, "Protection level set to Private."}
	replyProtClear                        = reply{200, "Protection level set to Clear."}
	replyStructureSetF                    = reply{200, "Structure set to F."}
	replySwitchingAsciiMode               = reply{200, "Switching to ASCII mode."}
	replySwitchingBinaryMode              = reply{200, "Switching to Binary mode."}
	replyUtf8ModeAlways                   = reply{200, "UTF8 mode is always on."}
	replyAlloNeeded                       = reply{202, "ALLO not needed."}
	replyUnixTypeL8                       = reply{215, "UNIX Type: L8"}
	replyHostAccepted                     = reply{220, "Host accepted."}
	replyReadyNewUser                     = reply{220, "Ready for a new user."}
	replyGoodbye                          = reply{221, "Goodbye."}
	replyNoTransferAbort                  = reply{225, "No transfer to abort."}
	replyAborSuccessful                   = reply{226, "ABOR successful."}
	replyLoginSuccessful                  = reply{230, "Login successful."}
	replyProceedTlsNegotiation            = reply{234, "Proceed with TLS negotiation."}
	replyDirectoryRemoved                 = reply{250, "Directory removed."}
	replyDirectorySuccessfullyChanged     = reply{250, "Directory successfully changed."}
	replyFileDeleted                      = reply{250, "File deleted."}
	replyRenameSuccessful                 = reply{250, "Rename successful."}
	replySpecifyPassword                  = reply{331, "Please specify the password."}
	replyReadyRnto                        = reply{350, "Ready for RNTO."}
	replyAuthenticationServiceUnavailable = reply{421, "Authentication service unavailable, try again later."}
	replyIdleTimeoutClosing               = reply{421, "Idle timeout, closing control connection."}
	replyLoginTimeoutClosing              = reply{421, "Login timeout, closing control connection."}
	replyStorageDown                      = reply{421, "Storage unavailable, try again later."}
	replyLineTooLong                      = reply{500, "Command line too long."}
	replySyntaxErrorCommand               = reply{500, "Syntax error, command unrecognized."}
	replyUnknownCommand                   = reply{500, "Unknown command."}
	replyActiveModeOnly                   = reply{501, "Active mode only to your own address and ports 1024 and up."}
	replyArgumentRequired                 = reply{501, "Argument required."}
	replyHostNameToo                      = reply{501, "Host name too long."}
	replyInvalidCharactersCommand         = reply{501, "Invalid characters in command."}
	replyInvalidTimeValue                 = reply{501, "Invalid time value."}
	replyNoArgumentAllowed                = reply{501, "No argument allowed."}
	replyOptionUnderstood                 = reply{501, "Option not understood."}
	replyRestRequiresNon                  = reply{501, "REST requires a non-negative byte offset."}
	replySyntaxErrorEprt                  = reply{501, "Syntax error in EPRT arguments."}
	replySyntaxErrorPort                  = reply{501, "Syntax error in PORT arguments."}
	replyUnknownEpsvArgument              = reply{501, "Unknown EPSV argument."}
	replyMFMTUsage                        = reply{501, "Usage: MFMT YYYYMMDDHHMMSS path"}
	replyActiveModeDisabled               = reply{502, "Active mode is disabled; use PASV or EPSV."}
	replySiteCommandImplemented           = reply{502, "SITE command not implemented."}
	replyAlreadyLogged                    = reply{503, "Already logged in."}
	replyAlreadyUsingTls                  = reply{503, "Already using TLS."}
	replyEpsvAllEffect                    = reply{503, "EPSV ALL in effect; use EPSV."}
	replyHostMustCome                     = reply{503, "HOST must come before USER."}
	replyLoginUser                        = reply{503, "Login with USER first."}
	replyPbszRequiredBefore               = reply{503, "PBSZ required before PROT."}
	replyTransferProgress                 = reply{503, "Transfer in progress."}
	replyOnlyModeS                        = reply{504, "Only MODE S is supported."}
	replyOnlyStruF                        = reply{504, "Only STRU F is supported."}
	replySecurityMechanismSupported       = reply{504, "Security mechanism not supported; use AUTH TLS."}
	replyTypeSupported                    = reply{504, "Type not supported."}
	replyUnknownProtectionLevel           = reply{504, "Unknown protection level."}
	replyUtf8CannotTurned                 = reply{504, "UTF8 cannot be turned off."}
	replyUseIPv4                          = reply{522, "Network protocol not supported, use (1)."}
	replyUseIPv6                          = reply{522, "Network protocol not supported, use (2)."}
	replyAlreadyLoggedRein                = reply{530, "Already logged in; use REIN first."}
	replyLoginIncorrect                   = reply{530, "Login incorrect."}
	replyTooManySessions                  = reply{530, "Too many sessions for this user."}
	replyCccRefusedControl                = reply{534, "CCC refused: the control connection stays encrypted."}
	replyProtectionLevelSupported         = reply{536, "Protection level not supported."}
)
