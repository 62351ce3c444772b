package ftp

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// passive asks for a passive data port: EPSV (RFC 2428), or PASV once
// EPSV has been refused. The data connection always goes to the control
// connection's peer: a PASV address elsewhere (an unroutable one behind
// NAT, or a third host) is not followed, and the log says so.
func (l *link) passive() (int, error) {
	if !l.noEPSV {
		c, msg, err := l.cmd("EPSV", "")
		switch {
		case err != nil:
			return 0, err
		case c == 229:
			return ftpclient.ParseEPSV(msg)
		case c >= 500:
			l.noEPSV = true
			l.log.Debug("upstream refused EPSV; using PASV", "code", c)
		default:
			return 0, newReplyError("EPSV", c, msg)
		}
	}
	msg, err := l.expect(227, "PASV", "")
	if err != nil {
		return 0, err
	}
	ip, port, err := ftpclient.ParsePASV(msg)
	if err != nil {
		return 0, err
	}
	if !ip.Equal(l.peer) && !l.st.pasvNoted.Swap(true) {
		l.log.Info("upstream PASV reply names another address; connecting to the control connection's peer instead",
			"announced", ip.String(), "peer", l.peer.String())
	}
	return port, nil
}

// transfer starts a data transfer: a passive connection, REST when
// offset > 0, the command, its preliminary reply, then the TLS handshake
// on the data connection (after the 150, as servers expect), resuming
// the control connection's session. A refusal closes the data connection
// and returns the reply as a *replyError.
func (l *link) transfer(verb, arg string, offset int64) (net.Conn, error) {
	port, err := l.passive()
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: l.st.opTimeout}
	dc, err := d.DialContext(l.opCtx(), "tcp", net.JoinHostPort(l.peer.String(), strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("data connection: %w", err)
	}
	if err := l.requestData(verb, arg, offset); err != nil {
		dc.Close()
		return nil, err
	}
	if l.tls != nil {
		tc := tls.Client(dc, l.tls)
		if err := l.arm(dc); err != nil {
			dc.Close()
			return nil, err
		}
		if err := tc.Handshake(); err != nil {
			dc.Close()
			return nil, fmt.Errorf("data connection tls handshake: %w", err)
		}
		dc = tc
	}
	l.mu.Lock()
	l.data = dc
	l.mu.Unlock()
	return dc, nil
}

// requestData sends REST (when offset > 0) and the transfer command, and
// reads the preliminary 1xx reply.
func (l *link) requestData(verb, arg string, offset int64) error {
	if offset > 0 {
		if _, err := l.expect(350, "REST", strconv.FormatInt(offset, 10)); err != nil {
			return err
		}
	}
	c, msg, err := l.cmd(verb, arg)
	if err != nil {
		return err
	}
	if c/100 != 1 {
		return newReplyError(verb, c, msg)
	}
	return nil
}

// finish closes the data connection and reads the transfer's final
// reply: nil for 2xx.
func (l *link) finish(verb string) error {
	l.dropData()
	c, msg, err := l.reply()
	if err != nil {
		return err
	}
	if c/100 != 2 {
		return newReplyError(verb, c, msg)
	}
	return nil
}

// finishUpload ends an upload's data connection gracefully and reads the
// final reply. The data connection is half-closed (TLS close_notify, TCP
// FIN) and drained before it is closed: closing a socket with unread
// bytes (TLS 1.3 session tickets the upstream sent on it) resets the
// connection, and the upstream may then lose the data's tail (vsftpd:
// 426 Failure reading network stream).
func (l *link) finishUpload(verb string) error {
	l.mu.Lock()
	dc := l.data
	l.mu.Unlock()
	if dc != nil {
		if err := halfClose(dc); err == nil && l.arm(dc) == nil {
			io.Copy(io.Discard, io.LimitReader(dc, maxReply))
		}
	}
	return l.finish(verb)
}

// halfClose ends the writing side of a data connection.
func halfClose(dc net.Conn) error {
	if tc, ok := dc.(*tls.Conn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		dc = tc.NetConn()
	}
	if cw, ok := dc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// abandon ends a transfer early: the data connection is closed and the
// final reply (426, 226 or another) read and dropped. If none comes
// within op_timeout, the link is killed.
func (l *link) abandon() {
	l.dropData()
	if l.dead.Load() {
		return
	}
	c, _, err := l.reply()
	if err != nil || c/100 == 1 {
		l.kill()
	}
}

// dropData closes the open data connection.
func (l *link) dropData() {
	l.mu.Lock()
	dc := l.data
	l.data = nil
	l.mu.Unlock()
	if dc != nil {
		dc.Close()
	}
}

// readData reads the open data connection with a stall deadline.
func (l *link) readData(dc net.Conn, p []byte) (int, error) {
	if err := l.arm(dc); err != nil {
		return 0, err
	}
	return dc.Read(p)
}

// writeData writes the open data connection with a stall deadline.
func (l *link) writeData(dc net.Conn, p []byte) (int, error) {
	if err := l.arm(dc); err != nil {
		return 0, err
	}
	return dc.Write(p)
}

// opCtx returns the running operation's context.
func (l *link) opCtx() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil {
		return context.Background()
	}
	return l.ctx
}
