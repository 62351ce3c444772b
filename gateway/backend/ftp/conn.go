package ftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// quitWait bounds QUIT at the end of a connection.
const quitWait = 2 * time.Second

// link is one logged-in control connection to the upstream, with the
// features its FEAT offered. The protocol (bounded replies, AUTH TLS,
// login, data connections resuming the control session) is
// gateway/ftpclient's; a link adds the backend's policy. It is used by
// one goroutine at a time (the operation, reader, upload or keepalive
// that holds it); kill may also come from another.
type link struct {
	st      *settings
	log     hclog.Logger
	c       *ftpclient.Conn // nil only when the connection failed
	feat    features
	listCmd string // "MLSD", "LIST -a" or "LIST"
	noEPSV  bool   // EPSV was refused once: PASV from then on
	idle    time.Time
	release func() // gives the connection slot back

	dead    atomic.Bool
	closing sync.Once
}

// connect dials the upstream and logs in with cred (nil: greeting and
// TLS only, for a probe of a passthrough backend). Refused credentials
// wrap fs.ErrPermission; anything else wraps backend.ErrUnavailable.
func connect(ctx context.Context, st *settings, cred *backend.Credentials, log hclog.Logger) (*link, error) {
	l := &link{st: st, log: log, feat: features{}, idle: time.Now(), release: func() {}}
	c, err := ftpclient.Dial(ctx, st.addr, ftpclient.Config{TLS: st.tls, Timeout: st.opTimeout, Implicit: st.mode == TLSImplicit})
	if err != nil {
		return nil, loginError(ctx, l, upstream(err))
	}
	l.c = c
	end := c.Bind(ctx)
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

// handshake sets up TLS (explicit: AUTH TLS; implicit TLS and the
// greeting are Dial's), logs in and learns the upstream's features.
func (l *link) handshake(cred *backend.Credentials) error {
	if l.st.mode == TLSExplicit {
		if err := l.c.AuthTLS(l.c.Context()); err != nil {
			return upstream(err)
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

// login sends USER and, when asked, PASS.
func (l *link) login(cred *backend.Credentials) error {
	if strings.ContainsAny(cred.User+cred.Password, "\r\n\x00") {
		return fmt.Errorf("user name or password holds CR, LF or NUL: %w", fs.ErrPermission)
	}
	return upstream(l.c.Login(cred.User, cred.Password))
}

// setup protects data connections, reads FEAT, switches to UTF-8 and
// binary, and picks the listing command.
func (l *link) setup() error {
	if _, ok := l.c.TLSState(); ok {
		if err := l.c.Prot("P"); err != nil {
			return upstream(err)
		}
	}
	feat, err := l.c.Feat()
	switch {
	case err == nil:
		l.feat = feat
	case ftpclient.Code(err) == 0:
		return upstream(err)
	} // any other reply: no features
	if l.feat.Has("UTF8") {
		if _, _, err := l.cmd("OPTS", "UTF8 ON"); err != nil {
			return err
		}
	}
	if err := l.c.Binary(); err != nil {
		return upstream(err)
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

// cmd sends one command and reads its reply, whatever its code. An
// argument holding CR, LF or NUL is refused (fs.ErrInvalid) before
// anything is sent: it would end the line and start another command.
func (l *link) cmd(verb, arg string) (int, string, error) {
	var rep ftpclient.Reply
	var err error
	if arg == "" {
		rep, err = l.c.Cmd(verb)
	} else {
		rep, err = l.c.Cmd(verb, arg)
	}
	if err != nil {
		return 0, "", upstream(err)
	}
	return rep.Code, rep.Message(), nil
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

// alive reports whether an idle link can still be used: the upstream has
// neither sent anything unasked (a 421 before closing) nor closed it.
func (l *link) alive() bool {
	return !l.dead.Load() && l.c.Alive()
}

// kill closes the link at once and gives its slot back.
func (l *link) kill() {
	l.dead.Store(true)
	l.closing.Do(func() {
		if l.c != nil {
			l.c.CloseNow()
		}
		l.release()
	})
}

// quit says QUIT (briefly waiting for the reply) and closes the link.
func (l *link) quit() {
	if !l.dead.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), min(l.st.opTimeout, quitWait))
		end := l.c.Bind(ctx)
		l.c.Quit()
		end()
		cancel()
	}
	l.kill()
}
