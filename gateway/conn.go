package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// Internal deadlines not in the config file.
const (
	tlsHandshakeTimeout = 10 * time.Second // control and data handshakes
	writeTimeout        = 30 * time.Second // one reply write
	maxLoginFailures    = 3                // per connection, then closed
)

// session is one control connection. Its fields are owned by the session
// goroutine unless a comment says otherwise. The transfer goroutine
// touches what it was handed, the reply writer (under wmu) and xfer, and
// reads the fields that stay fixed while a transfer runs (srv, id, client,
// log, fs, ident, backend): REIN and QUIT end the transfer before they
// change them.
type session struct {
	srv      *Server
	id       string
	client   netip.Addr
	local    netip.Addr
	log      hclog.Logger
	started  time.Time
	implicit bool

	raw  net.Conn // the TCP connection
	conn net.Conn // raw, or the TLS connection on top of it
	lr   *lineReader

	wmu sync.Mutex // guards rw and every write to conn
	rw  *replyWriter

	state   atomic.Int32 // connState
	closing atomic.Bool  // set by shutdownIdle/kill

	tls      TLSSession
	tlsVer   uint16
	pbsz     bool
	protP    bool
	host     string
	peerCert tls.ConnectionState

	userName string           // from USER, until PASS
	ident    *policy.Identity // after login
	counted  string           // user counted in srv.perUser; read by removeSession after the goroutine ends
	fs       backend.FS
	backend  string
	cwd      vpath
	failures int

	quotaTried time.Time                     // last usage measurement attempt (initQuota)
	preauth    bool                          // counted as not logged in; guarded by srv.mu
	verb       string                        // the command being run, for log lines
	pol        atomic.Pointer[policy.Policy] // the policy snapshot of the command being run
	cmdState   atomic.Int32                  // cmdIdle, cmdRunning or cmdShutdown

	ascii      bool
	restOffset int64
	renameFrom *vpath
	epsvAll    bool
	mlstFacts  map[string]bool
	hashAlgo   hashAlgo   // OPTS HASH selection (zero: SHA-256); REIN resets it
	data       *dataSetup // pending PASV/EPSV listener or PORT target

	xferStarted bool // the last handler started a transfer

	xmu    sync.Mutex // guards xfer and readBy
	xfer   *transfer  // transfer in flight, if any
	readBy time.Time  // the control read deadline armed (zero: none)

	// resumed: the goroutine running the session took it over while it
	// was idle (waitIdle) and has run no command since. waitFirst: it
	// has not waited yet; the one before it found nothing to read.
	resumed, waitFirst bool

	snap sessSnap // admin API view, own mutex (sessions_api.go)
}

// sharedMLSTFacts is every new session's MLST fact selection. Sessions
// share it read-only: OPTS MLST (setMLSTFacts) replaces a session's map,
// it never writes to it, so an idle session holds no map of its own.
var sharedMLSTFacts = defaultMLSTFacts()

func newSession(srv *Server, c net.Conn, client netip.Addr, implicit bool, id string) *session {
	s := &session{
		srv:       srv,
		id:        id,
		client:    client,
		local:     addrOf(c.LocalAddr()),
		started:   time.Now(),
		implicit:  implicit,
		raw:       c,
		conn:      c,
		cwd:       rootPath,
		mlstFacts: sharedMLSTFacts,
	}
	s.log = srv.log.With("conn_id", id, "remote_addr", client.String())
	s.lr = newLineReader(c)
	s.rw = newReplyWriter(c)
	return s
}

func (s *session) getState() connState  { return connState(s.state.Load()) }
func (s *session) setState(c connState) { s.state.Store(int32(c)) }

// busy reports whether a transfer is in flight.
func (s *session) busy() bool {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	return s.xfer != nil
}

// shutdownIdle tells an idle session the server is going away and closes
// it; called by Shutdown with srv.mu held.
func (s *session) shutdownIdle() {
	if !s.cmdState.CompareAndSwap(cmdIdle, cmdShutdown) {
		return // a command is running: the loop shuts down after it
	}
	if s.closing.Swap(true) {
		return
	}
	// Written from its own goroutine (a slow client must not hold srv.mu),
	// which Shutdown and Close wait for with the sessions.
	s.srv.wg.Add(1)
	go func() {
		defer s.srv.wg.Done()
		s.replyR(replyShuttingDown)
		s.raw.Close()
	}()
}

// kill closes the connection now.
func (s *session) kill() {
	s.closing.Store(true)
	s.raw.Close()
	s.xmu.Lock()
	if s.xfer != nil {
		s.xfer.cancel()
	}
	s.xmu.Unlock()
}

// serve runs the session until it ends. A panic ends this session only.
func (s *session) serve() {
	s.srv.obs.SessionOpened()
	s.log.Info("connection opened", "implicit", s.implicit)
	handedOff := false
	defer s.end(&handedOff)
	if s.implicit {
		if err := s.startTLS(); err != nil {
			return
		}
	}
	if s.greet() != nil { // banner_file lines, if any (notices.go)
		return
	}
	handedOff = s.loop(false)
}

// resume runs an idle session on a goroutine of its own, started by
// waitIdle on the one before it.
func (s *session) resume() {
	handedOff := false
	defer s.end(&handedOff)
	s.resumed, s.waitFirst = true, true
	handedOff = s.loop(true)
}

// end closes the session when its goroutine returns, unless the session
// was handed to another goroutine; a panic is logged and answered.
func (s *session) end(handedOff *bool) {
	if v := recover(); v != nil {
		s.log.Error("session panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		s.replyR(replyClosing)
	} else if *handedOff {
		return
	}
	s.finish()
}

// finish releases everything the session holds.
func (s *session) finish() {
	s.abortTransfer()
	s.closeData()
	s.setState(stateClosed)
	s.conn.Close()
	s.raw.Close()
	s.logout()
	if s.tls != nil {
		s.tls.Close()
	}
	s.srv.obs.SessionClosed()
	s.log.Info("connection closed", "duration", time.Since(s.started).Round(time.Millisecond).String())
	s.srv.removeSession(s)
}

// logout closes the backend session and forgets the user.
func (s *session) logout() {
	if s.fs != nil {
		if err := s.fs.Close(); err != nil {
			s.log.Warn("backend close failed", "error", err)
		}
		s.fs = nil
	}
	s.ident = nil
	s.userName = ""
	s.cwd = rootPath
	s.hashAlgo = hashSHA256 // OPTS HASH lasts until REIN (draft-bryan-ftpext-hash-02 §3.2)
}

// loop reads and dispatches commands until the session ends, or until
// waitIdle hands the idle session to a new goroutine (it reports true
// then, and the session is no longer this goroutine's). resumed: the
// read deadline is armed already.
func (s *session) loop(resumed bool) bool {
	for !s.closing.Load() {
		if !resumed {
			s.setReadDeadline()
		}
		resumed = false
		req, err := s.readCommand()
		switch {
		case err == nil:
		case err == errHandOff:
			go s.resume()
			return true
		case errors.Is(err, errBadBytes):
			s.replyR(replyInvalidCharactersCommand)
			continue
		case errors.Is(err, errBadVerb):
			s.replyR(replySyntaxErrorCommand)
			continue
		case errors.Is(err, errLineTooLong):
			s.replyR(replyLineTooLong)
			s.log.Warn("command line too long, closing")
			return false
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.timeout()
			return false
		default:
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !s.closing.Load() {
				s.log.Debug("control read failed", "error", err)
			}
			return false
		}
		if !s.cmdState.CompareAndSwap(cmdIdle, cmdRunning) {
			return false // Shutdown closed the session while the line arrived
		}
		s.resumed = false
		keep := s.dispatch(req)
		s.cmdState.Store(cmdIdle)
		if !keep {
			return false
		}
		if s.srv.inShutdown.Load() && !s.busy() && s.cmdState.CompareAndSwap(cmdIdle, cmdShutdown) {
			// Shutdown spared this session's command; now it ends.
			s.closing.Store(true)
			s.replyR(replyShuttingDown)
			return false
		}
	}
	return false
}

// readCommand reads the next command. Where the line reader only tries
// to read (see parkingReader), the wait for the client happens here, at
// the top of the goroutine's stack.
func (s *session) readCommand() (request, error) {
	if s.waitFirst {
		// Before anything reads through TLS, which would grow the new
		// stack again.
		s.waitFirst = false
		if err := s.lr.park.wait(); err != nil {
			return request{}, err
		}
	}
	for {
		req, err := s.lr.readRequest()
		if err != errWouldWait {
			return req, err
		}
		if err := s.waitIdle(); err != nil {
			return request{}, err
		}
	}
}

// handOffAfter is how long a session waits for its next command on the
// goroutine that ran the last one. Past that, waitIdle hands the wait to
// a new goroutine, whose stack starts at the runtime's minimum, and the
// stack the commands grew is freed.
const handOffAfter = 2 * time.Second

// errHandOff: waitIdle wants the session moved to a new goroutine.
var errHandOff = errors.New("session handed to a new goroutine")

// waitIdle waits until the control socket has something to read or the
// armed read deadline passes. A goroutine that has run commands waits at
// most handOffAfter and then asks for errHandOff.
func (s *session) waitIdle() error {
	handOff := false
	if !s.resumed {
		s.xmu.Lock()
		if t := time.Now().Add(handOffAfter); s.readBy.IsZero() || t.Before(s.readBy) {
			s.conn.SetReadDeadline(t)
			handOff = true
		}
		s.xmu.Unlock()
	}
	err := s.lr.park.wait()
	if !handOff {
		return err
	}
	s.xmu.Lock()
	defer s.xmu.Unlock()
	by := s.readBy
	s.conn.SetReadDeadline(by)
	if errors.Is(err, os.ErrDeadlineExceeded) && (by.IsZero() || time.Now().Before(by)) && !s.closing.Load() {
		return errHandOff
	}
	return err
}

// Command states of a session (cmdState): Shutdown closes a session only
// between commands, so a login or a rename in progress is answered.
const (
	cmdIdle     int32 = iota // waiting for a command
	cmdRunning               // dispatching one
	cmdShutdown              // closed by Shutdown
)

// setReadDeadline arms the deadline for the next command: the login
// deadline before login, none while a transfer runs, else the idle one.
// The transfer check and the deadline are set under xmu, as the transfer
// goroutine sets the idle deadline under xmu when it clears xfer, so the
// idle deadline cannot be lost between the two.
func (s *session) setReadDeadline() {
	cfg := &s.srv.cfg
	s.xmu.Lock()
	defer s.xmu.Unlock()
	switch {
	case s.getState() != stateLoggedIn:
		s.armReadLocked(s.started.Add(cfg.LoginTimeout))
	case s.xfer != nil:
		s.armReadLocked(time.Time{})
	default:
		s.armReadLocked(time.Now().Add(cfg.IdleTimeout))
	}
}

// armReadLocked sets the control read deadline and remembers it for
// restoreReadDeadline; xmu is held.
func (s *session) armReadLocked(t time.Time) {
	s.readBy = t
	s.conn.SetReadDeadline(t)
}

// restoreReadDeadline sets the control read deadline back to the one
// last armed, after parkingReader or waitIdle changed it.
func (s *session) restoreReadDeadline() {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	s.conn.SetReadDeadline(s.readBy)
}

func (s *session) timeout() {
	if s.getState() == stateLoggedIn {
		s.log.Info("idle timeout")
		s.replyR(replyIdleTimeoutClosing)
	} else {
		s.log.Info("login timeout")
		s.replyR(replyLoginTimeoutClosing)
	}
}

// reply writes one line; safe from the transfer goroutine.
func (s *session) reply(code int, text string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.rw.write(code, text)
}

// lastCode is the code of the last reply sent.
func (s *session) lastCode() int {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.rw.last
}

func (s *session) replyR(r reply) error { return s.reply(r.code, r.text) }

func (s *session) replyMulti(code int, first string, body []string, last string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.rw.writeMulti(code, first, body, last)
}

// startTLS runs the control handshake and switches reader and writer to
// the TLS connection.
func (s *session) startTLS() error {
	if s.tls == nil {
		s.tls = s.srv.cfg.TLS.NewSession(s.id)
	}
	tc := tls.Server(s.raw, s.tls.Control(s.host))
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	err := tc.HandshakeContext(ctx)
	cs := tc.ConnectionState()
	s.srv.obs.TLSHandshake(ChannelControl, cs.Version, err)
	if err != nil {
		s.log.Info("control tls handshake failed", "error", err)
		return err
	}
	s.tlsVer = cs.Version
	s.peerCert = cs
	s.wmu.Lock()
	s.conn = tc
	s.rw = newReplyWriter(tc)
	s.wmu.Unlock()
	s.lr = newLineReader(tc)
	s.lr.park = newParkingReader(tc, s.raw, s.restoreReadDeadline)
	s.setState(stateTLS)
	if s.implicit {
		s.pbsz, s.protP = true, true
	}
	s.log.Debug("control tls established", "tls_version", TLSVersionName(cs.Version), "sni", cs.ServerName)
	return nil
}

// opCtx returns a context for one backend operation on the control path,
// bounded by Config.OpTimeout.
func (s *session) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.srv.cfg.OpTimeout)
}
