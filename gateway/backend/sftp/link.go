package sftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// ErrHostKey reports that the server presented a host key other than the
// one pinned in known_hosts_file (or none is pinned for its address). It
// comes wrapped together with backend.ErrUnavailable.
var ErrHostKey = errors.New("sftp host key not pinned")

// errOpTimeout: a request outlived op_timeout; the link was closed.
var errOpTimeout = errors.New("sftp request timed out")

// link is one SSH connection and the SFTP session on it. Once dead it
// stays dead; the FS dials a new one.
type link struct {
	ssh  *ssh.Client
	c    *sftp.Client
	done chan struct{} // closed by kill
	once sync.Once

	// Server extensions, fixed at dial.
	fsync, posixRename, statvfs bool

	listMu sync.Mutex
	list   *lister // guarded by listMu: the listing session, once started
}

// kill closes the link; it is idempotent and never blocks on the server.
// The transport goes first, so every request in flight fails at once.
func (l *link) kill() {
	l.once.Do(func() {
		close(l.done)
		l.ssh.Close()
		l.c.Close()
	})
}

// dead reports whether kill has run.
func (l *link) dead() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// unavailable wraps a connection failure.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", backend.ErrUnavailable, what, err)
}

// dial connects, authenticates, checks the pinned host key and starts the
// SFTP session, all within op_timeout and ctx. The link's goroutines
// (transport watcher, keepalive) are counted in wg and end when the link
// dies. Every failure wraps backend.ErrUnavailable.
func (o *Opener) dial(ctx context.Context, wg *sync.WaitGroup) (*link, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable("connect", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.st.opTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", o.st.addr)
	if err != nil {
		o.log.Warn("sftp connect failed", "address", o.st.addr, "error", err)
		return nil, unavailable("connect "+o.st.addr, err)
	}
	// The handshake has no context of its own: a deadline stands in.
	conn.SetDeadline(time.Now().Add(o.st.opTimeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	l, err := o.handshake(conn)
	if !stop() && err == nil {
		l.kill()
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		if !errors.Is(err, ErrHostKey) {
			o.log.Warn("sftp login failed", "address", o.st.addr, "error", err)
		}
		return nil, unavailable("login to "+o.st.addr, err)
	}
	conn.SetDeadline(time.Time{})
	wg.Go(func() {
		l.ssh.Wait()
		l.kill()
	})
	if o.st.keepalive > 0 {
		wg.Go(func() { o.keepalive(l) })
	}
	return l, nil
}

// handshake runs SSH and SFTP over conn.
func (o *Opener) handshake(conn net.Conn) (*link, error) {
	cfg := &ssh.ClientConfig{
		User:              o.st.user,
		Auth:              o.st.auth,
		HostKeyCallback:   o.checkHostKey,
		HostKeyAlgorithms: o.st.hostKeyAlgos,
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, o.st.addr, cfg)
	if err != nil {
		return nil, err
	}
	client := ssh.NewClient(sc, chans, reqs)
	c, err := sftp.NewClient(client,
		sftp.UseConcurrentReads(true),
		sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(o.st.concurrency),
		sftp.UseFstat(true),
	)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("start sftp: %w", err)
	}
	l := &link{ssh: client, c: c, done: make(chan struct{})}
	_, l.fsync = c.HasExtension("fsync@openssh.com")
	_, l.posixRename = c.HasExtension("posix-rename@openssh.com")
	_, l.statvfs = c.HasExtension("statvfs@openssh.com")
	return l, nil
}

// checkHostKey accepts only the pinned key. A refusal is logged with the
// presented key's SHA256 fingerprint, so an operator can compare it with
// the server's own (ssh-keygen -lf).
func (o *Opener) checkHostKey(host string, remote net.Addr, key ssh.PublicKey) error {
	err := o.st.hostKeys(host, remote, key)
	if err == nil {
		return nil
	}
	fp := ssh.FingerprintSHA256(key)
	what := "is not pinned"
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) && len(ke.Want) > 0 {
		what = "does not match the pinned key"
	}
	o.log.Error("sftp host key refused", "address", host, "key_type", key.Type(),
		"fingerprint", fp, "known_hosts_file", o.st.knownHosts, "reason", what)
	return fmt.Errorf("%w: %s presented %s key %s, which %s in %s",
		ErrHostKey, host, key.Type(), fp, what, o.st.knownHosts)
}

// keepalive sends keepalive@openssh.com every keepalive interval; a
// failed or unanswered one (within op_timeout) closes the link, so the
// next operation redials instead of waiting on a dead peer.
func (o *Opener) keepalive(l *link) {
	t := time.NewTicker(o.st.keepalive)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		timer := time.AfterFunc(o.st.opTimeout, func() {
			o.log.Warn("sftp keepalive unanswered, closing the connection", "timeout", o.st.opTimeout)
			l.kill()
		})
		_, _, err := l.ssh.SendRequest("keepalive@openssh.com", true, nil)
		timer.Stop()
		if err != nil {
			if !l.dead() {
				o.log.Warn("sftp keepalive failed", "error", err)
			}
			l.kill()
			return
		}
	}
}
