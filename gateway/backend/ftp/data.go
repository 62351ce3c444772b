package ftp

import (
	"net"
	"strconv"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// passive asks for a passive data port: EPSV (RFC 2428), or PASV once
// EPSV has been refused. The data connection always goes to the control
// connection's peer: a PASV address elsewhere (an unroutable one behind
// NAT, or a third host) is not followed, and the log says so.
func (l *link) passive() (ftpclient.Passive, error) {
	if !l.noEPSV {
		p, err := l.c.EPSV()
		switch c := ftpclient.Code(err); {
		case err == nil:
			return l.atPeer(p), nil
		case c >= 500:
			l.noEPSV = true
			l.log.Debug("upstream refused EPSV; using PASV", "code", c)
		default:
			return ftpclient.Passive{}, upstream(err)
		}
	}
	p, err := l.c.PASV()
	if err != nil {
		return ftpclient.Passive{}, upstream(err)
	}
	if peer := l.c.RemoteIP(); !p.Announced.Equal(peer) && !l.st.pasvNoted.Swap(true) {
		l.log.Info("upstream PASV reply names another address; connecting to the control connection's peer instead",
			"announced", p.Announced.String(), "peer", peer.String())
	}
	return l.atPeer(p), nil
}

// atPeer points p at the control connection's peer.
func (l *link) atPeer(p ftpclient.Passive) ftpclient.Passive {
	p.Addr = net.JoinHostPort(l.c.RemoteIP().String(), strconv.Itoa(p.Port))
	return p
}

// transfer starts a data transfer (ftpclient's OpenData): a passive
// connection to the peer, REST when offset > 0, the command, its
// preliminary reply, then the TLS handshake on the data connection
// (after the 150, as servers expect), resuming the control connection's
// session. A refusal closes the data connection and returns the reply as
// a *replyError.
func (l *link) transfer(verb, arg string, offset int64) (*ftpclient.Data, error) {
	p, err := l.passive()
	if err != nil {
		return nil, err
	}
	var args []string
	if arg != "" {
		args = []string{arg}
	}
	d, _, err := l.c.OpenData(l.c.Context(), ftpclient.TransferOptions{Passive: p, Restart: offset}, verb, args...)
	if err != nil {
		return nil, upstream(err)
	}
	return d, nil
}

// finish ends a transfer whose data ran to the end (a download read to
// EOF, an upload whose bytes are all written): the data connection is
// closed gracefully (close_notify, FIN, drain: a reset could lose an
// upload's tail) and the final reply read: nil for 2xx.
func (l *link) finish(d *ftpclient.Data) error {
	_, err := d.Finish()
	return upstream(err)
}

// abandon ends a transfer early: the data connection is closed and the
// final reply (426, 226 or another) read and dropped. If none comes
// within op_timeout, the link is killed.
func (l *link) abandon(d *ftpclient.Data) {
	if l.dead.Load() {
		return // kill closed the data connection too
	}
	rep, err := d.Abort()
	if err != nil || rep.Class() == 1 {
		l.kill()
	}
}
