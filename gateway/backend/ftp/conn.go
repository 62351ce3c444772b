package ftp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

const (
	// maxReply bounds the bytes of one upstream reply (a FEAT or MLST
	// reply is a few hundred).
	maxReply = 64 << 10
	// quitWait bounds QUIT at the end of a connection.
	quitWait = 2 * time.Second
)

var (
	errReplyTooLong = errors.New("upstream reply longer than 64 KiB")
	errInjected     = errors.New("upstream sent data before the TLS handshake")
)

// link is one logged-in control connection to the upstream, with the
// features its FEAT offered. It is used by one goroutine at a time (the
// operation, reader, upload or keepalive that holds it); cut and kill may
// also come from a context's AfterFunc.
type link struct {
	st      *settings
	log     hclog.Logger
	raw     net.Conn // the TCP connection
	conn    net.Conn // raw, or the TLS connection over it
	budget  *budget  // bounds one reply; reads conn
	br      *bufio.Reader
	r       *textproto.Reader
	peer    net.IP
	tls     *tls.Config // for data connections (PROT P); nil in clear
	feat    features
	listCmd string // "MLSD", "LIST -a" or "LIST"
	noEPSV  bool   // EPSV was refused once: PASV from then on
	idle    time.Time
	release func() // gives the connection slot back

	mu        sync.Mutex
	ctx       context.Context // guarded by mu: the running operation's context
	cancelled bool            // guarded by mu: ctx ended, the deadlines are cut
	data      net.Conn        // guarded by mu: the open data connection
	dead      atomic.Bool
	closing   sync.Once
}

// budget is a reader that fails after left bytes, reset per reply, so a
// hostile upstream cannot grow a reply without bound.
type budget struct {
	r    io.Reader
	left int
}

func (b *budget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errReplyTooLong
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

// connect dials the upstream and logs in with cred (nil: greeting and
// TLS only, for a probe of a passthrough backend). Refused credentials
// wrap fs.ErrPermission; anything else wraps backend.ErrUnavailable.
func connect(ctx context.Context, st *settings, cred *backend.Credentials, log hclog.Logger) (*link, error) {
	d := net.Dialer{Timeout: st.opTimeout}
	raw, err := d.DialContext(ctx, "tcp", st.addr)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("%w: dial %s: %w", cerr, st.addr, err)
		}
		return nil, fmt.Errorf("%w: dial %s: %w", backend.ErrUnavailable, st.addr, err)
	}
	l := &link{st: st, log: log, raw: raw, conn: raw, feat: features{}, idle: time.Now(), release: func() {}}
	l.peer = raw.RemoteAddr().(*net.TCPAddr).IP
	l.budget = &budget{r: raw}
	l.br = bufio.NewReader(l.budget)
	l.r = textproto.NewReader(l.br)
	end := l.begin(ctx)
	err = l.handshake(cred)
	end()
	if err != nil {
		l.kill()
		return nil, loginError(ctx, l, err)
	}
	return l, nil
}

// loginError maps a failed connection set-up: refused credentials are
// fs.ErrPermission, everything else (a refused AUTH TLS, a bad
// certificate, a broken connection) backend.ErrUnavailable.
func loginError(ctx context.Context, l *link, err error) error {
	if c := code(err); c == 530 || c == 532 || c == 0 && errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("login refused: %w", err)
	}
	err = l.classify(ctx, err)
	if ctx.Err() == nil && !errors.Is(err, backend.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
	}
	return err
}

// handshake reads the greeting, sets up TLS, logs in and learns the
// upstream's features.
func (l *link) handshake(cred *backend.Credentials) error {
	if l.st.mode == TLSImplicit {
		if err := l.startTLS(); err != nil {
			return err
		}
	}
	if err := l.greeting(); err != nil {
		return err
	}
	if l.st.mode == TLSExplicit {
		if _, err := l.expect(234, "AUTH", "TLS"); err != nil {
			return err
		}
		if l.br.Buffered() > 0 {
			return errInjected // plaintext after 234: an injection attempt
		}
		if err := l.startTLS(); err != nil {
			return err
		}
	}
	if cred == nil {
		return nil
	}
	if err := l.login(cred); err != nil {
		return err
	}
	return l.setup()
}

// greeting reads 220, after any 120 ("ready in n minutes").
func (l *link) greeting() error {
	for {
		c, msg, err := l.reply()
		switch {
		case err != nil:
			return err
		case c == 120:
			continue
		case c != 220:
			return newReplyError("connect", c, msg)
		}
		return nil
	}
}

// startTLS runs the TLS handshake on the control connection; its session
// cache is the link's own, which data connections resume.
func (l *link) startTLS() error {
	conf := l.st.tls.Clone()
	conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	l.tls = conf
	tc := tls.Client(l.raw, conf)
	if err := l.arm(l.raw); err != nil {
		return err
	}
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	l.conn = tc
	l.budget.r = tc
	return nil
}

// login sends USER and, when asked, PASS.
func (l *link) login(cred *backend.Credentials) error {
	if hasCRLF(cred.User) || hasCRLF(cred.Password) {
		return fmt.Errorf("user name or password holds CR or LF: %w", fs.ErrPermission)
	}
	c, msg, err := l.cmd("USER", cred.User)
	switch {
	case err != nil:
		return err
	case c == 230:
		return nil
	case c != 331:
		return newReplyError("USER", c, msg)
	}
	c, msg, err = l.cmd("PASS", cred.Password)
	switch {
	case err != nil:
		return err
	case c/100 != 2:
		return newReplyError("PASS", c, msg)
	}
	return nil
}

// setup protects data connections, reads FEAT, switches to UTF-8 and
// binary, and picks the listing command.
func (l *link) setup() error {
	if l.tls != nil {
		if _, err := l.expect(200, "PBSZ", "0"); err != nil {
			return err
		}
		if _, err := l.expect(200, "PROT", "P"); err != nil {
			return err
		}
	}
	c, msg, err := l.cmd("FEAT", "")
	if err != nil {
		return err
	}
	if c == 211 {
		l.feat = ftpclient.ParseFeat(msg)
	}
	if l.feat.Has("UTF8") {
		if _, _, err := l.cmd("OPTS", "UTF8 ON"); err != nil {
			return err
		}
	}
	if _, err := l.expect(200, "TYPE", "I"); err != nil {
		return err
	}
	return l.pickList()
}

// pickList uses MLSD when FEAT offers MLST, else LIST, with -a (dot
// files too) on servers whose SYST says UNIX.
func (l *link) pickList() error {
	if l.feat.Has("MLST") || l.feat.Has("MLSD") {
		l.listCmd = "MLSD"
		return nil
	}
	l.listCmd = "LIST"
	c, msg, err := l.cmd("SYST", "")
	if err != nil {
		return err
	}
	if c == 215 && strings.Contains(strings.ToUpper(msg), "UNIX") {
		l.listCmd = "LIST -a"
	}
	return nil
}

// begin binds the link's exchanges to ctx until the returned function is
// called: once ctx ends, every deadline is cut so that blocked reads and
// writes return at once.
func (l *link) begin(ctx context.Context) (end func()) {
	l.mu.Lock()
	l.ctx, l.cancelled = ctx, false
	l.mu.Unlock()
	stop := context.AfterFunc(ctx, l.cut)
	return func() {
		stop()
		l.mu.Lock()
		l.ctx = nil
		l.mu.Unlock()
	}
}

// cut makes the link's connections time out now.
func (l *link) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancelled = true
	now := time.Now()
	l.raw.SetDeadline(now)
	if l.data != nil {
		l.data.SetDeadline(now)
	}
}

// arm gives c op_timeout for its next exchange, unless the operation's
// context has ended.
func (l *link) arm(c net.Conn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancelled && l.ctx != nil {
		return l.ctx.Err()
	}
	return c.SetDeadline(time.Now().Add(l.st.opTimeout))
}

// cmd sends one command and reads its reply. CR and LF are refused
// anywhere in the line: they would end it and start another command.
func (l *link) cmd(verb, arg string) (int, string, error) {
	line := verb
	if arg != "" {
		line += " " + arg
	}
	if hasCRLF(line) {
		return 0, "", fmt.Errorf("CR or LF in a command: %w", fs.ErrInvalid)
	}
	if err := l.arm(l.raw); err != nil {
		return 0, "", err
	}
	if _, err := io.WriteString(l.conn, line+"\r\n"); err != nil {
		return 0, "", err
	}
	return l.reply()
}

// expect runs a command and returns a *replyError unless the reply is in
// want's class (2xx for 200, 3xx for 350, ...).
func (l *link) expect(want int, verb, arg string) (string, error) {
	c, msg, err := l.cmd(verb, arg)
	if err != nil {
		return "", err
	}
	if c/100 != want/100 {
		return msg, newReplyError(verb, c, msg)
	}
	return msg, nil
}

// reply reads one (possibly multi-line) reply.
func (l *link) reply() (int, string, error) {
	if err := l.arm(l.raw); err != nil {
		return 0, "", err
	}
	l.budget.left = maxReply
	c, msg, err := l.r.ReadResponse(0)
	if err != nil {
		return 0, "", fmt.Errorf("reading the reply: %w", err)
	}
	return c, msg, nil
}

// alive reports whether an idle link can still be used: the upstream has
// neither sent anything unasked (a 421 before closing) nor closed it.
func (l *link) alive() bool {
	return !l.dead.Load() && l.br.Buffered() == 0 && peekIdle(l.raw)
}

// kill closes the link at once and gives its slot back.
func (l *link) kill() {
	l.dead.Store(true)
	l.closing.Do(func() {
		l.mu.Lock()
		if l.data != nil {
			l.data.Close()
		}
		l.mu.Unlock()
		l.raw.Close()
		l.release()
	})
}

// quit says QUIT (briefly waiting for the reply) and closes the link.
func (l *link) quit() {
	if !l.dead.Load() {
		l.raw.SetDeadline(time.Now().Add(min(l.st.opTimeout, quitWait)))
		l.budget.left = maxReply
		if _, err := io.WriteString(l.conn, "QUIT\r\n"); err == nil {
			l.r.ReadResponse(0)
		}
	}
	l.kill()
}
