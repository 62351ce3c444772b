package ftpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Passive is where a passive data connection goes.
type Passive struct {
	Verb string // "EPSV" or "PASV"
	// Announced is the address PASV named (nil for EPSV, which names a
	// port on the control connection's host).
	Announced net.IP
	Port      int
	Addr      string // host:port to dial
}

// EPSV sends EPSV and returns the port on the control host (RFC 2428).
func (c *Conn) EPSV() (Passive, error) {
	rep, err := c.Expect(229, "EPSV")
	if err != nil {
		return Passive{}, err
	}
	port, err := ParseEPSV(rep.Message())
	if err != nil {
		return Passive{}, err
	}
	return Passive{Verb: "EPSV", Port: port, Addr: net.JoinHostPort(c.host, strconv.Itoa(port))}, nil
}

// PASV sends PASV and returns the address it announced.
func (c *Conn) PASV() (Passive, error) {
	rep, err := c.Expect(227, "PASV")
	if err != nil {
		return Passive{}, err
	}
	ip, port, err := ParsePASV(rep.Message())
	if err != nil {
		return Passive{}, err
	}
	return Passive{Verb: "PASV", Announced: ip, Port: port, Addr: net.JoinHostPort(ip.String(), strconv.Itoa(port))}, nil
}

// EnterPassive tries EPSV, then PASV when the server refuses EPSV.
func (c *Conn) EnterPassive() (Passive, error) {
	p, err := c.EPSV()
	if err == nil || Code(err) == 0 {
		return p, err
	}
	return c.PASV()
}

// DialData opens a TCP connection to a passive address.
func (c *Conn) DialData(ctx context.Context, p Passive) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.dial(dctx, "tcp", p.Addr)
	if err != nil {
		return nil, fmt.Errorf("data connection to %s: %w", p.Addr, err)
	}
	return conn, nil
}

// TransferOptions change how Transfer opens its data connection.
type TransferOptions struct {
	// Passive is the address to use; zero means EnterPassive.
	Passive Passive
	// FreshSession makes the data connection's TLS handshake a full
	// one, without the control connection's session: servers that bind
	// data connections to their control connection must refuse it.
	FreshSession bool
	// Active makes the server connect to this client (EPRT, or PORT
	// when the server refuses EPRT) instead of passive mode. The client
	// listens on the control connection's local address and accepts only
	// the control connection's peer; it stays the TLS client on the data
	// connection (RFC 4217 section 7).
	Active bool
	// Restart, when positive, sends REST with it before the command, so
	// that RETR or STOR start at that offset.
	Restart int64
	// FinalWait bounds the wait for the completion reply once the data
	// connection is closed; zero means the connection's timeout. When it
	// passes, Transfer returns ErrNoCompletion and the connection is out
	// of step: close it.
	FinalWait time.Duration
}

// ErrNoCompletion reports a transfer whose completion reply did not come
// within TransferOptions.FinalWait.
var ErrNoCompletion = errors.New("no completion reply")

// TransferInfo is what Transfer learned.
type TransferInfo struct {
	// Passive is where the data connection went; in active mode its
	// Verb is "EPRT" or "PORT" and Addr the address this client
	// listened on.
	Passive  Passive
	TLS      *tls.ConnectionState // nil in clear (PROT C)
	Opened   time.Time            // the preliminary reply arrived
	Final    Reply                // the completion reply
	Preamble Reply                // the 1xx reply
}

// ErrDataTLS wraps a failed TLS handshake on a data connection.
var ErrDataTLS = errors.New("data connection tls handshake failed")

// Transfer runs one command that moves data (RETR, STOR, LIST, MLSD,
// NLST, ...): it enters passive mode and connects (or, with
// opts.Active, listens and sends EPRT or PORT), sends REST when
// opts.Restart is set, sends the command, and after the 1xx reply (and,
// in active mode, the server's connection) runs fn on the data
// connection (TLS under PROT P), then closes it and reads the completion
// reply. A refused command, a
// failed handshake or a failing completion reply is an error; info holds
// what was seen up to there.
func (c *Conn) Transfer(ctx context.Context, opts TransferOptions, fn func(conn net.Conn) error, verb string, args ...string) (TransferInfo, error) {
	var info TransferInfo
	var data net.Conn
	var ln *net.TCPListener
	if opts.Active {
		var err error
		if ln, info.Passive, err = c.listenActive(); err != nil {
			return info, err
		}
		defer ln.Close()
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
	} else {
		p := opts.Passive
		if p.Addr == "" {
			var err error
			if p, err = c.EnterPassive(); err != nil {
				return info, err
			}
		}
		info.Passive = p
		var err error
		if data, err = c.DialData(ctx, p); err != nil {
			return info, err
		}
		defer data.Close()
		stop := context.AfterFunc(ctx, func() { data.Close() })
		defer stop()
	}
	if opts.Restart > 0 {
		if _, err := c.Expect(350, "REST", strconv.FormatInt(opts.Restart, 10)); err != nil {
			return info, err
		}
	}
	rep, err := c.Cmd(verb, args...)
	if err != nil {
		return info, err
	}
	if rep.Class() != 1 {
		return info, &Error{Cmd: verb, Reply: rep}
	}
	info.Preamble, info.Opened = rep, time.Now()
	if ln != nil {
		if data, err = c.acceptActive(ln); err != nil {
			// The server may still answer (425); read it so the
			// connection stays in step.
			if final, ferr := c.readFinal(opts.FinalWait); ferr == nil {
				info.Final = final
			}
			return info, err
		}
		defer data.Close()
		stop := context.AfterFunc(ctx, func() { data.Close() })
		defer stop()
	}
	return c.finishTransfer(ctx, opts, info, data, fn, verb)
}

// finishTransfer runs fn on the data connection after the 1xx reply
// (TLS under PROT P), closes it and reads the completion reply.
func (c *Conn) finishTransfer(ctx context.Context, opts TransferOptions, info TransferInfo, raw net.Conn, fn func(conn net.Conn) error, verb string) (TransferInfo, error) {
	data := raw
	data.SetDeadline(time.Now().Add(c.timeout))
	var ferr error
	if c.protP {
		var tc *tls.Conn
		if tc, ferr = c.dataTLS(ctx, data, opts.FreshSession); ferr == nil {
			cs := tc.ConnectionState()
			info.TLS, data = &cs, tc
		}
	}
	if ferr == nil {
		ferr = fn(deadlined{data, c.timeout})
		if cerr := c.closeData(raw, data); ferr == nil && cerr != nil {
			ferr = fmt.Errorf("close data connection: %w", cerr)
		}
	} else {
		data.Close()
	}
	final, err := c.readFinal(opts.FinalWait)
	if err != nil {
		return info, fmt.Errorf("%s: %w", verb, err)
	}
	info.Final = final
	if final.Class() != 2 {
		if ferr != nil {
			return info, fmt.Errorf("%w (%w)", &Error{Cmd: verb, Reply: final}, ferr)
		}
		return info, &Error{Cmd: verb, Reply: final}
	}
	return info, ferr
}

// dataTLS runs the client handshake on a data connection: with the
// control connection's configuration, so its session cache offers the
// control session for resumption, or (fresh) without any cache.
func (c *Conn) dataTLS(ctx context.Context, data net.Conn, fresh bool) (*tls.Conn, error) {
	conf := c.tlsConf
	if fresh {
		conf = c.tlsConf.Clone()
		conf.ClientSessionCache = nil
		conf.SessionTicketsDisabled = true
	}
	tc := tls.Client(data, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataTLS, err)
	}
	return tc, nil
}

// readFinal reads a transfer's completion reply within wait (zero: the
// connection's timeout).
func (c *Conn) readFinal(wait time.Duration) (Reply, error) {
	if wait <= 0 {
		return c.ReadReply()
	}
	c.raw.SetDeadline(time.Now().Add(wait))
	rep, err := c.read()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Reply{}, fmt.Errorf("%w within %s: %w", ErrNoCompletion, wait, err)
	}
	if err != nil {
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
	return rep, nil
}

// drainWait bounds how long closeData waits for the server's end of the
// data connection.
const drainWait = 5 * time.Second

// closeData ends a data connection gracefully: close_notify (under TLS)
// and a TCP half-close, then it reads what the server still sends until
// it closes. Closing with unread bytes (a TLS 1.3 session ticket, say)
// would reset the connection, and a reset can discard the end of an
// upload the server has not read yet.
func (c *Conn) closeData(raw, data net.Conn) error {
	// Errors of the half-close are not the transfer's: the server may
	// have closed its end first (it does after a download).
	if tc, ok := data.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	if hc, ok := raw.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
	raw.SetDeadline(time.Now().Add(min(drainWait, c.timeout)))
	io.Copy(io.Discard, io.LimitReader(data, 1<<20))
	if err := raw.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// deadlined renews the connection's deadline on every read and write, so
// a stalled peer ends the transfer but a long one is not cut.
type deadlined struct {
	net.Conn
	d time.Duration
}

func (c deadlined) Read(p []byte) (int, error) {
	c.SetDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c deadlined) Write(p []byte) (int, error) {
	c.SetDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

// maxListing bounds what List reads.
const maxListing = 16 << 20

// List runs a listing command (MLSD, LIST, NLST) and returns its bytes,
// at most 16 MiB.
func (c *Conn) List(ctx context.Context, opts TransferOptions, verb string, args ...string) ([]byte, TransferInfo, error) {
	var buf bytes.Buffer
	info, err := c.Transfer(ctx, opts, func(conn net.Conn) error {
		n, err := io.Copy(&buf, io.LimitReader(conn, maxListing+1))
		if err == nil && n > maxListing {
			return errors.New("listing longer than 16 MiB")
		}
		return err
	}, verb, args...)
	return buf.Bytes(), info, err
}

// Retrieve downloads path into w.
func (c *Conn) Retrieve(ctx context.Context, path string, w io.Writer) (TransferInfo, error) {
	return c.Transfer(ctx, TransferOptions{}, func(conn net.Conn) error {
		_, err := io.Copy(w, conn)
		return err
	}, "RETR", path)
}

// Store uploads r to path.
func (c *Conn) Store(ctx context.Context, path string, r io.Reader) (TransferInfo, error) {
	return c.Transfer(ctx, TransferOptions{}, func(conn net.Conn) error {
		_, err := io.Copy(conn, r)
		return err
	}, "STOR", path)
}

// Size sends SIZE and parses its 213 reply.
func (c *Conn) Size(path string) (int64, error) {
	rep, err := c.Expect(213, "SIZE", path)
	if err != nil {
		return 0, err
	}
	return ParseSize(rep.Message())
}

// ModTime sends MDTM and parses its 213 reply (UTC).
func (c *Conn) ModTime(path string) (time.Time, error) {
	rep, err := c.Expect(213, "MDTM", path)
	if err != nil {
		return time.Time{}, err
	}
	return ParseTime(rep.Message())
}

// Delete sends DELE.
func (c *Conn) Delete(path string) error {
	rep, err := c.Cmd("DELE", path)
	if err == nil && rep.Class() != 2 {
		err = &Error{Cmd: "DELE", Reply: rep}
	}
	return err
}
