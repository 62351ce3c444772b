package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pires/go-proxyproto"
)

const (
	// proxyHeaderTimeout bounds how long a trusted proxy may take to send
	// its PROXY header.
	proxyHeaderTimeout = 5 * time.Second
	// maxPendingProxyHeaders bounds the connections whose header is being
	// read at once.
	maxPendingProxyHeaders = 1024
)

// proxyListener accepts connections only from trusted proxies, requires a
// PROXY (v1 or v2) header from each, and reads that header in its own
// goroutine, so a slow or silent proxy connection never stalls the
// gateway's accept loop. Connections from any other peer are closed at
// once; connections whose header is missing or invalid are closed too.
// The connections it returns report the original client as RemoteAddr.
type proxyListener struct {
	inner    net.Listener
	pl       *proxyproto.Listener
	trusted  []netip.Prefix
	log      hclog.Logger
	onReject func() // counts a refused connection

	results chan acceptResult
	done    chan struct{}
	once    sync.Once
	sem     chan struct{}

	wg      sync.WaitGroup // the accept loop and every header reader
	mu      sync.Mutex
	pending map[net.Conn]struct{} // connections still reading their header; guarded by mu
	closed  bool                  // guarded by mu
}

type acceptResult struct {
	c   net.Conn
	err error
}

func newProxyListener(ln net.Listener, trusted []netip.Prefix, log hclog.Logger, onReject func()) *proxyListener {
	p := &proxyListener{
		inner:    ln,
		trusted:  trusted,
		log:      log,
		onReject: onReject,
		results:  make(chan acceptResult),
		done:     make(chan struct{}),
		sem:      make(chan struct{}, maxPendingProxyHeaders),
		pending:  make(map[net.Conn]struct{}),
	}
	p.pl = &proxyproto.Listener{
		Listener:          ln,
		ConnPolicy:        p.policy,
		ReadHeaderTimeout: proxyHeaderTimeout,
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p
}

// policy requires a header from trusted proxies and drops everyone else;
// the error wraps ErrInvalidUpstream so Accept keeps listening.
func (p *proxyListener) policy(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
	a := addrOf(o.Upstream)
	if containsAddr(p.trusted, a) {
		return proxyproto.REQUIRE, nil
	}
	p.onReject()
	p.log.Info("connection refused", "remote_addr", a, "reason", "untrusted_proxy")
	return proxyproto.REJECT, fmt.Errorf("%w: %s", proxyproto.ErrInvalidUpstream, a)
}

func (p *proxyListener) acceptLoop() {
	defer p.wg.Done()
	var backoff time.Duration
	for {
		c, err := p.pl.Accept()
		if err != nil {
			var ne net.Error
			if !errors.Is(err, net.ErrClosed) && (errors.As(err, &ne) && ne.Timeout()) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			select {
			case p.results <- acceptResult{err: err}:
			case <-p.done:
			}
			return
		}
		backoff = 0
		select {
		case p.sem <- struct{}{}:
		default:
			p.onReject()
			p.log.Warn("connection refused", "reason", "too_many_pending_proxy_headers")
			c.Close()
			continue
		}
		if !p.track(c) {
			<-p.sem
			c.Close()
			continue // closed meanwhile: the next Accept fails
		}
		p.wg.Add(1)
		go p.readHeader(c)
	}
}

// track records c as reading its header, unless the listener is closed.
func (p *proxyListener) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.pending[c] = struct{}{}
	return true
}

func (p *proxyListener) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, c)
}

// readHeader reads c's PROXY header (RemoteAddr does, bounded by the
// header timeout) and hands c to Accept.
func (p *proxyListener) readHeader(c net.Conn) {
	defer p.wg.Done()
	defer func() { <-p.sem }()
	_ = c.RemoteAddr() // reads the header
	p.untrack(c)
	if pc, ok := c.(*proxyproto.Conn); ok && (pc.ProxyHeader() == nil || !inetSource(c)) {
		// No header, or one naming no IP client (AF_UNIX): such a session
		// would have no address for bans, limits and deny_from.
		p.onReject()
		p.log.Info("connection refused", "proxy", addrOf(pc.Raw().RemoteAddr()), "reason", "bad_proxy_header")
		c.Close()
		return
	}
	if pc, ok := c.(*proxyproto.Conn); ok {
		// The header's destination is the proxy's frontend address; the
		// gateway binds passive listeners to the connection's local
		// address, which must be this host's own.
		c = localConn{Conn: c, local: pc.Raw().LocalAddr()}
	}
	select {
	case p.results <- acceptResult{c: c}:
	case <-p.done:
		c.Close()
	}
}

// localConn reports the real local address of a proxied connection, while
// RemoteAddr still reports the client named by the PROXY header.
type localConn struct {
	net.Conn
	local net.Addr
}

func (c localConn) LocalAddr() net.Addr { return c.local }

// Accept returns the next connection whose PROXY header has been read.
func (p *proxyListener) Accept() (net.Conn, error) {
	select {
	case r := <-p.results:
		return r.c, r.err
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the connections still reading their
// header, and returns once the accept loop and every header reader have
// ended.
func (p *proxyListener) Close() error {
	err := net.ErrClosed
	p.once.Do(func() {
		close(p.done)
		err = p.inner.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.pending {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return err
}

// Addr is the listening address.
func (p *proxyListener) Addr() net.Addr { return p.inner.Addr() }

// inetSource reports whether a proxied connection's client, as its header
// names it, is an IP address.
func inetSource(c net.Conn) bool {
	_, ok := c.RemoteAddr().(*net.TCPAddr)
	return ok && addrOf(c.RemoteAddr()).IsValid()
}

// addrOf returns the IP of a TCP address, IPv4-mapped addresses unmapped.
func addrOf(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort().Addr().Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// dataConnWrapper is gateway.Config.DataConnWrapper behind trusted
// proxies. A passive data connection from a trusted proxy (HAProxy
// forwarding the passive range with send-proxy) must start with a PROXY
// header, whose source then stands for the client in the gateway's
// data-channel IP check; a connection from anyone else is a client
// connecting straight to the gateway and is returned unchanged.
func dataConnWrapper(trusted []netip.Prefix) func(net.Conn) (net.Conn, error) {
	return func(c net.Conn) (net.Conn, error) {
		peer := addrOf(c.RemoteAddr())
		if !containsAddr(trusted, peer) {
			return c, nil
		}
		pc := proxyproto.NewConn(c, proxyproto.WithPolicy(proxyproto.REQUIRE), proxyproto.SetReadHeaderTimeout(proxyHeaderTimeout))
		_ = pc.RemoteAddr() // reads the header, bounded by the timeout
		if pc.ProxyHeader() == nil || !inetSource(pc) {
			return nil, fmt.Errorf("data connection from trusted proxy %s without a valid PROXY header", peer)
		}
		return localConn{Conn: pc, local: c.LocalAddr()}, nil
	}
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
