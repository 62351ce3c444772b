package tlsmgr

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"time"
)

// extSessionTicket is the TLS session_ticket extension (RFC 5077).
const extSessionTicket = 35

// Data returns the server side of one data connection over conn and the
// check to call once its handshake has succeeded. upload says the client
// will only write on it.
//
// The handshake resumes a ticket only if this session may use it (see
// judge), so DidResume means bound; check returns nil for a bound
// connection, else a *BindError saying why not. New tickets are bound to
// this session only on a bound connection; a full handshake gets a void
// ticket, so a client that was refused cannot obtain a ticket of this
// session. A TLS 1.3 upload that made a full handshake gets no ticket at
// all: such a client keeps no session cache, may never read on the
// connection, and closing a socket with unread data turns the close into a
// TCP reset that loses the tail of the upload. A resumed TLS 1.3 upload
// does get its ticket: clients that use each ticket once (curl) need it for
// the next data connection, and the clients that resume read it (curl
// reads before its close_notify, OpenSSL and GnuTLS clients in their
// bidirectional shutdown, Go with the handshake's last flight).
func (s *Session) Data(conn net.Conn, upload bool) (*tls.Conn, func() error) {
	d := &dataConn{s: s, upload: upload, ctx: context.Background()}
	c := policyConfig(s.m.minVersion)
	c.GetConfigForClient = d.hello
	c.GetCertificate = d.certificate
	c.UnwrapSession = d.unwrap
	c.WrapSession = d.wrap
	c.VerifyConnection = d.verify
	d.cfg = c
	d.tc = tls.Server(conn, c)
	return d.tc, d.check
}

// dataConn is the state of one data handshake. Its hooks all run on the
// handshake's goroutine, and check runs after the handshake, so it needs
// no lock.
type dataConn struct {
	s      *Session
	upload bool
	cfg    *tls.Config // this connection's own config, see noTickets
	tc     *tls.Conn

	ctx       context.Context // the handshake's, from the ClientHelloInfo
	deadline  time.Time       // for waiting on a sibling's login
	ticketExt bool            // the ClientHello carried session_ticket
	declined  error           // why an offered ticket was not resumed
	done      bool            // VerifyConnection ran: the state is ours
}

func (d *dataConn) hello(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	d.ctx = hello.Context()
	d.deadline = time.Now().Add(bindWait)
	if dl, ok := d.ctx.Deadline(); ok && dl.Before(d.deadline) {
		d.deadline = dl
	}
	d.ticketExt = slices.Contains(hello.Extensions, extSessionTicket)
	return nil, d.s.m.checkHello(hello, d.s.hostName())
}

func (d *dataConn) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	// Under TLS 1.3 GetCertificate runs only for a full handshake, after
	// the resumption attempt; the server prefers 1.3 whenever the client
	// offers it, so this is how a 1.3 full handshake is recognised here.
	// (Under TLS 1.2 it runs before the resumption attempt, and tickets
	// arrive within the handshake, which every client reads.)
	if d.upload && slices.Contains(hello.SupportedVersions, tls.VersionTLS13) {
		d.noTickets()
	}
	return d.s.m.getCertificate(hello, d.s.hostName())
}

// noTickets keeps a TLS 1.3 full handshake from sending a
// NewSessionTicket. crypto/tls reads SessionTicketsDisabled on this
// connection's own config when it is about to send one, after the
// resumption attempt (which the field would also turn off); the config
// is never shared, and the hooks run on the handshake's goroutine.
// TestDataUploadTickets pins this behaviour.
func (d *dataConn) noTickets() {
	d.cfg.SessionTicketsDisabled = true
}

func (d *dataConn) unwrap(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	if len(identity) == 0 {
		return nil, nil // TLS 1.2 asks even when the client offered no ticket
	}
	ss, b := d.s.decrypt(identity, cs)
	if ss == nil {
		d.decline(ErrUnknownTicket)
		return nil, nil
	}
	if err := d.s.judge(d.ctx, b, d.deadline); err != nil {
		d.decline(err)
		return nil, nil
	}
	return ss, nil
}

// decline remembers the most telling reason an offered ticket was refused.
func (d *dataConn) decline(err error) {
	if d.declined == nil || d.declined.(*BindError).reason == "no_resume" {
		d.declined = err
	}
}

func (d *dataConn) wrap(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	b := binding{nonce: d.s.m.nonce, kind: kindVoid}
	if cs.DidResume { // only tickets judge accepted are ever resumed
		b = d.s.mintBinding()
	}
	return d.s.wrap(cs, ss, b)
}

func (d *dataConn) verify(tls.ConnectionState) error {
	d.done = true
	return nil // the gateway decides; check reports
}

// check reports whether the finished handshake is bound: nil, or a
// *BindError.
func (d *dataConn) check() error {
	cs := d.tc.ConnectionState()
	switch {
	case !cs.HandshakeComplete || !d.done:
		return ErrNotResumed
	case cs.DidResume:
		return nil
	case d.declined != nil:
		return d.declined
	case cs.Version == tls.VersionTLS12 && !d.ticketExt:
		// Such a client (curl with OpenSSL) resumes TLS 1.2 by session id
		// only. Go's server sends an empty session id, so the client then
		// offers none either: it cannot resume here at all.
		return ErrSessionIDOnly
	}
	return ErrNotResumed
}

// hostName is the HOST name given to Control, or "".
func (s *Session) hostName() string {
	if h := s.host.Load(); h != nil {
		return *h
	}
	return ""
}
