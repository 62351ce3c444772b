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

// TransferOptions change how Transfer and OpenData open the data
// connection.
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
	// passes, Transfer (or Finish, or Abort) returns ErrNoCompletion and
	// the connection is out of step: close it.
	FinalWait time.Duration
}

// ErrNoCompletion reports a transfer whose completion reply did not come
// within TransferOptions.FinalWait.
var ErrNoCompletion = errors.New("no completion reply")

// TransferInfo is what Transfer (or OpenData and Finish) learned.
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
// NLST, ...): OpenData, then fn on the data connection (whose reads and
// writes each have the connection's timeout), then Finish. A refused
// command, a failed handshake or a failing completion reply is an
// error; info holds what was seen up to there.
func (c *Conn) Transfer(ctx context.Context, opts TransferOptions, fn func(conn net.Conn) error, verb string, args ...string) (TransferInfo, error) {
	d, info, err := c.OpenData(ctx, opts, verb, args...)
	if err != nil {
		return info, err
	}
	return d.finish(fn(dataConn{d.conn, d}))
}

// Data is the data connection of a transfer in progress, from OpenData.
// Read and Write move the data, each within the connection's timeout
// (so a stalled server ends the transfer but a long one is not cut);
// Finish or Abort ends the transfer, once. Read and Write are used by
// one goroutine; Abort (and Conn.CloseNow) may come from another and cut
// them short.
type Data struct {
	c    *Conn
	opts TransferOptions
	verb string
	info TransferInfo
	raw  net.Conn    // the TCP connection
	conn net.Conn    // raw, or the TLS connection over it
	stop func() bool // ends the watch of OpenData's context
}

// OpenData starts a transfer: it enters passive mode and connects (or,
// with opts.Active, listens and sends EPRT or PORT), sends REST when
// opts.Restart is set, sends the command, and after the 1xx reply (and,
// in active mode, the server's connection) runs the TLS handshake under
// PROT P, resuming the control connection's session unless
// opts.FreshSession. ctx bounds the dial and the handshake and, until
// the transfer ends, closes the data connection when it ends. A refused
// command is an *Error; after a failed handshake the completion reply is
// read too. info holds what was seen.
func (c *Conn) OpenData(ctx context.Context, opts TransferOptions, verb string, args ...string) (*Data, TransferInfo, error) {
	d := &Data{c: c, opts: opts, verb: verb}
	var ln *net.TCPListener
	if opts.Active {
		var err error
		if ln, d.info.Passive, err = c.listenActive(); err != nil {
			return nil, d.info, err
		}
		defer ln.Close()
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		defer stop()
	} else {
		p := opts.Passive
		if p.Addr == "" {
			var err error
			if p, err = c.EnterPassive(); err != nil {
				return nil, d.info, err
			}
		}
		d.info.Passive = p
		raw, err := c.DialData(ctx, p)
		if err != nil {
			return nil, d.info, err
		}
		d.attach(ctx, raw)
	}
	if err := d.request(verb, args); err != nil {
		d.drop()
		return nil, d.info, err
	}
	if ln != nil {
		raw, err := c.acceptActive(ln)
		if err != nil {
			// The server may still answer (425); read it so the
			// connection stays in step.
			if final, ferr := c.readFinal(opts.FinalWait); ferr == nil {
				d.info.Final = final
			}
			return nil, d.info, err
		}
		d.attach(ctx, raw)
	}
	if err := d.protect(ctx); err != nil {
		d.drop()
		info, err := d.fail(err)
		return nil, info, err
	}
	return d, d.info, nil
}

// attach makes raw the transfer's data connection: Bind's cut and
// CloseNow reach it, and it is closed when ctx ends.
func (d *Data) attach(ctx context.Context, raw net.Conn) {
	d.raw, d.conn = raw, raw
	d.stop = context.AfterFunc(ctx, func() { raw.Close() })
	d.c.mu.Lock()
	d.c.data = d
	d.c.mu.Unlock()
}

// drop closes the data connection at once; it may be called more than
// once.
func (d *Data) drop() {
	if d.raw == nil {
		return
	}
	d.stop()
	d.c.mu.Lock()
	if d.c.data == d {
		d.c.data = nil
	}
	d.c.mu.Unlock()
	d.raw.Close()
}

// request sends REST when asked and the command, and reads its 1xx.
func (d *Data) request(verb string, args []string) error {
	c := d.c
	if d.opts.Restart > 0 {
		if _, err := c.Expect(350, "REST", strconv.FormatInt(d.opts.Restart, 10)); err != nil {
			return err
		}
	}
	rep, err := c.Cmd(verb, args...)
	if err != nil {
		return err
	}
	if rep.Class() != 1 {
		return &Error{Cmd: verb, Reply: rep}
	}
	d.info.Preamble, d.info.Opened = rep, time.Now()
	return nil
}

// protect runs the client handshake on the data connection under PROT
// P: with the control connection's configuration, so its session cache
// offers the control session for resumption, or (FreshSession) without
// any cache.
func (d *Data) protect(ctx context.Context) error {
	c := d.c
	if err := c.arm(d.raw, c.timeout); err != nil {
		return err
	}
	if !c.protP {
		return nil
	}
	conf := c.tlsConf
	if d.opts.FreshSession {
		conf = c.tlsConf.Clone()
		conf.ClientSessionCache = nil
		conf.SessionTicketsDisabled = true
	}
	tc := tls.Client(d.raw, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrDataTLS, err)
	}
	cs := tc.ConnectionState()
	d.info.TLS, d.conn = &cs, tc
	return nil
}

// Read reads the data connection within the connection's timeout.
func (d *Data) Read(p []byte) (int, error) {
	if err := d.c.arm(d.raw, d.c.timeout); err != nil {
		return 0, err
	}
	return d.conn.Read(p)
}

// Write writes the data connection within the connection's timeout.
func (d *Data) Write(p []byte) (int, error) {
	if err := d.c.arm(d.raw, d.c.timeout); err != nil {
		return 0, err
	}
	return d.conn.Write(p)
}

// Finish ends the transfer: the data connection is closed gracefully
// (see closeData) and the completion reply read, within
// TransferOptions.FinalWait; a reply other than 2xx is an *Error.
func (d *Data) Finish() (TransferInfo, error) { return d.finish(nil) }

// finish is Finish after the transfer's own error ferr (nil: none).
func (d *Data) finish(ferr error) (TransferInfo, error) {
	if cerr := d.closeData(); ferr == nil && cerr != nil {
		ferr = fmt.Errorf("close data connection: %w", cerr)
	}
	return d.fail(ferr)
}

// fail reads the completion reply after the data connection is closed,
// and returns it with ferr (the transfer's error, or nil).
func (d *Data) fail(ferr error) (TransferInfo, error) {
	final, err := d.c.readFinal(d.opts.FinalWait)
	if err != nil {
		return d.info, fmt.Errorf("%s: %w", d.verb, err)
	}
	d.info.Final = final
	if final.Class() != 2 {
		if ferr != nil {
			return d.info, fmt.Errorf("%w (%w)", &Error{Cmd: d.verb, Reply: final}, ferr)
		}
		return d.info, &Error{Cmd: d.verb, Reply: final}
	}
	return d.info, ferr
}

// Abort ends the transfer early: the data connection is closed at once,
// and the reply the server then sends (426, or 226 when it had sent
// everything) is read and returned whatever its code. An error means no
// reply came: the control connection is out of step.
func (d *Data) Abort() (Reply, error) {
	d.drop()
	return d.c.readFinal(d.opts.FinalWait)
}

// readFinal reads a transfer's completion reply within wait (zero: the
// connection's timeout).
func (c *Conn) readFinal(wait time.Duration) (Reply, error) {
	if wait <= 0 {
		return c.ReadReply()
	}
	if err := c.arm(c.raw, wait); err != nil {
		return Reply{}, fmt.Errorf("read reply: %w", err)
	}
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
// upload the server has not read yet (vsftpd: 426 Failure reading
// network stream).
func (d *Data) closeData() error {
	// Errors of the half-close are not the transfer's: the server may
	// have closed its end first (it does after a download).
	if tc, ok := d.conn.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	if hc, ok := d.raw.(interface{ CloseWrite() error }); ok {
		hc.CloseWrite()
	}
	if d.c.arm(d.raw, min(drainWait, d.c.timeout)) == nil {
		io.Copy(io.Discard, io.LimitReader(d.conn, 1<<20))
	}
	err := d.raw.Close()
	d.drop()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// dataConn is the net.Conn Transfer hands its callback: reads and
// writes go through Data, with its deadlines.
type dataConn struct {
	net.Conn
	d *Data
}

func (c dataConn) Read(p []byte) (int, error)  { return c.d.Read(p) }
func (c dataConn) Write(p []byte) (int, error) { return c.d.Write(p) }

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
