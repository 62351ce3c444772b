package tlsmgr

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"sync"
	"sync/atomic"
)

// Errors CheckData returns for a data connection that is not bound to its
// FTP session.
var (
	// ErrNotResumed: the data connection made a full handshake (it offered
	// no ticket, or one we could not decrypt, e.g. from before a restart).
	ErrNotResumed = errors.New("tls data connection did not resume a session of its ftp session")
	// ErrForeignSession: the data connection offered a ticket minted in
	// another FTP session (or was handshaken with another session's
	// config).
	ErrForeignSession = errors.New("tls data connection offered a ticket of another ftp session")
)

// bindPrefix starts the SessionState.Extra entry that names the FTP
// session a ticket was minted in; the rest of the entry is the session's
// random token.
var bindPrefix = []byte("ftpsgw-bind-v1:")

// TLSSession is the method set of one FTP session's TLS state, spelled as
// an interface literal so that it is identical to any other package's alias
// of the same literal.
type TLSSession = interface {
	Control(host string) *tls.Config
	Data() *tls.Config
	CheckData(cs tls.ConnectionState) error
	Close()
}

var _ TLSSession = (*Session)(nil)

// Session is one FTP session's TLS state. Every ticket minted on its control
// connection or its data connections carries its random token; its data
// config resumes only tickets carrying that token. It is safe for
// concurrent use.
type Session struct {
	m     *Manager
	id    string // the gateway's session id, kept for debugging
	entry []byte // bindPrefix + token, immutable

	host   atomic.Pointer[string] // HOST name from Control, for data SNI fallback
	closed atomic.Bool

	// Handshake outcomes recorded by the data config's VerifyConnection
	// and consumed by CheckData: resumed connections of this session, and
	// full handshakes that had offered a foreign ticket.
	resumed atomic.Int64
	foreign atomic.Int64

	dataOnce sync.Once
	data     *tls.Config
}

func newSession(m *Manager, id string) *Session {
	token := make([]byte, 16)
	_, _ = rand.Read(token) // crypto/rand.Read never fails
	s := &Session{m: m, id: id}
	s.entry = append(append([]byte(nil), bindPrefix...), token...)
	return s
}

// Control returns the config for the control connection's handshake. host
// is the HOST command's name ("" if none); the client's SNI takes
// precedence. Client certificates are requested as configured. The control
// handshake never resumes a ticket from another FTP session, so client
// certificates are verified afresh against the current CAs.
func (s *Session) Control(host string) *tls.Config {
	if host != "" {
		s.host.Store(&host)
	}
	c := policyConfig(s.m.minVersion)
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return s.m.getCertificate(hello, host)
	}
	if pool := s.m.clientCAs.Load(); pool != nil {
		c.ClientCAs = pool
		c.ClientAuth = s.m.cfg.clientAuth()
	}
	c.WrapSession = s.wrap
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, _ := s.unwrap(identity, cs)
		return ss, nil
	}
	return c
}

// Data returns the config for this session's data connections. It is the
// same value on every call. Its handshakes resume only tickets minted
// within this session and mint new tickets bound to it.
func (s *Session) Data() *tls.Config {
	s.dataOnce.Do(func() {
		c := policyConfig(s.m.minVersion)
		c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			host := ""
			if h := s.host.Load(); h != nil {
				host = *h
			}
			return s.m.getCertificate(hello, host)
		}
		c.WrapSession = s.wrap
		c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			ss, _ := s.unwrap(identity, cs)
			return ss, nil
		}
		c.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.dataConnConfig(c), nil
		}
		s.data = c
	})
	return s.data
}

// dataConnConfig is the config for one data handshake: a clone of base
// whose hooks remember, for this connection only, whether a foreign ticket
// was offered, and report the outcome to the session at the end of the
// handshake.
func (s *Session) dataConnConfig(base *tls.Config) *tls.Config {
	c := base.Clone()
	c.GetConfigForClient = nil
	var offeredForeign atomic.Bool
	c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, foreign := s.unwrap(identity, cs)
		if foreign {
			offeredForeign.Store(true)
		}
		return ss, nil
	}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		switch {
		case cs.DidResume:
			s.resumed.Add(1)
		case offeredForeign.Load():
			s.foreign.Add(1)
		}
		return nil // the gateway decides; we only report
	}
	return c
}

// CheckData reports whether a finished data handshake, made with the
// config from Data, resumed a ticket minted within this FTP session: nil if
// so, else ErrNotResumed or ErrForeignSession. Call it once per data
// connection: each call consumes that handshake's record.
func (s *Session) CheckData(cs tls.ConnectionState) error {
	if !cs.DidResume {
		if takeOne(&s.foreign) {
			return ErrForeignSession
		}
		return ErrNotResumed
	}
	// Data's UnwrapSession only ever resumes this session's tickets, so a
	// resumed handshake is bound, provided it went through our config: the
	// counter proves that and catches a connection state from elsewhere.
	if !takeOne(&s.resumed) {
		return ErrForeignSession
	}
	return nil
}

// Close forgets the session: its tickets are no longer resumed.
func (s *Session) Close() {
	s.closed.Store(true)
}

// wrap binds a ticket to this session: any earlier binding (a resumed
// session carries its old Extra) is replaced by ours, then the state is
// encrypted with the shared ticket keys.
func (s *Session) wrap(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	extra := make([][]byte, 0, len(ss.Extra)+1)
	for _, e := range ss.Extra {
		if !bytes.HasPrefix(e, bindPrefix) {
			extra = append(extra, e)
		}
	}
	ss.Extra = append(extra, s.entry)
	return s.m.ticketKeys.EncryptTicket(cs, ss)
}

// unwrap decrypts a ticket with the shared keys and returns its state only
// if it is bound to this (open) session; foreign reports a ticket that
// decrypted but belongs elsewhere. A nil state makes crypto/tls fall back
// to a full handshake.
func (s *Session) unwrap(identity []byte, cs tls.ConnectionState) (ss *tls.SessionState, foreign bool) {
	ss, err := s.m.ticketKeys.DecryptTicket(identity, cs)
	if err != nil || ss == nil {
		return nil, false
	}
	if s.closed.Load() || !s.owns(ss) {
		return nil, true
	}
	return ss, false
}

// owns reports whether ss carries this session's binding entry.
func (s *Session) owns(ss *tls.SessionState) bool {
	for _, e := range ss.Extra {
		if bytes.HasPrefix(e, bindPrefix) {
			return subtle.ConstantTimeCompare(e, s.entry) == 1
		}
	}
	return false
}

// takeOne decrements n if it is positive and reports whether it did.
func takeOne(n *atomic.Int64) bool {
	for {
		v := n.Load()
		if v <= 0 {
			return false
		}
		if n.CompareAndSwap(v, v-1) {
			return true
		}
	}
}
