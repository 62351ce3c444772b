package tlsmgr

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// BindError says why a data connection's TLS session is not bound to its
// FTP session. Reason is a member of a closed set, for metrics labels.
type BindError struct {
	reason string
	msg    string
	hint   string
}

// Error returns the message, lowercase, for logs.
func (e *BindError) Error() string { return e.msg }

// Reason returns one of "no_resume", "other_session", "other_user" and
// "other_address".
func (e *BindError) Reason() string { return e.reason }

// Hint is advice for the operator, or "".
func (e *BindError) Hint() string { return e.hint }

// The errors a data connection's check returns. Compare with errors.Is;
// every one is a *BindError.
var (
	// ErrNotResumed: the data connection made a full handshake, offering
	// no ticket. ErrUnknownTicket and ErrVoidTicket are the same reason
	// with a ticket offered; they say which, for the log.
	ErrNotResumed = &BindError{reason: "no_resume", msg: "tls data connection did not resume a session ticket"}
	// ErrUnknownTicket: the offered ticket does not open here: minted
	// before a restart, by another instance with other keys, or expired.
	ErrUnknownTicket = &BindError{reason: "no_resume",
		msg: "tls data connection did not resume a session ticket: it offered one this gateway cannot open (minted before a restart, by another instance, or expired)"}
	// ErrVoidTicket: the offered ticket was minted on a data connection
	// that was itself refused, and binds to no one.
	ErrVoidTicket = &BindError{reason: "no_resume",
		msg: "tls data connection did not resume a session ticket: it offered the void ticket of an earlier refused data connection"}
	// ErrSessionIDOnly is ErrNotResumed for a TLS 1.2 client that sent no
	// session_ticket extension: it resumes only by session id, which Go's
	// TLS server cannot do (it keeps no session cache and answers with an
	// empty session id). Its Hint says what the operator can do.
	ErrSessionIDOnly = &BindError{reason: "no_resume", msg: "tls 1.2 data connection sent no session_ticket extension",
		hint: "client sends no TLS 1.2 session ticket extension, so it resumes only by session id (if at all), " +
			"which Go's TLS server cannot do; use TLS 1.3 or exempt it (tls.reuse_exempt_from)"}
	// ErrForeignSession: the ticket was minted in another FTP session that
	// does not count (binding "session", or a session that never logged
	// in or is forgotten).
	ErrForeignSession = &BindError{reason: "other_session", msg: "tls data connection offered a ticket of another ftp session"}
	// ErrOtherUser: the ticket was minted for another user.
	ErrOtherUser = &BindError{reason: "other_user", msg: "tls data connection offered a ticket minted for another user"}
	// ErrOtherAddress: the ticket was minted for the same user from
	// another client address.
	ErrOtherAddress = &BindError{reason: "other_address", msg: "tls data connection offered a ticket minted for another client address"}
)

// TLSSession is the method set of one FTP session's TLS state, spelled as
// an interface literal so that it is identical to the gateway's alias of
// the same literal.
type TLSSession = interface {
	Control(host string) *tls.Config
	Bind(user string, client netip.Addr)
	Data(conn net.Conn, upload bool) (*tls.Conn, func() error)
	Close()
}

var _ TLSSession = (*Session)(nil)

// Session is one FTP session's TLS state. Every ticket minted on its
// control or data connections names it; its data connections accept the
// tickets the binding mode allows. It is safe for concurrent use.
type Session struct {
	m   *Manager
	id  string // the gateway's session id, for logs
	tok token  // immutable
	rec *record

	host   atomic.Pointer[string] // HOST name from Control, for data SNI fallback
	closed atomic.Bool
}

func newSession(m *Manager, id string) *Session {
	s := &Session{m: m, id: id}
	_, _ = rand.Read(s.tok[:]) // crypto/rand.Read never fails
	s.rec = m.reg.open(s.tok)
	return s
}

// Control returns the config for the control connection's handshake. host
// is the HOST command's name ("" if none); the client's SNI takes
// precedence. Client certificates are requested as configured and checked
// against the CRL. The control handshake resumes only this session's own
// tickets (in practice none: it is the session's first handshake), so
// client certificates are always verified afresh.
func (s *Session) Control(host string) *tls.Config {
	if host != "" {
		s.host.Store(&host)
	}
	c := policyConfig(s.m.minVersion)
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return s.m.getCertificate(hello, host)
	}
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		return nil, s.m.checkHello(hello, host)
	}
	if tr := s.m.trust.Load(); tr != nil {
		c.ClientCAs = tr.pool
		c.ClientAuth = s.m.cfg.clientAuth()
		c.VerifyConnection = tr.verifyConnection
	}
	c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		return s.wrap(cs, ss, s.mintBinding())
	}
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, b := s.decrypt(identity, cs)
		if ss == nil || b.kind == kindVoid || b.session != s.tok || s.closed.Load() {
			return nil, nil
		}
		return ss, nil
	}
	return c
}

// Bind records who the session authenticated as, and from which client
// address (after PROXY-protocol resolution). Call it at every successful
// login; tickets minted from then on carry both.
func (s *Session) Bind(user string, client netip.Addr) {
	s.m.reg.bind(s.rec, user, client)
}

// Close forgets the session: its own data connections accept nothing
// more. With binding "user" its tickets stay valid for sibling sessions
// of the same user and address (see registry).
func (s *Session) Close() {
	if s.closed.Swap(true) {
		return
	}
	s.m.reg.close(s.tok, s.rec)
}

// mintBinding is the binding of a ticket minted now in this session on a
// bound connection: the session, plus user and address once logged in.
func (s *Session) mintBinding() binding {
	b := binding{nonce: s.m.nonce, kind: kindSession, session: s.tok}
	if user, addr := s.m.reg.identity(s.rec); user != "" {
		b.kind, b.user, b.addr = kindIdentity, user, addr
	}
	return b
}

// wrap binds a ticket (replacing the binding a resumed state carries) and
// encrypts it with the shared ticket keys.
func (s *Session) wrap(cs tls.ConnectionState, ss *tls.SessionState, b binding) ([]byte, error) {
	setBinding(ss, b)
	return s.m.ticketKeys.EncryptTicket(cs, ss)
}

// decrypt opens a ticket with the shared keys and returns its state and
// binding; ss is nil if it does not decrypt or was not minted by this
// Manager (another process, before a restart).
func (s *Session) decrypt(identity []byte, cs tls.ConnectionState) (*tls.SessionState, binding) {
	ss, err := s.m.ticketKeys.DecryptTicket(identity, cs)
	if err != nil || ss == nil {
		return nil, binding{}
	}
	b, ok := bindingOf(ss)
	if !ok || b.nonce != s.m.nonce {
		return nil, binding{}
	}
	return ss, b
}

// judge decides whether a ticket with binding b may bind a data connection
// of this session: nil, or the *BindError to report. It may wait (until
// deadline or ctx ends) for a sibling session that is still logging in.
func (s *Session) judge(ctx context.Context, b binding, deadline time.Time) error {
	if b.kind == kindVoid {
		return ErrVoidTicket
	}
	if s.closed.Load() {
		return ErrForeignSession
	}
	if b.session == s.tok {
		return nil
	}
	if s.m.binding == BindingSession {
		return ErrForeignSession
	}
	myUser, myAddr := s.m.reg.identity(s.rec)
	if myUser == "" {
		return ErrForeignSession // no data connections before login anyway
	}
	user, addr := b.user, b.addr
	if b.kind == kindSession {
		var known bool
		if user, addr, known = s.m.reg.lookup(ctx, b.session, deadline); !known {
			return ErrForeignSession
		}
	}
	switch {
	case addr != myAddr:
		return ErrOtherAddress
	case user != myUser:
		return ErrOtherUser
	}
	return nil
}
