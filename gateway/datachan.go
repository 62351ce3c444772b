package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/pasv"
)

// dataSetup is what PASV/EPSV or PORT/EPRT prepared for the next transfer.
type dataSetup struct {
	ln     net.Listener   // passive: our listener inside port_range
	active netip.AddrPort // active: the client's address to dial
	// expire closes an unused passive listener after data_timeout, so a
	// client that sends EPSV and nothing else cannot pin a port.
	expire *time.Timer
}

func (d *dataSetup) close() {
	if d == nil {
		return
	}
	if d.expire != nil {
		d.expire.Stop()
	}
	if d.ln != nil {
		d.ln.Close()
	}
}

// claim is called when a transfer takes the setup: the expiry no longer
// applies (connectData has its own deadline). If the expiry already
// fired, the listener is closed and the accept fails with 425.
func (d *dataSetup) claim() {
	if d.expire != nil {
		d.expire.Stop()
	}
}

// closeData drops a prepared data connection, releasing its port.
func (s *session) closeData() {
	if s.data != nil {
		s.data.close()
		s.data = nil
		s.srv.obs.PassivePorts(s.srv.pasv.InUse())
	}
}

// announceAddr is the address PASV/EPSV tell the client to connect to.
func (s *session) announceAddr() netip.Addr {
	for _, af := range s.srv.cfg.AddressFor {
		if af.Network.Contains(s.client) {
			return af.Address
		}
	}
	if s.srv.cfg.PublicAddress.IsValid() {
		return s.srv.cfg.PublicAddress
	}
	return s.local
}

// listenPassive opens a listener inside port_range on the control
// connection's local address (never the wildcard address).
func (s *session) listenPassive() (net.Listener, error) {
	s.closeData()
	key := s.ident.User + "\x00" + s.client.String()
	if !s.srv.holdPassive(key) {
		s.log.Warn("passive port refused", "reason", "too_many_held_by_client", "max", s.srv.cfg.MaxPassivePerClient)
		return nil, errPassiveHeld
	}
	inner, err := s.srv.pasv.Listen(func(port int) (net.Listener, error) {
		return listenPassivePort(netip.AddrPortFrom(s.local, uint16(port)))
	})
	var ln net.Listener
	if err == nil {
		ln = &heldListener{Listener: inner, release: func() { s.srv.releasePassive(key) }}
	} else {
		s.srv.releasePassive(key)
	}
	if err != nil {
		if errors.Is(err, pasv.ErrExhausted) {
			s.srv.obs.PassiveExhausted()
			s.log.Warn("passive ports exhausted", "range", fmt.Sprintf("%d-%d", s.srv.cfg.PassivePortMin, s.srv.cfg.PassivePortMax))
		}
		return nil, err
	}
	pasvAlloc, obs := s.srv.pasv, s.srv.obs
	s.data = &dataSetup{ln: ln, expire: time.AfterFunc(s.srv.cfg.DataTimeout, func() {
		ln.Close()
		obs.PassivePorts(pasvAlloc.InUse())
	})}
	obs.PassivePorts(pasvAlloc.InUse())
	return ln, nil
}

// plainTCP listens on plain TCP. Go listens with Multipath TCP by
// default where the kernel offers it; a client could then join subflows
// from addresses that the address checks (allowlists, bans, the data
// connection's same-address rule) never saw, and each listen costs the
// kernel more (a listen and close took 11.6 against 7.8 µs here).
var plainTCP = func() *net.ListenConfig {
	lc := new(net.ListenConfig)
	lc.SetMultipathTCP(false)
	return lc
}()

// ListenTCP opens a plain TCP listener on address (host:port): the
// gateway's control listeners and each passive port.
func ListenTCP(address string) (net.Listener, error) {
	return plainTCP.Listen(context.Background(), "tcp", address)
}

// listenPassivePort opens the listener of one passive port.
func listenPassivePort(ap netip.AddrPort) (net.Listener, error) {
	return ListenTCP(ap.String())
}

// heldListener counts a passive listener against its user and client
// address until it is closed.
type heldListener struct {
	net.Listener
	once    sync.Once
	release func()
}

func (l *heldListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.release)
	return err
}

// passivePort opens a passive listener and returns its port; on failure it
// has answered 425 already.
func (s *session) passivePort() (int, bool) {
	ln, err := s.listenPassive()
	if err != nil {
		s.fail(err)
		return 0, false
	}
	return ln.Addr().(*net.TCPAddr).Port, true
}

func (s *session) cmdPASV(req request) {
	if s.epsvAll {
		s.replyR(replyEpsvAllEffect)
		return
	}
	ann := s.announceAddr().Unmap()
	if !ann.Is4() {
		s.replyR(replyUseEPSV)
		return
	}
	port, ok := s.passivePort()
	if !ok {
		return
	}
	a := ann.As4()
	s.reply(227, fmt.Sprintf("Entering Passive Mode (%d,%d,%d,%d,%d,%d).", a[0], a[1], a[2], a[3], port>>8, port&0xff))
}

func (s *session) cmdEPSV(req request) {
	arg := strings.ToUpper(strings.TrimSpace(req.arg))
	switch arg {
	case "ALL":
		s.epsvAll = true
		s.replyR(replyEpsvAllOk)
		return
	case "", "1", "2":
	default:
		s.replyR(replyUnknownEpsvArgument)
		return
	}
	is4 := s.local.Unmap().Is4()
	if (arg == "1" && !is4) || (arg == "2" && is4) {
		if is4 {
			s.replyR(replyUseIPv4)
		} else {
			s.replyR(replyUseIPv6)
		}
		return
	}
	port, ok := s.passivePort()
	if !ok {
		return
	}
	s.reply(229, fmt.Sprintf("Entering Extended Passive Mode (|||%d|).", port))
}

func (s *session) cmdPORT(req request) {
	ap, err := parsePORT(req.arg)
	if err != nil {
		s.replyR(replySyntaxErrorPort)
		return
	}
	s.setActive(ap)
}

func (s *session) cmdEPRT(req request) {
	ap, err := parseEPRT(req.arg)
	if err != nil {
		s.replyR(replySyntaxErrorEprt)
		return
	}
	s.setActive(ap)
}

// setActive accepts an active-mode target only when active mode is on,
// the address is the client's own and the port is not privileged.
func (s *session) setActive(ap netip.AddrPort) {
	switch {
	case s.epsvAll:
		s.replyR(replyEpsvAllEffect)
		return
	case !s.srv.cfg.ActiveEnabled:
		s.srv.obs.DataRefused(DataActiveDenied)
		s.replyR(replyActiveModeDisabled)
		return
	case ap.Addr().Unmap() != s.client || ap.Port() < 1024:
		s.srv.obs.DataRefused(DataActiveDenied)
		s.log.Warn("active data address refused", "target", ap.String())
		s.replyR(replyActiveModeOnly)
		return
	}
	s.closeData()
	s.data = &dataSetup{active: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
	s.replyR(replyPortCommandSuccessful)
}

// parsePORT parses "h1,h2,h3,h4,p1,p2".
func parsePORT(arg string) (netip.AddrPort, error) {
	parts := strings.Split(strings.TrimSpace(arg), ",")
	if len(parts) != 6 {
		return netip.AddrPort{}, errors.New("port: want 6 numbers")
	}
	var b [6]byte
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("port: %w", err)
		}
		b[i] = byte(n)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), uint16(b[4])<<8|uint16(b[5])), nil
}

// parseEPRT parses "|proto|addr|port|" with any delimiter in 33..126.
func parseEPRT(arg string) (netip.AddrPort, error) {
	arg = strings.TrimSpace(arg)
	if len(arg) < 7 || arg[0] < 33 || arg[0] > 126 {
		return netip.AddrPort{}, errors.New("eprt: malformed")
	}
	f := strings.Split(arg[1:], string(arg[0]))
	if len(f) != 4 || f[3] != "" {
		return netip.AddrPort{}, errors.New("eprt: want |proto|addr|port|")
	}
	ip, err := netip.ParseAddr(f[1])
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, errors.New("eprt: bad address")
	}
	if (f[0] == "1") != ip.Is4() || (f[0] != "1" && f[0] != "2") {
		return netip.AddrPort{}, errors.New("eprt: protocol does not match address")
	}
	port, err := strconv.ParseUint(f[2], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, errors.New("eprt: bad port")
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// checkDataAllowed refuses a transfer before anything is opened: no data
// setup, or clear data where encryption is required.
func (s *session) checkDataAllowed() error {
	if s.data == nil {
		return errNoPassive
	}
	if !s.protP && !s.srv.cfg.AllowClearData {
		s.srv.obs.DataRefused(DataProtClear)
		s.log.Info("data connection refused", "reason", DataProtClear)
		return errProtClear
	}
	return nil
}

// openData establishes the data connection prepared by setup: accept
// (dropping peers other than the control client) or dial, then the TLS
// handshake and the session-binding check.
//
// ended reports, once the TLS stream has ended, whether it ended with the
// client's close_notify: crypto/tls returns the same io.EOF when the TCP
// stream is cut, so the raw connection is watched underneath. A clear
// (PROT C) connection cannot tell and always reports nil.
func (s *session) openData(ctx context.Context, setup *dataSetup, protP bool) (data net.Conn, ver uint16, ended func() error, err error) {
	deadline := time.Now().Add(s.srv.cfg.DataTimeout)
	if setup.ln != nil {
		defer func() {
			setup.ln.Close() // the port goes back to the pool as soon as we have the connection
			s.srv.obs.PassivePorts(s.srv.pasv.InUse())
		}()
	}
	var refused error // why the last connection from the client's address was dropped
	for {
		c, err := s.connectData(ctx, setup, deadline)
		if err != nil {
			if refused != nil && ctx.Err() == nil {
				return nil, 0, nil, refused // the client's own connection was the refused one
			}
			return nil, 0, nil, err
		}
		if !protP {
			return c, 0, func() error { return nil }, nil
		}
		tc, ver, ended, err := s.secureData(ctx, c, deadline)
		if err == nil || setup.ln == nil {
			return tc, ver, ended, err
		}
		// Passive: another connection from the same address (another
		// session, another user behind one NAT) must not cost the owner
		// its transfer. Drop it and go on accepting until data_timeout,
		// as for a foreign address.
		refused = err
		s.log.Info("data connection dropped, still accepting until data_timeout", "error", err)
	}
}

// secureData runs the data connection's TLS handshake and the
// session-binding check.
func (s *session) secureData(ctx context.Context, c net.Conn, deadline time.Time) (net.Conn, uint16, func() error, error) {
	raw := &eofConn{Conn: c}
	tc, check := s.tls.Data(raw, s.uploading())
	// The handshake has tlsHandshakeTimeout, and no more than that past
	// data_timeout's deadline; ABOR (ctx) closes the connection. A
	// deadline and an AfterFunc cost a small transfer less than the two
	// timer contexts and the watching goroutine of HandshakeContext.
	hd := time.Now().Add(tlsHandshakeTimeout)
	if late := deadline.Add(tlsHandshakeTimeout); late.Before(hd) {
		hd = late
	}
	c.SetDeadline(hd)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err := tc.Handshake()
	if !stop() {
		err = ctx.Err() // the connection is closed, as HandshakeContext answered
	}
	if err == nil {
		c.SetDeadline(time.Time{}) // the transfer sets its own, per I/O
	}
	cs := tc.ConnectionState()
	s.srv.obs.TLSHandshake(ChannelData, cs.Version, err)
	if err != nil {
		s.srv.obs.DataRefused(DataTLSFailed)
		s.log.Info("data tls handshake failed", "error", err)
		c.Close()
		return nil, 0, nil, fmt.Errorf("%w: %w", errDataConn, err)
	}
	if err := s.bindingVerdict(check()); err != nil {
		tc.Close()
		return nil, 0, nil, err
	}
	ended := func() error {
		if !raw.eof.Load() {
			return nil
		}
		if inPrefixes(s.srv.cfg.CloseNotifyExemptFrom, s.client) {
			s.srv.obs.UnclosedUploadAccepted()
			s.log.Warn("upload ended without tls close_notify, kept (close_notify_exempt_from)")
			return nil
		}
		return errTruncated
	}
	return tc, cs.Version, ended, nil
}

// bindingVerdict applies the reuse mode to the binding check's result:
// nil to accept the connection (bound, observed, exempt or not checked),
// else the error that refuses it (522).
func (s *session) bindingVerdict(unbound error) error {
	if unbound == nil || s.srv.cfg.SessionReuse == ReuseOff {
		return nil
	}
	reason := unboundReason(unbound)
	kv := []any{"binding", reason, "error", unbound}
	var h interface{ Hint() string }
	if errors.As(unbound, &h) && h.Hint() != "" {
		kv = append(kv, "hint", h.Hint())
	}
	switch {
	case s.srv.cfg.SessionReuse == ReuseObserve:
		s.srv.obs.DataUnbound(reason)
		s.log.Warn("data connection not bound to its session, accepted (observe mode)", kv...)
		return nil
	case inPrefixes(s.srv.cfg.ReuseExemptFrom, s.client):
		s.srv.obs.DataUnbound(reason)
		s.log.Warn("data connection not bound to its session, accepted (reuse_exempt_from)", kv...)
		return nil
	case s.ident != nil && s.ident.ReuseExempt:
		s.srv.obs.DataUnbound(reason)
		s.log.Warn("data connection not bound to its session, accepted (session_reuse = observe for the user or a group)", kv...)
		return nil
	}
	s.srv.obs.DataRefused(DataNoReuse)
	s.log.Warn("data connection refused", append([]any{"reason", DataNoReuse}, kv...)...)
	return fmt.Errorf("%w: %w", errNotResumed, unbound)
}

// unboundReason maps the TLS provider's error to its reason, a member of
// the closed set (anything unexpected counts as no_resume).
func unboundReason(err error) UnboundReason {
	var r interface{ Reason() string }
	if errors.As(err, &r) {
		switch v := UnboundReason(r.Reason()); v {
		case UnboundNoResume, UnboundOtherSession, UnboundOtherUser, UnboundOtherAddress:
			return v
		}
	}
	return UnboundNoResume
}

// uploading reports whether the transfer in flight, which is opening its
// data connection, is an upload: the client will only write on it.
func (s *session) uploading() bool {
	s.xmu.Lock()
	defer s.xmu.Unlock()
	return s.xfer != nil && s.xfer.dir == Upload
}

// inPrefixes reports whether addr is inside one of ps.
func inPrefixes(ps []netip.Prefix, addr netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// eofConn records whether the peer closed the TCP stream. The TLS layer
// stops reading at a close_notify, so a raw EOF seen by the time the TLS
// stream ends means it ended without one: truncated.
type eofConn struct {
	net.Conn
	eof atomic.Bool
}

func (c *eofConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, io.EOF) {
		c.eof.Store(true)
	}
	return n, err
}

// connectData dials the active target or accepts on the passive
// listener until deadline, dropping connections from other addresses.
// The caller closes the listener.
func (s *session) connectData(ctx context.Context, setup *dataSetup, deadline time.Time) (net.Conn, error) {
	if setup.ln == nil {
		d := net.Dialer{Deadline: deadline, LocalAddr: &net.TCPAddr{IP: s.local.AsSlice()}}
		c, err := d.DialContext(ctx, "tcp", setup.active.String())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errDataConn, err)
		}
		return c, nil
	}
	// data_timeout bounds the wait: the listener is closed at the deadline
	// (or on ABOR), which ends Accept.
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	stop := context.AfterFunc(actx, func() { setup.ln.Close() })
	defer stop()
	for {
		c, err := setup.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", errAborted, ctx.Err())
			}
			return nil, fmt.Errorf("%w: no data connection within %s: %w", errDataConn, s.srv.cfg.DataTimeout, err)
		}
		if wrap := s.srv.cfg.DataConnWrapper; wrap != nil {
			wc, err := wrap(c)
			if err != nil {
				s.srv.obs.DataRefused(DataWrongIP)
				s.log.Warn("data connection dropped", "peer", addrOf(c.RemoteAddr()).String(), "error", err)
				c.Close()
				continue
			}
			c = wc
		}
		if peer := addrOf(c.RemoteAddr()); peer != s.client {
			// A port thief: drop it before any TLS and keep waiting for
			// the real client until the deadline.
			s.srv.obs.DataRefused(DataWrongIP)
			s.log.Warn("data connection from foreign address dropped", "peer", peer.String())
			c.Close()
			continue
		}
		return c, nil
	}
}
