package ftpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each command (its write and its reply), the TLS
// handshake and each data connection's dial when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

var (
	// ErrInjected reports bytes the server sent after its 234 and before
	// the TLS handshake: plaintext that would be taken as protected (the
	// CVE-2011-0411 class).
	ErrInjected = errors.New("server sent data before the TLS handshake")
	// ErrBadArgument reports a command argument holding CR, LF or NUL.
	ErrBadArgument = errors.New("command argument holds CR, LF or NUL")
	// ErrNoTLS reports an operation that needs AUTH TLS first.
	ErrNoTLS = errors.New("control connection not encrypted")
)

// Config says how Dial connects. The zero value dials with the default
// timeout and, for AUTH TLS, verifies against the system roots.
type Config struct {
	// TLS is the client configuration for the control connection; data
	// connections use it too, so that they resume its session. Dial
	// clones it, sets ServerName to the host when empty and adds a
	// ClientSessionCache when it has none.
	TLS *tls.Config
	// Timeout bounds each command, handshake and data dial; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Dialer dials the control and data connections; nil means a
	// net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
	// Implicit runs the TLS handshake right after the TCP connect
	// (implicit FTPS, usually port 990): the greeting already comes
	// encrypted and AuthTLS is not used.
	Implicit bool
	// OnCommand, when set, sees each command line as it is sent, without
	// its CRLF; the arguments of PASS and ACCT are replaced by "****".
	OnCommand func(line string)
	// OnReply, when set, sees each reply as it is read.
	OnReply func(Reply)
}

// Conn is one control connection. It is not safe for concurrent use,
// except Close and CloseNow, which may be called at any time.
type Conn struct {
	// Greeting is the server's 220 reply.
	Greeting Reply

	host    string // the host of the address dialed, for EPSV
	peer    net.IP // the control connection's remote IP
	timeout time.Duration
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	tlsConf *tls.Config

	raw   net.Conn  // the TCP connection
	conn  net.Conn  // raw, or the TLS connection over it
	tconn *tls.Conn // nil before AUTH TLS
	rr    *replyReader
	pbsz  bool
	protP bool

	onCommand func(line string)
	onReply   func(Reply)

	mu   sync.Mutex
	bind uint64          // guarded by mu: counts Bind calls, so a late cut is ignored
	ctx  context.Context // guarded by mu: the context of Bind; nil when unbound
	data *Data           // guarded by mu: the open data connection

	closeOnce sync.Once
	closeErr  error
}

// Dial connects to addr ("host:port") and reads the greeting. The
// connection stays in clear until AuthTLS.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := &Conn{host: host, timeout: cfg.Timeout, dial: cfg.Dialer, onCommand: cfg.OnCommand, onReply: cfg.OnReply}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.dial == nil {
		d := &net.Dialer{Timeout: c.timeout}
		c.dial = d.DialContext
	}
	c.tlsConf = &tls.Config{}
	if cfg.TLS != nil {
		c.tlsConf = cfg.TLS.Clone()
	}
	if c.tlsConf.ServerName == "" {
		// Also the session cache's key: without it each data
		// connection (another port) would look like another server.
		c.tlsConf.ServerName = host
	}
	if c.tlsConf.ClientSessionCache == nil {
		c.tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(16)
	}
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	raw, err := c.dial(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c.raw, c.conn = raw, raw
	if ta, ok := raw.RemoteAddr().(*net.TCPAddr); ok {
		c.peer = ta.IP
	}
	c.rr = newReplyReader(raw)
	stop := c.watch(ctx)
	defer stop()
	if cfg.Implicit {
		if err := c.handshake(ctx); err != nil {
			raw.Close()
			return nil, err
		}
	}
	rep, err := c.greeting()
	if err == nil && rep.Code != 220 {
		err = &Error{Cmd: "greeting", Reply: rep}
	}
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	c.Greeting = rep
	return c, nil
}

// greeting reads the server's first reply, after any 120 ("ready in n
// minutes"), each within the timeout.
func (c *Conn) greeting() (Reply, error) {
	for {
		if err := c.arm(c.raw, c.timeout); err != nil {
			return Reply{}, err
		}
		rep, err := c.read()
		if err != nil || rep.Code != 120 {
			return rep, err
		}
	}
}

// read reads one reply and shows it to OnReply.
func (c *Conn) read() (Reply, error) {
	rep, err := c.rr.read()
	if err == nil && c.onReply != nil {
		c.onReply(rep)
	}
	return rep, err
}

// handshake runs the client TLS handshake on the control connection and
// makes later reads and writes go through it.
func (c *Conn) handshake(ctx context.Context) error {
	tc := tls.Client(c.raw, c.tlsConf)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.arm(c.raw, c.timeout); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	c.tconn, c.conn = tc, tc
	c.rr.setTransport(tc)
	return nil
}

// LocalAddr is the control connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// watch closes the connection when ctx ends before the returned stop is
// called, so a blocked read returns.
func (c *Conn) watch(ctx context.Context) (stop func()) {
	s := context.AfterFunc(ctx, func() { c.raw.Close() })
	return func() { s() }
}

// arm gives conn (the control connection or the open data connection)
// the deadline d for its next exchange, unless the context of Bind has
// ended: then it returns that context's error, and nothing is sent or
// waited for. Checking and setting under mu orders it with cut.
func (c *Conn) arm(conn net.Conn, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return err
		}
	}
	conn.SetDeadline(time.Now().Add(d))
	return nil
}

// Bind ties the connection's exchanges to ctx until end is called, for
// a caller that runs several of them per operation: once ctx ends, a
// read or write blocked on the control connection or on the open data
// connection returns at once (its deadline is cut), and every later
// exchange fails with ctx's error without sending anything. Bindings do
// not nest; each exchange keeps its own timeout meanwhile.
func (c *Conn) Bind(ctx context.Context) (end func()) {
	c.mu.Lock()
	c.bind++
	gen := c.bind
	c.ctx = ctx
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.cut(gen) })
	return func() {
		stop()
		c.mu.Lock()
		if c.bind == gen {
			c.ctx = nil
		}
		c.mu.Unlock()
	}
}

// cut makes the connections time out now, unless the binding gen ended.
func (c *Conn) cut(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bind != gen || c.ctx == nil {
		return
	}
	now := time.Now()
	c.raw.SetDeadline(now)
	if c.data != nil {
		c.data.raw.SetDeadline(now)
	}
}

// Context is the context of the current Bind, or context.Background.
func (c *Conn) Context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// Alive reports whether a connection between exchanges can still be
// used: the server has neither sent anything unasked (a 421 before it
// closes) nor closed it. It looks at what is buffered and peeks at the
// socket without blocking (on Unix; elsewhere a close is found by the
// next command).
func (c *Conn) Alive() bool { return c.rr.buffered() == 0 && peekIdle(c.raw) }

// RemoteIP is the control connection's peer address.
func (c *Conn) RemoteIP() net.IP { return c.peer }

// TLSConfig is the configuration the control connection uses (a clone
// of Config.TLS with ServerName and the session cache set); callers may
// clone it for probes of their own.
func (c *Conn) TLSConfig() *tls.Config { return c.tlsConf }

// TLSState returns the control connection's TLS state, and false before
// AuthTLS.
func (c *Conn) TLSState() (tls.ConnectionState, bool) {
	if c.tconn == nil {
		return tls.ConnectionState{}, false
	}
	return c.tconn.ConnectionState(), true
}

// Send writes one command line. Arguments holding CR, LF or NUL are
// refused, so a caller's value cannot become a second command.
func (c *Conn) Send(verb string, args ...string) error {
	line := verb
	if len(args) > 0 {
		line += " " + strings.Join(args, " ")
	}
	if strings.ContainsAny(line, "\r\n\x00") {
		return fmt.Errorf("%s: %w", verb, ErrBadArgument)
	}
	if err := c.arm(c.raw, c.timeout); err != nil {
		return fmt.Errorf("send %s: %w", verb, err)
	}
	if c.onCommand != nil {
		shown := line
		if v := strings.ToUpper(verb); (v == "PASS" || v == "ACCT") && len(args) > 0 {
			shown = verb + " ****"
		}
		c.onCommand(shown)
	}
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return fmt.Errorf("send %s: %w", verb, err)
	}
	return nil
}

// ReadReply reads the next reply.
func (c *Conn) ReadReply() (Reply, error) {
	if err := c.arm(c.raw, c.timeout); err != nil {
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
	rep, err := c.read()
	if err != nil {
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
	return rep, nil
}

// Cmd sends a command and reads its reply, whatever the code.
func (c *Conn) Cmd(verb string, args ...string) (Reply, error) {
	if err := c.Send(verb, args...); err != nil {
		return Reply{}, err
	}
	rep, err := c.ReadReply()
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", verb, err)
	}
	return rep, nil
}

// Expect sends a command and returns an *Error unless the reply has code
// want.
func (c *Conn) Expect(want int, verb string, args ...string) (Reply, error) {
	rep, err := c.Cmd(verb, args...)
	if err != nil {
		return rep, err
	}
	if rep.Code != want {
		return rep, &Error{Cmd: verb, Reply: rep}
	}
	return rep, nil
}

// AuthTLS sends AUTH TLS and runs the TLS handshake (RFC 4217 section
// 4). Bytes buffered after the 234 are refused as an injection.
func (c *Conn) AuthTLS(ctx context.Context) error {
	if c.tconn != nil {
		return errors.New("AUTH TLS: already encrypted")
	}
	if _, err := c.Expect(234, "AUTH", "TLS"); err != nil {
		return err
	}
	if c.rr.buffered() > 0 {
		return ErrInjected
	}
	return c.handshake(ctx)
}

// Login sends USER and, when asked for it, PASS. A refused login is an
// *Error with the server's code (530 for bad credentials).
func (c *Conn) Login(user, password string) error {
	rep, err := c.Cmd("USER", user)
	if err != nil {
		return err
	}
	switch rep.Code {
	case 230:
		return nil
	case 331, 332:
	default:
		return &Error{Cmd: "USER", Reply: rep}
	}
	if err := c.Send("PASS", password); err != nil {
		return errors.New("send PASS: failed") // the line holds the password
	}
	rep, err = c.ReadReply()
	if err != nil {
		return fmt.Errorf("PASS: %w", err)
	}
	if rep.Code != 230 && rep.Code != 202 {
		return &Error{Cmd: "PASS", Reply: rep}
	}
	return nil
}

// Prot sets the data protection level: "P" (TLS, after AuthTLS) or "C"
// (clear). PBSZ 0 is sent first, once.
func (c *Conn) Prot(level string) error {
	if !c.pbsz {
		if _, err := c.Expect(200, "PBSZ", "0"); err != nil {
			return err
		}
		c.pbsz = true
	}
	if _, err := c.Expect(200, "PROT", level); err != nil {
		return err
	}
	c.protP = strings.EqualFold(level, "P")
	return nil
}

// Binary sends TYPE I, so transfers move bytes unchanged (the default
// type, ASCII, lets a server rewrite line endings).
func (c *Conn) Binary() error {
	_, err := c.Expect(200, "TYPE", "I")
	return err
}

// Feat sends FEAT and parses its reply; a server without FEAT (500, 502)
// yields no features and no error.
func (c *Conn) Feat() (Features, error) {
	rep, err := c.Cmd("FEAT")
	if err != nil {
		return nil, err
	}
	switch {
	case rep.Code == 211:
		return ParseFeat(rep.Message()), nil
	case rep.Class() == 5:
		return Features{}, nil
	}
	return nil, &Error{Cmd: "FEAT", Reply: rep}
}

// Quit sends QUIT, reads its reply, and closes the connection. Only
// QUIT's error is returned: the server may close first.
func (c *Conn) Quit() error {
	_, err := c.Cmd("QUIT")
	c.Close()
	return err
}

// CloseNow closes the control connection and the open data connection
// at once, without QUIT or close_notify. It may be called from any
// goroutine, also while another is blocked in an exchange.
func (c *Conn) CloseNow() {
	c.mu.Lock()
	d := c.data
	c.mu.Unlock()
	if d != nil {
		d.drop()
	}
	c.raw.Close()
}

// Close closes the connection (without QUIT).
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if c.tconn != nil {
			c.tconn.SetWriteDeadline(time.Now().Add(time.Second))
			c.closeErr = c.tconn.Close()
			return
		}
		c.closeErr = c.raw.Close()
	})
	return c.closeErr
}
