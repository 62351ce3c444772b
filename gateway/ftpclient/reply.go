package ftpclient

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxReply bounds the bytes of one server reply, all its lines together
// (a FEAT or HELP reply is a few hundred).
const MaxReply = 64 << 10

var (
	// ErrReplyTooLong reports a reply longer than MaxReply.
	ErrReplyTooLong = errors.New("server reply longer than 64 KiB")
	// ErrBadReply reports a line that is not an FTP reply.
	ErrBadReply = errors.New("malformed server reply")
)

// Reply is one server reply: its code and the text of each line, with
// the code and separator of the first and last lines removed.
type Reply struct {
	Code  int
	Lines []string
}

// Message is the reply's text, its lines joined with "\n".
func (r Reply) Message() string { return strings.Join(r.Lines, "\n") }

// Class is the reply's first digit: 1 preliminary, 2 completion,
// 3 intermediate, 4 transient failure, 5 permanent failure.
func (r Reply) Class() int { return r.Code / 100 }

// String is the reply's first line as the server sent it, for messages.
func (r Reply) String() string {
	if len(r.Lines) == 0 {
		return strconv.Itoa(r.Code)
	}
	return strconv.Itoa(r.Code) + " " + r.Lines[0]
}

// Error is a reply other than the one a command expected.
type Error struct {
	Cmd   string // the verb that got it ("USER", "EPSV", ...)
	Reply Reply
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: unexpected reply %s", e.Cmd, sanitize(e.Reply.String()))
}

// Code returns the reply code carried by err (an *Error), or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Reply.Code
	}
	return 0
}

// sanitize cuts s to 200 bytes and replaces control bytes, so server
// text can go into messages and logs.
func sanitize(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// budget is a reader that fails after left bytes; the reply reader resets
// it per reply, so a hostile server cannot grow a reply without bound.
type budget struct {
	r    io.Reader
	left int
}

func (b *budget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, ErrReplyTooLong
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

// replyReader reads replies from a control connection whose transport
// can change (AUTH TLS swaps the plain connection for the TLS one).
type replyReader struct {
	b  *budget
	br *bufio.Reader
}

func newReplyReader(r io.Reader) *replyReader {
	b := &budget{r: r}
	return &replyReader{b: b, br: bufio.NewReaderSize(b, 4096)}
}

// setTransport makes later reads come from r.
func (rr *replyReader) setTransport(r io.Reader) { rr.b.r = r }

// buffered is how many bytes were read but not yet consumed.
func (rr *replyReader) buffered() int { return rr.br.Buffered() }

// read reads one reply (RFC 959 section 4.2): "ddd text", or "ddd-text",
// any lines, then "ddd text" with the same code.
func (rr *replyReader) read() (Reply, error) {
	rr.b.left = MaxReply - rr.br.Buffered()
	defer func() { rr.b.left = 1 << 30 }()
	return ReadReply(rr.br)
}

// ReadReply reads one reply from r. It does not bound the reply's size:
// callers reading from a server bound r (the connection type does).
func ReadReply(r *bufio.Reader) (Reply, error) {
	line, err := readLine(r)
	if err != nil {
		return Reply{}, err
	}
	code, sep, text, err := splitReplyLine(line)
	if err != nil {
		return Reply{}, err
	}
	rep := Reply{Code: code, Lines: []string{text}}
	if sep == ' ' {
		return rep, nil
	}
	for {
		line, err := readLine(r)
		if err != nil {
			return Reply{}, err
		}
		if c, s, t, err := splitReplyLine(line); err == nil && c == code && s == ' ' {
			rep.Lines = append(rep.Lines, t)
			return rep, nil
		}
		rep.Lines = append(rep.Lines, line)
	}
}

// readLine reads one line and strips its CRLF (or a bare LF).
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line != "" {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// splitReplyLine splits "ddd text" or "ddd-text"; a bare "ddd" is taken
// as "ddd ".
func splitReplyLine(line string) (code int, sep byte, text string, err error) {
	if len(line) < 3 {
		return 0, 0, "", fmt.Errorf("%w: %q", ErrBadReply, sanitize(line))
	}
	for i := range 3 {
		if line[i] < '0' || line[i] > '9' {
			return 0, 0, "", fmt.Errorf("%w: %q", ErrBadReply, sanitize(line))
		}
	}
	code, _ = strconv.Atoi(line[:3])
	if code < 100 || code > 599 {
		return 0, 0, "", fmt.Errorf("%w: %q", ErrBadReply, sanitize(line))
	}
	if len(line) == 3 {
		return code, ' ', "", nil
	}
	if sep = line[3]; sep != ' ' && sep != '-' {
		return 0, 0, "", fmt.Errorf("%w: %q", ErrBadReply, sanitize(line))
	}
	return code, sep, line[4:], nil
}
