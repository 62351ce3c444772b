package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"time"
)

// TLSProvider hands the gateway its TLS configuration; tlsmgr implements it.
// It owns certificates, the version/cipher policy and the binding of data
// connections to their FTP session. It must be safe for concurrent use.
type TLSProvider interface {
	// NewSession returns the TLS state of one FTP session. id is unique
	// for the process lifetime.
	NewSession(id string) TLSSession
}

// TLSSession is one FTP session's TLS state. It is an alias of an
// interface literal (not a defined type) so that tlsmgr can declare the
// identical type without importing gateway, and its NewSession satisfies
// TLSProvider directly.
//
//   - Control returns the configuration for the control connection's
//     handshake (after AUTH TLS, or at accept on an implicit listener). host
//     is the HOST command's argument, or "" if none was sent; SNI, when the
//     client sends it, takes precedence inside the handshake.
//   - Bind tells it who the session authenticated as and the client's
//     address (after PROXY-protocol resolution); called at every login.
//   - Data returns the server side of one data connection over conn
//     (upload: the client only writes on it) and the check to call once the
//     handshake has succeeded. The check returns nil when the connection
//     resumed a TLS session it is bound to (one issued to this user from
//     this client address, or only to this FTP session, as configured),
//     else an error that has a Reason() string method returning an
//     UnboundReason. The gateway decides, from its reuse mode and
//     exemptions, whether to refuse or accept it.
//   - Close forgets the session.
type TLSSession = interface {
	Control(host string) *tls.Config
	Bind(user string, client netip.Addr)
	Data(conn net.Conn, upload bool) (*tls.Conn, func() error)
	Close()
}

// Observer receives every decision and event the gateway makes, for
// metrics. All label-like arguments come from closed sets defined here,
// except user, which implementations must only use when configured to
// (metrics.per_user). Implementations must be cheap and concurrency-safe.
type Observer interface {
	ConnAccepted()
	ConnRejected(reason RejectReason)
	SessionOpened()
	SessionClosed()
	Login(result LoginResult, user string)
	TLSHandshake(channel Channel, version uint16, err error)
	Command(verb string, code int)
	Denied(op string, user string)
	Transfer(rec TransferRecord)
	PassivePorts(inUse int)
	PassiveExhausted()
	DataRefused(reason DataRefuseReason)
	// DataUnbound counts a data connection accepted although its TLS
	// session is not bound to its FTP session (session_reuse = "observe",
	// or a client in tls.reuse_exempt_from).
	DataUnbound(reason UnboundReason)
	// UnclosedUploadAccepted counts an upload kept although its TLS stream
	// ended without close_notify (a client in tls.close_notify_exempt_from).
	UnclosedUploadAccepted()
	// Banned reports that the defender banned client.
	Banned(client netip.Addr)
	BackendOp(backend, op string, d time.Duration, err error)
	// Changed reports a completed change to the storage other than a
	// transfer: a deletion, a rename, a new or removed directory.
	Changed(rec ChangeRecord)
}

// ChangeOp names a change to the storage.
type ChangeOp string

// The changes Changed reports.
const (
	ChangeDelete ChangeOp = "delete"
	ChangeRename ChangeOp = "rename"
	ChangeMkdir  ChangeOp = "mkdir"
	ChangeRmdir  ChangeOp = "rmdir"
)

// ChangeRecord is one completed change.
type ChangeRecord struct {
	Time      time.Time
	Op        ChangeOp
	SessionID string
	User      string
	Client    netip.Addr
	Backend   string
	Path      string // virtual path as the user sees it
	To        string // ChangeRename: the new virtual path
}

// TransferLogger writes one line per finished transfer (the transfer log).
type TransferLogger interface {
	LogTransfer(rec TransferRecord)
}

// RejectReason says why a connection was refused at accept.
type RejectReason string

// Connection rejection reasons.
const (
	RejectBan      RejectReason = "ban"
	RejectLimit    RejectReason = "limit"
	RejectNetwork  RejectReason = "network_rule"
	RejectProxy    RejectReason = "proxy"
	RejectShutdown RejectReason = "shutdown"
)

// LoginResult is the outcome of one USER/PASS exchange.
type LoginResult string

// Login results.
const (
	LoginOK            LoginResult = "ok"
	LoginBadPassword   LoginResult = "bad_password"
	LoginUnknownUser   LoginResult = "unknown_user"
	LoginTLSRequired   LoginResult = "tls_required"
	LoginDeniedNetwork LoginResult = "denied_network"
	LoginBanned        LoginResult = "banned"
	LoginLimit         LoginResult = "limit"
	LoginCertificate   LoginResult = "certificate"
	LoginUnavailable   LoginResult = "provider_unavailable"
)

// Channel is a TLS channel kind.
type Channel string

// TLS channels.
const (
	ChannelControl Channel = "control"
	ChannelData    Channel = "data"
)

// DataRefuseReason says why a data connection was refused.
type DataRefuseReason string

// Data connection refusal reasons.
const (
	DataWrongIP      DataRefuseReason = "wrong_ip"
	DataNoReuse      DataRefuseReason = "no_session_reuse"
	DataProtClear    DataRefuseReason = "prot_c"
	DataActiveDenied DataRefuseReason = "active_denied"
	DataTLSFailed    DataRefuseReason = "tls_failed"
)

// UnboundReason says why a data connection's TLS session is not bound to
// its FTP session.
type UnboundReason string

// Reasons a data connection is not bound.
const (
	// UnboundNoResume: a full handshake (no ticket, or one that cannot be
	// used: expired, from before a restart, from an unbound connection).
	UnboundNoResume UnboundReason = "no_resume"
	// UnboundOtherSession: a ticket of another FTP session that does not
	// count (session_binding = "session", or one that never logged in).
	UnboundOtherSession UnboundReason = "other_session"
	// UnboundOtherUser: a ticket minted for another user.
	UnboundOtherUser UnboundReason = "other_user"
	// UnboundOtherAddress: a ticket minted for the same user at another
	// client address.
	UnboundOtherAddress UnboundReason = "other_address"
)

// Direction of a transfer.
type Direction string

// Transfer directions.
const (
	Upload   Direction = "upload"
	Download Direction = "download"
)

// TransferResult is how a transfer ended.
type TransferResult string

// Transfer results.
const (
	TransferOK       TransferResult = "ok"
	TransferAborted  TransferResult = "aborted"
	TransferFailed   TransferResult = "failed"
	TransferTooLarge TransferResult = "too_large"
	TransferQuota    TransferResult = "quota"
	// TransferVetoed: the upload arrived whole, and a screening hook
	// refused to have it published.
	TransferVetoed TransferResult = "vetoed"
)

// A Screener decides, before an upload is published, whether it may be:
// the veto hooks. Screen runs once all of the upload's bytes are stored
// under the backend's temporary name, in the transfer goroutine, and may
// take as long as the hooks' timeouts allow; ctx ends with the transfer
// (ABOR, a kicked or closed session). Only whole-file uploads are
// screened: with a Screener set, APPE and REST+STOR are refused.
type Screener interface {
	Screen(ctx context.Context, u ScreenedUpload) ScreenVerdict
}

// ScreenedUpload is what a screening hook is told of an upload.
type ScreenedUpload struct {
	SessionID string
	User      string
	Client    netip.Addr
	Backend   string
	Path      string // virtual path of the final name
	Size      int64
	SHA256    string // "" for ASCII uploads
	// StagedFile is the host path of the bytes, for storage that keeps
	// them in a local file until publication (backend.StagedUpload);
	// "" for remote storage.
	StagedFile string
}

// ScreenVerdict is a Screener's answer.
type ScreenVerdict struct {
	Publish bool
	// Quarantine, for a refused upload with a StagedFile, is the host
	// directory to move it into; "" removes it.
	Quarantine string
	By, Reason string // the hook that refused and why, for the log
}

// TransferRecord describes one finished transfer.
type TransferRecord struct {
	Time       time.Time // when it ended
	SessionID  string
	User       string
	Client     netip.Addr
	Direction  Direction
	Path       string // virtual path as the user sees it
	Bytes      int64
	Duration   time.Duration
	Result     TransferResult
	TLSVersion uint16 // 0 for a clear (PROT C) data connection
	Backend    string
	Mode       string // "binary" or "ascii"

	// SHA256 is the lowercase hex SHA-256 of the whole file, computed while
	// it streamed: set only for a successful binary transfer that moved all
	// of it (RETR from offset 0, STOR, STOU, APPE that created the file).
	// It is "" for partial, ASCII, failed and aborted transfers.
	SHA256 string
	// Offset and RangeSHA256 describe a successful binary transfer of part
	// of a file (REST then RETR or STOR, APPE to an existing file):
	// RangeSHA256 is the SHA-256 of the Bytes bytes moved, which start at
	// byte Offset of the file. Both are zero otherwise.
	Offset      int64
	RangeSHA256 string
}

// NopObserver ignores everything; the zero Config uses it.
type NopObserver struct{}

func (NopObserver) ConnAccepted()                                  {}
func (NopObserver) ConnRejected(RejectReason)                      {}
func (NopObserver) SessionOpened()                                 {}
func (NopObserver) SessionClosed()                                 {}
func (NopObserver) Login(LoginResult, string)                      {}
func (NopObserver) TLSHandshake(Channel, uint16, error)            {}
func (NopObserver) Command(string, int)                            {}
func (NopObserver) Denied(string, string)                          {}
func (NopObserver) Changed(ChangeRecord)                           {}
func (NopObserver) Transfer(TransferRecord)                        {}
func (NopObserver) PassivePorts(int)                               {}
func (NopObserver) PassiveExhausted()                              {}
func (NopObserver) DataRefused(DataRefuseReason)                   {}
func (NopObserver) DataUnbound(UnboundReason)                      {}
func (NopObserver) UnclosedUploadAccepted()                        {}
func (NopObserver) Banned(netip.Addr)                              {}
func (NopObserver) BackendOp(string, string, time.Duration, error) {}
