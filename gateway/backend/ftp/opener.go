package ftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

const (
	// reservedPrefix starts the names of the backend's own files (upload
	// temporaries, probes): clients can neither see nor name them.
	reservedPrefix = ".ftpsgw-"
	// uploadPrefix starts an upload's temporary file name.
	uploadPrefix = reservedPrefix + "up-"
	// probePrefix starts the probes' test file names.
	probePrefix = reservedPrefix + "probe-"
)

// Opener serves sessions from one upstream FTP server. Build it with
// Config.Open.
type Opener struct {
	name string
	log  hclog.Logger
	st   *settings
	// slots holds a token per open control connection (sessions, their
	// extra connections, probes, password checks); its capacity is
	// max_connections.
	slots chan struct{}
	// truncates records whether the upstream truncates a file at the end
	// of REST+STOR (resume): 0 not known yet, 1 yes, 2 no.
	truncates atomic.Int32

	mu     sync.Mutex
	closed bool // guarded by mu
}

var (
	_ backend.Opener           = (*Opener)(nil)
	_ backend.CredentialOpener = (*Opener)(nil)
	_ backend.Authenticator    = (*Opener)(nil)
	_ backend.FS               = (*FS)(nil)
)

func newOpener(name string, log hclog.Logger, st *settings) *Opener {
	return &Opener{name: name, log: log, st: st, slots: make(chan struct{}, st.maxConns)}
}

// dial opens a control connection logged in as cred, taking a slot
// without waiting: at max_connections it fails with
// backend.ErrUnavailable.
func (o *Opener) dial(ctx context.Context, cred *backend.Credentials) (*link, error) {
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%w: ftp backend %s is closed", backend.ErrUnavailable, o.name)
	}
	select {
	case o.slots <- struct{}{}:
	default:
		o.log.Warn("ftp max_connections reached", "max_connections", o.st.maxConns)
		return nil, fmt.Errorf("%w: ftp backend %s has all %d connections in use", backend.ErrUnavailable, o.name, o.st.maxConns)
	}
	l, err := connect(ctx, o.st, cred, o.log)
	if err != nil {
		<-o.slots
		return nil, err
	}
	var once sync.Once
	l.release = func() { once.Do(func() { <-o.slots }) }
	return l, nil
}

// NeedsCredentials implements backend.CredentialOpener: true with
// credentials = "passthrough".
func (o *Opener) NeedsCredentials() bool { return o.st.passthrough }

// Open implements backend.Opener with the service account. With
// credentials = "passthrough" there is none, and Open fails wrapping
// fs.ErrPermission: the gateway calls OpenAs.
func (o *Opener) Open(ctx context.Context, home string) (backend.FS, error) {
	if o.st.service == nil {
		return nil, fmt.Errorf("ftp backend %s logs in as each user (credentials = %q): %w", o.name, CredentialsPassthrough, fs.ErrPermission)
	}
	return o.open(ctx, home, o.st.service)
}

// OpenAs implements backend.CredentialOpener: the session logs in
// upstream as cred says, at Open and at every reconnection. A refused
// login wraps fs.ErrPermission.
func (o *Opener) OpenAs(ctx context.Context, home string, cred backend.Credentials) (backend.FS, error) {
	return o.open(ctx, home, &cred)
}

// Authenticate implements backend.Authenticator: it logs in upstream as
// cred says and quits. A wrong password wraps fs.ErrPermission; an
// unreachable upstream backend.ErrUnavailable. The password is never
// logged.
func (o *Opener) Authenticate(ctx context.Context, cred backend.Credentials) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cred.User == "" {
		return fmt.Errorf("empty user name: %w", fs.ErrPermission)
	}
	l, err := o.dial(ctx, &cred)
	if err != nil {
		return fmt.Errorf("ftp authenticate: %w", err)
	}
	l.quit()
	return nil
}

// open checks home, logs in, creates home and starts the session.
func (o *Opener) open(ctx context.Context, home string, cred *backend.Credentials) (backend.FS, error) {
	rel, err := backend.CheckHome(home)
	if err == nil {
		err = checkName(rel)
	}
	if err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := o.dial(ctx, cred)
	if err != nil {
		return nil, fmt.Errorf("ftp open %s: %w", home, err)
	}
	s := newFS(o, cred, path.Join(o.st.root, rel), l)
	end := l.c.Bind(ctx)
	err = l.classify(ctx, l.mkdirAll(s.home))
	if err == nil {
		s.caps = s.learnCaps(ctx, l)
	}
	end()
	if err != nil {
		l.kill()
		return nil, fmt.Errorf("ftp open home %s: %w", home, err)
	}
	s.start(l)
	return s, nil
}

// mkdirAll creates dir and its missing parents.
func (l *link) mkdirAll(dir string) error {
	c, _, err := l.cmd("CWD", dir)
	if err != nil || c/100 == 2 {
		return err
	}
	if parent := path.Dir(dir); parent != dir {
		if err := l.mkdirAll(parent); err != nil {
			return err
		}
	}
	if _, err := l.expect(257, "MKD", dir); err != nil {
		if _, cerr := l.expect(250, "CWD", dir); cerr == nil {
			return nil // made meanwhile
		}
		return err
	}
	return nil
}

// Probe implements backend.Opener: on a connection of its own it writes
// a small hidden file in root, reads it back and removes it. With
// credentials = "passthrough" there is no account to write with, and it
// checks that the upstream greets (and completes TLS) instead.
func (o *Opener) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	l, err := o.dial(ctx, o.st.service)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer l.quit()
	if o.st.service == nil {
		return nil
	}
	end := l.c.Bind(ctx)
	defer end()
	name := path.Join(o.st.root, probePrefix+rand.Text())
	want := []byte("ftpsgw probe " + name)
	err = l.store(name, want, 0)
	if err == nil {
		var got []byte
		got, err = l.fetch(name, int64(len(want))+1)
		if err == nil && !bytes.Equal(got, want) {
			err = fmt.Errorf("probe read back %d bytes that differ", len(got))
		}
		if _, derr := l.expect(250, "DELE", name); derr != nil && err == nil {
			err = derr
		}
	}
	if err != nil {
		return fmt.Errorf("probe: %w", l.classify(ctx, err))
	}
	return nil
}

// Close implements backend.Opener: new sessions and probes are refused;
// open sessions keep their connections until they close.
func (o *Opener) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	return nil
}

// checkName applies the contract's name rule and refuses what could
// break an FTP command (CR, LF, Telnet's IAC byte 0xFF) and the reserved
// prefix, so clients can neither see nor name the backend's own files.
func checkName(name string) error {
	if err := backend.CheckName(name); err != nil {
		return err
	}
	if strings.ContainsAny(name, "\r\n") || strings.IndexByte(name, 0xFF) >= 0 {
		return fmt.Errorf("CR, LF or 0xFF in name: %w", fs.ErrInvalid)
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, reservedPrefix) {
			return fmt.Errorf("reserved name %q: %w", elem, fs.ErrInvalid)
		}
	}
	return nil
}
