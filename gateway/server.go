package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/pasv"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("gateway: server closed")

// Server is an FTPS gateway. Create it with New; serve listeners with
// Serve (explicit FTPS) and ServeImplicit; stop it with Shutdown or Close.
type Server struct {
	cfg  Config
	log  hclog.Logger
	obs  Observer
	pasv *pasv.Allocator

	hashes hashState // HASH cache and computation slots (hashcache.go)

	// loginFailDelay is the base delay before a failed login's 530; tests
	// shorten it through ForTest.
	loginFailDelay time.Duration

	inShutdown atomic.Bool
	nextID     atomic.Uint64

	mu        sync.Mutex // guards the fields below
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	perIP     map[netip.Addr]int
	preauth   int                // sessions not logged in
	preIP     map[netip.Addr]int // the same per client address
	pasvHeld  map[string]int     // passive ports held per user and client address
	perUser   map[string]int

	wg sync.WaitGroup // one per session
}

// New validates cfg, applies its defaults and returns a server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &Server{
		cfg:            cfg,
		log:            cfg.Logger,
		obs:            cfg.Observer,
		pasv:           pasv.New(cfg.PassivePortMin, cfg.PassivePortMax),
		loginFailDelay: time.Second,
		listeners:      make(map[net.Listener]struct{}),
		sessions:       make(map[*session]struct{}),
		perIP:          make(map[netip.Addr]int),
		preIP:          make(map[netip.Addr]int),
		pasvHeld:       make(map[string]int),
		perUser:        make(map[string]int),
	}
	return s, nil
}

// Serve accepts explicit-FTPS control connections (plain TCP upgraded by
// AUTH TLS) on ln until Shutdown or Close; it then returns ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeImplicit accepts implicit-FTPS connections: TLS from the first byte.
func (s *Server) ServeImplicit(ln net.Listener) error { return s.serve(ln, true) }

func (s *Server) serve(ln net.Listener, implicit bool) error {
	if !s.trackListener(ln, true) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.trackListener(ln, false)
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = nextBackoff(backoff)
				s.log.Warn("accept failed, retrying", "error", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		s.accept(c, implicit)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	if d *= 2; d > time.Second {
		d = time.Second
	}
	return d
}

// accept applies the cheap checks (ban, network rules, limits) before any
// TLS work and starts the session goroutine.
func (s *Server) accept(c net.Conn, implicit bool) {
	client := addrOf(c.RemoteAddr())
	if ok, _ := s.cfg.Defender.Banned(client); ok {
		s.obs.ConnRejected(RejectBan)
		s.log.Info("connection refused", "remote_addr", client, "reason", RejectBan)
		c.Close()
		return
	}
	if d := s.cfg.Policy().CheckConn(client); !d.Allowed {
		s.obs.ConnRejected(RejectNetwork)
		s.log.Info("connection refused", "remote_addr", client, "reason", RejectNetwork, "rule", d.Reason)
		c.Close()
		return
	}
	sess, reason := s.newSession(c, client, implicit)
	if sess == nil {
		s.obs.ConnRejected(reason)
		s.log.Info("connection refused", "remote_addr", client, "reason", reason)
		if reason == RejectLimit {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			newReplyWriter(c).write(replyTooManyConns.code, replyTooManyConns.text)
		}
		c.Close()
		return
	}
	s.obs.ConnAccepted()
	go sess.serve()
}

// newSession registers a session if the limits allow it.
func (s *Server) newSession(c net.Conn, client netip.Addr, implicit bool) (*session, RejectReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return nil, RejectShutdown
	}
	if len(s.sessions) >= s.cfg.MaxSessions || s.perIP[client] >= s.cfg.MaxSessionsPerIP ||
		s.preauth >= s.cfg.MaxPreauth || s.preIP[client] >= s.cfg.MaxPreauthPerIP {
		return nil, RejectLimit
	}
	sess := newSession(s, c, client, implicit, s.newID())
	s.sessions[sess] = struct{}{}
	s.perIP[client]++
	s.setPreauthLocked(sess, true)
	s.wg.Add(1)
	return sess, ""
}

// newID returns a session id unique for the process lifetime and hard to
// guess (it also goes into TLS tickets).
func (s *Server) newID() string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%s", s.nextID.Add(1), hex.EncodeToString(b[:]))
}

// removeSession forgets a finished session.
func (s *Server) removeSession(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	if s.perIP[sess.client]--; s.perIP[sess.client] <= 0 {
		delete(s.perIP, sess.client)
	}
	s.setPreauthLocked(sess, false)
	if sess.counted != "" {
		if s.perUser[sess.counted]--; s.perUser[sess.counted] <= 0 {
			delete(s.perUser, sess.counted)
		}
	}
	s.mu.Unlock()
	s.wg.Done()
}

// holdPassive counts one more passive port held under key (user and
// client address) unless the cap is reached.
func (s *Server) holdPassive(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pasvHeld[key] >= s.cfg.MaxPassivePerClient {
		return false
	}
	s.pasvHeld[key]++
	return true
}

func (s *Server) releasePassive(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pasvHeld[key]--; s.pasvHeld[key] <= 0 {
		delete(s.pasvHeld, key)
	}
}

// setPreauth moves a session into or out of the pre-login count (login
// leaves it, REIN enters it again).
func (s *Server) setPreauth(sess *session, pre bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setPreauthLocked(sess, pre)
}

func (s *Server) setPreauthLocked(sess *session, pre bool) {
	if sess.preauth == pre {
		return
	}
	sess.preauth = pre
	if pre {
		s.preauth++
		s.preIP[sess.client]++
		return
	}
	s.preauth--
	if s.preIP[sess.client]--; s.preIP[sess.client] <= 0 {
		delete(s.preIP, sess.client)
	}
}

// claimUser counts one more session for user unless max (0: unlimited)
// is reached.
func (s *Server) claimUser(user string, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if max > 0 && s.perUser[user] >= max {
		return false
	}
	s.perUser[user]++
	return true
}

func (s *Server) releaseUser(user string) {
	s.mu.Lock()
	if s.perUser[user]--; s.perUser[user] <= 0 {
		delete(s.perUser, user)
	}
	s.mu.Unlock()
}

func (s *Server) trackListener(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShutdown.Load() {
			return false
		}
		s.listeners[ln] = struct{}{}
	} else {
		delete(s.listeners, ln)
	}
	return true
}

// Shutdown stops accepting, tells idle sessions 421 and closes them, lets
// transfers in flight finish, and closes each session as it goes idle. If
// ctx ends first, the remaining sessions are closed and ctx's error is
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShutdown.Store(true)
	s.closeListeners()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() == 0 {
			s.wg.Wait()
			return nil
		}
		select {
		case <-ctx.Done():
			s.closeAll()
			s.wg.Wait()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops everything at once.
func (s *Server) Close() error {
	s.inShutdown.Store(true)
	s.closeListeners()
	s.closeAll()
	s.wg.Wait()
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		ln.Close()
	}
}

// closeIdle closes the sessions without a transfer and returns how many
// sessions remain.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if !sess.busy() {
			sess.shutdownIdle()
		}
	}
	return len(s.sessions)
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		sess.kill()
	}
}

// Sessions returns the number of open control sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// addrOf extracts the IP of a TCP address, unmapping IPv4-in-IPv6.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ForTest exposes knobs for tests only.
func (s *Server) ForTest() TestHooks { return TestHooks{s: s} }

// TestHooks holds test-only knobs; see ForTest.
type TestHooks struct{ s *Server }

// SetLoginFailDelay changes the base delay before a failed login's reply.
func (h TestHooks) SetLoginFailDelay(d time.Duration) { h.s.loginFailDelay = d }
