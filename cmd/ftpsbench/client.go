package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// maxReplyLines bounds a multi-line reply; maxLineLen bounds one line.
const (
	maxReplyLines = 256
	maxLineLen    = 4096
)

// reply is one (possibly multi-line) FTP reply.
type reply struct {
	Code int
	Text string // the last line's text, without the code
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.Code, r.Text) }

// replyError is an unexpected reply code.
type replyError struct {
	Cmd  string
	Want int
	Got  reply
}

func (e *replyError) Error() string {
	return fmt.Sprintf("%s: want %dxx, got %s", e.Cmd, e.Want, e.Got)
}

// readReply reads one reply: "ddd text" or "ddd-text" ... "ddd text".
func readReply(r *bufio.Reader) (reply, error) {
	var code int
	for i := 0; i < maxReplyLines; i++ {
		line, err := readLine(r)
		if err != nil {
			return reply{}, err
		}
		if i == 0 {
			if len(line) < 3 {
				return reply{}, fmt.Errorf("short reply line %q", line)
			}
			c, err := strconv.Atoi(line[:3])
			if err != nil || c < 100 || c > 599 {
				return reply{}, fmt.Errorf("bad reply line %q", line)
			}
			code = c
			if len(line) == 3 || line[3] == ' ' {
				return reply{Code: code, Text: strings.TrimPrefix(line[3:], " ")}, nil
			}
			if line[3] != '-' {
				return reply{}, fmt.Errorf("bad reply line %q", line)
			}
			continue
		}
		// A multi-line reply ends with "ddd " (same code).
		if len(line) >= 4 && line[3] == ' ' && line[:3] == strconv.Itoa(code) {
			return reply{Code: code, Text: line[4:]}, nil
		}
	}
	return reply{}, errors.New("multi-line reply too long")
}

func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", errors.New("reply line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// parseEPSV returns the port of a 229 reply: "Entering Extended Passive Mode (|||port|)".
func parseEPSV(text string) (int, error) {
	i := strings.IndexByte(text, '(')
	j := strings.LastIndexByte(text, ')')
	if i < 0 || j < i+1 {
		return 0, fmt.Errorf("bad EPSV reply %q", text)
	}
	inner := text[i+1 : j]
	if len(inner) < 5 {
		return 0, fmt.Errorf("bad EPSV reply %q", text)
	}
	d := inner[0] // the delimiter, normally '|'
	if d < 33 || d > 126 || (d >= '0' && d <= '9') {
		return 0, fmt.Errorf("bad EPSV delimiter in %q", text)
	}
	parts := strings.Split(inner, string(d))
	if len(parts) != 5 || parts[1] != "" || parts[2] != "" || parts[4] != "" {
		return 0, fmt.Errorf("bad EPSV reply %q", text)
	}
	p, err := strconv.Atoi(parts[3])
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("bad EPSV port in %q", text)
	}
	return p, nil
}

// parsePASV returns host and port of a 227 reply: "Entering Passive Mode (h1,h2,h3,h4,p1,p2)".
// Some servers omit the parentheses; the six numbers are found either way.
func parsePASV(text string) (string, int, error) {
	start := strings.IndexAny(text, "0123456789")
	if start < 0 {
		return "", 0, fmt.Errorf("bad PASV reply %q", text)
	}
	end := start
	for end < len(text) && (text[end] == ',' || (text[end] >= '0' && text[end] <= '9')) {
		end++
	}
	parts := strings.Split(text[start:end], ",")
	if len(parts) != 6 {
		return "", 0, fmt.Errorf("bad PASV reply %q", text)
	}
	var n [6]int
	for k, s := range parts {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > 255 {
			return "", 0, fmt.Errorf("bad PASV reply %q", text)
		}
		n[k] = v
	}
	port := n[4]<<8 | n[5]
	if port == 0 {
		return "", 0, fmt.Errorf("bad PASV port in %q", text)
	}
	return fmt.Sprintf("%d.%d.%d.%d", n[0], n[1], n[2], n[3]), port, nil
}

// client is one explicit-FTPS control session.
type client struct {
	opts    *options
	raw     net.Conn
	conn    net.Conn // the TLS control connection after AUTH TLS
	r       *bufio.Reader
	tlsConf *tls.Config // per session: its own session cache, so data resumes this session
	host    string      // the control connection's remote host, for EPSV
	local   net.IP      // source address, reused for data connections
	usePASV bool
}

// dialLogin connects, upgrades with AUTH TLS, logs in and sets PBSZ 0, PROT P, TYPE I.
func dialLogin(o *options, src net.IP) (*client, error) {
	c, err := dialTLS(o, src)
	if err != nil {
		return nil, err
	}
	if err := c.login(); err != nil {
		c.abort()
		return nil, err
	}
	return c, nil
}

// dialTLS connects and completes AUTH TLS.
func dialTLS(o *options, src net.IP) (*client, error) {
	d := net.Dialer{Timeout: o.timeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	raw, err := d.Dial("tcp", o.addr)
	if err != nil {
		return nil, err
	}
	c := &client{opts: o, raw: raw, conn: raw, local: src}
	c.host, _, _ = net.SplitHostPort(raw.RemoteAddr().String())
	c.tlsConf = o.tlsConfig.Clone()
	c.tlsConf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	c.deadline()
	c.r = bufio.NewReaderSize(raw, maxLineLen)
	if _, err := c.expect("greeting", 2); err != nil {
		raw.Close()
		return nil, err
	}
	if _, err := c.cmd("AUTH TLS", 2); err != nil {
		raw.Close()
		return nil, err
	}
	tc := tls.Client(raw, c.tlsConf)
	if err := tc.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("control TLS handshake: %w", err)
	}
	c.conn = tc
	c.r = bufio.NewReaderSize(tc, maxLineLen)
	return c, nil
}

func (c *client) login() error {
	r, err := c.send("USER " + c.opts.user)
	if err != nil {
		return err
	}
	switch r.Code / 100 {
	case 2:
	case 3:
		if _, err := c.cmd("PASS "+c.opts.pass, 2); err != nil {
			return err
		}
	default:
		return &replyError{Cmd: "USER", Want: 3, Got: r}
	}
	for _, s := range []string{"PBSZ 0", "PROT P", "TYPE I"} {
		if _, err := c.cmd(s, 2); err != nil {
			return err
		}
	}
	return nil
}

// deadline bounds the next control exchange.
func (c *client) deadline() { c.conn.SetDeadline(time.Now().Add(c.opts.timeout)) }

// noDeadline clears the deadline while a session is held idle on purpose.
func (c *client) noDeadline() { c.conn.SetDeadline(time.Time{}) }

func (c *client) send(line string) (reply, error) {
	c.deadline()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return reply{}, err
	}
	return readReply(c.r)
}

func (c *client) expect(what string, class int) (reply, error) {
	c.deadline()
	r, err := readReply(c.r)
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	if r.Code/100 != class {
		return r, &replyError{Cmd: what, Want: class, Got: r}
	}
	return r, nil
}

// cmd sends line and wants a reply of the given class (2 = 2xx ...).
func (c *client) cmd(line string, class int) (reply, error) {
	r, err := c.send(line)
	name := line
	if strings.HasPrefix(line, "PASS ") {
		name = "PASS"
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	if r.Code/100 != class {
		return r, &replyError{Cmd: name, Want: class, Got: r}
	}
	return r, nil
}

// quit sends QUIT and closes; errors after QUIT are reported but harmless.
func (c *client) quit() error {
	_, err := c.cmd("QUIT", 2)
	c.conn.Close()
	return err
}

func (c *client) abort() { c.conn.Close() }

// passive opens a TCP data connection (EPSV, or PASV if EPSV is refused).
func (c *client) passive() (net.Conn, error) {
	addr := ""
	if !c.usePASV {
		r, err := c.send("EPSV")
		if err != nil {
			return nil, fmt.Errorf("EPSV: %w", err)
		}
		if r.Code == 229 {
			p, err := parseEPSV(r.Text)
			if err != nil {
				return nil, err
			}
			addr = net.JoinHostPort(c.host, strconv.Itoa(p))
		} else {
			c.usePASV = true
		}
	}
	if addr == "" {
		r, err := c.cmd("PASV", 2)
		if err != nil {
			return nil, err
		}
		h, p, err := parsePASV(r.Text)
		if err != nil {
			return nil, err
		}
		_ = h // like most clients, connect to the control host (NAT-safe)
		addr = net.JoinHostPort(c.host, strconv.Itoa(p))
	}
	d := net.Dialer{Timeout: c.opts.timeout}
	if c.local != nil {
		d.LocalAddr = &net.TCPAddr{IP: c.local}
	}
	return d.Dial("tcp", addr)
}

// transfer runs one data command (STOR/RETR): passive connect, command,
// 1xx, TLS handshake resuming the control session, fn, then the final 2xx.
func (c *client) transfer(command string, fn func(net.Conn) error) error {
	dc, err := c.passive()
	if err != nil {
		return err
	}
	defer dc.Close()
	if _, err := c.cmd(command, 1); err != nil {
		return err
	}
	tc := tls.Client(dc, c.tlsConf)
	tc.SetDeadline(time.Now().Add(c.opts.timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("%s: data TLS handshake: %w", command, err)
	}
	if c.opts.requireResume && !tc.ConnectionState().DidResume {
		tc.Close()
		return fmt.Errorf("%s: data TLS session did not resume the control session", command)
	}
	// The transfer itself is bounded by the data deadline (-data-timeout).
	tc.SetDeadline(time.Now().Add(c.opts.dataTimeout))
	ferr := fn(tc)
	cerr := tc.Close()
	if ferr != nil {
		return fmt.Errorf("%s: %w", command, ferr)
	}
	if cerr != nil {
		return fmt.Errorf("%s: close: %w", command, cerr)
	}
	c.deadline()
	c.conn.SetDeadline(time.Now().Add(c.opts.dataTimeout))
	r, err := readReply(c.r)
	if err != nil {
		return fmt.Errorf("%s: final reply: %w", command, err)
	}
	if r.Code/100 != 2 {
		return &replyError{Cmd: command, Want: 2, Got: r}
	}
	return nil
}
