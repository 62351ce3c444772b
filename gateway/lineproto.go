package gateway

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxLine is the longest command line accepted, CRLF included.
const maxLine = 4096

// Errors from the line reader.
var (
	// errLineTooLong: the client sent more than maxLine bytes without a
	// line end; the connection is closed after a 500.
	errLineTooLong = errors.New("command line too long")
	// errBadBytes: NUL, control bytes or invalid UTF-8; answered 501.
	errBadBytes = errors.New("invalid bytes in command")
	// errBadVerb: the verb is not an ASCII letter followed by letters or
	// digits, minVerb to maxVerb bytes in all; answered 500.
	errBadVerb = errors.New("malformed command")
)

// Verb length bounds. RFC 959 verbs have 3 or 4 letters; the de-facto
// digest commands (XSHA256, XSHA512) need 7. Unknown verbs of any valid
// shape still get 500 from the dispatcher.
const (
	minVerb = 3
	maxVerb = 7
)

// request is one parsed command line. verb is upper-case ASCII; arg is
// the text after the first space, validated UTF-8 without control bytes.
type request struct {
	verb string
	arg  string
}

// lineBufs holds the line buffers of the sessions that are between a
// command's first byte and its line end: an idle session holds none.
var lineBufs = sync.Pool{New: func() any { return new([maxLine]byte) }}

// idleRead is the size of the read a lineReader waits in while idle.
const idleRead = 64

// maxEmptyReads bounds consecutive reads that return neither bytes nor an
// error (as bufio does).
const maxEmptyReads = 100

// lineReader reads bounded command lines from the control connection. It
// holds no line buffer while idle: it waits for the next command in a read
// into its small first array. A read that returns exactly one line is
// parsed from there; otherwise it takes a maxLine buffer from lineBufs and
// gives it back as soon as every byte read has been consumed. Only the
// session goroutine uses it.
type lineReader struct {
	r     io.Reader
	buf   *[maxLine]byte // nil while nothing is buffered
	start int            // buf[start:end] is read but not consumed
	end   int
	err   error // a read error, returned once the bytes before it are consumed
	first [idleRead]byte
	park  *parkingReader // if set, a read with nothing buffered does not wait
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r}
}

// buffered reports bytes read from the connection but not yet consumed;
// after AUTH TLS any such byte is plaintext injection.
func (lr *lineReader) buffered() int { return lr.end - lr.start }

// readRequest reads and parses one line. Errors other than errBadBytes and
// errBadVerb end the session.
func (lr *lineReader) readRequest() (request, error) {
	line, err := lr.readLine()
	if err != nil {
		return request{}, err
	}
	req, err := parseRequest(line) // copies what it keeps
	lr.release()
	return req, err
}

// readLine returns the next line, LF included, valid until the next call
// or release. A line of maxLine bytes without its LF is errLineTooLong;
// EOF inside a line is io.ErrUnexpectedEOF.
func (lr *lineReader) readLine() ([]byte, error) {
	for empty := 0; lr.buf == nil; {
		if err := lr.takeErr(); err != nil {
			return nil, err
		}
		var n int
		var err error
		if lr.park != nil {
			if n, err = lr.park.tryRead(lr.first[:]); err == errWouldWait {
				return nil, err
			}
		} else {
			n, err = lr.r.Read(lr.first[:])
		}
		lr.err = err
		if n > 0 && bytes.IndexByte(lr.first[:n], '\n') == n-1 {
			return lr.first[:n], nil // exactly one line: no buffer needed
		}
		if n > 0 {
			lr.buf = lineBufs.Get().(*[maxLine]byte)
			lr.start, lr.end = 0, copy(lr.buf[:], lr.first[:n])
		} else if err == nil {
			if empty++; empty == maxEmptyReads {
				return nil, io.ErrNoProgress
			}
		}
	}
	for empty := 0; ; {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			line := lr.buf[lr.start : lr.start+i+1]
			lr.start += i + 1
			return line, nil
		}
		if lr.err != nil {
			partial := lr.end > lr.start
			lr.discard()
			err := lr.takeErr()
			if partial && errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if lr.end-lr.start >= maxLine {
			lr.discard()
			return nil, errLineTooLong
		}
		if lr.start > 0 {
			lr.end = copy(lr.buf[:], lr.buf[lr.start:lr.end])
			lr.start = 0
		}
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		lr.err = err
		if n == 0 && err == nil {
			if empty++; empty == maxEmptyReads {
				lr.err = io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
}

func (lr *lineReader) takeErr() error {
	err := lr.err
	lr.err = nil
	return err
}

// discard drops every buffered byte and the buffer.
func (lr *lineReader) discard() {
	lr.start = lr.end
	lr.release()
}

// release gives the buffer back once nothing in it is left to consume.
func (lr *lineReader) release() {
	if lr.buf != nil && lr.start == lr.end {
		lineBufs.Put(lr.buf)
		lr.buf, lr.start, lr.end = nil, 0, 0
	}
}

// verbNames interns the command table's verbs, so that parsing a known
// verb allocates nothing. Built on first use: the table is filled by an
// init function.
var verbNames = sync.OnceValue(func() map[string]string {
	m := make(map[string]string, len(commands))
	for v := range commands {
		m[v] = v
	}
	return m
})

// parseRequest validates one raw line (with its LF) and splits it. The
// request does not refer to line.
func parseRequest(line []byte) (request, error) {
	line = trimLineEnd(line)
	line = stripTelnet(line)
	if !utf8.Valid(line) {
		return request{}, errBadBytes
	}
	for _, b := range line {
		if b < 0x20 || b == 0x7f {
			return request{}, errBadBytes
		}
	}
	verb, arg, _ := bytes.Cut(line, []byte{' '})
	if !validVerb(verb) {
		return request{}, errBadVerb
	}
	var upper [maxVerb]byte
	for i, c := range verb {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper[i] = c
	}
	req := request{verb: verbNames()[string(upper[:len(verb)])]}
	if req.verb == "" {
		req.verb = string(upper[:len(verb)])
	}
	if len(arg) > 0 {
		req.arg = string(arg)
	}
	return req, nil
}

// validVerb reports whether v is minVerb to maxVerb ASCII letters and
// digits, starting with a letter.
func validVerb[T ~string | ~[]byte](v T) bool {
	if len(v) < minVerb || len(v) > maxVerb {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		digit := '0' <= c && c <= '9'
		if !letter && !(digit && i > 0) {
			return false
		}
	}
	return true
}

func trimLineEnd(b []byte) []byte {
	b = b[:len(b)-1] // the LF
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// stripTelnet removes the Telnet IAC sequences clients put before ABOR
// (IAC IP, IAC DM) and a lone DM left behind by urgent-data handling.
func stripTelnet(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case b[0] == 0xff && len(b) >= 2:
			b = b[2:]
		case b[0] == 0xf2:
			b = b[1:]
		default:
			return b
		}
	}
	return b
}

// replyBufs holds the buffers replies are encoded in, so an idle session
// holds no write buffer.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledReply: larger reply buffers (long multi-line replies) are left
// to the garbage collector.
const maxPooledReply = 64 << 10

// replyWriter is the one encoder for everything written on the control
// connection. Interpolated text is neutralised: CR, LF, NUL and 0xFF
// become '?', so a file name can never forge a reply line. Each reply is
// encoded whole and written with one Write; after a failed write every
// later one fails with the same error.
type replyWriter struct {
	w    io.Writer
	err  error // the first write error
	last int   // code of the last reply written
}

func newReplyWriter(w io.Writer) *replyWriter {
	return &replyWriter{w: w}
}

// sanitize makes text safe for one reply line.
func sanitize(s string) string {
	if safeText(s) {
		return s
	}
	return string(appendSanitized(nil, s))
}

// safeText reports whether s needs no replacement: valid UTF-8 without
// an unsafe rune. ASCII text is checked byte by byte.
func safeText(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return false
		case c >= utf8.RuneSelf:
			return strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s)
		}
	}
	return true
}

// appendSanitized appends s with every unsafe rune and every invalid
// byte replaced by '?'.
func appendSanitized(b []byte, s string) []byte {
	if safeText(s) {
		return append(b, s...)
	}
	for _, r := range s {
		if unsafeRune(r) || r == utf8.RuneError {
			b = append(b, '?')
			continue
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}

func unsafeRune(r rune) bool {
	return r == '\r' || r == '\n' || r == 0 || r == 0xff
}

// appendLine appends one reply line: the code as three digits (as %03d),
// sep, the sanitised text and CRLF.
func appendLine(b []byte, code int, sep byte, text string) []byte {
	if code >= 0 && code < 1000 {
		b = append(b, byte('0'+code/100), byte('0'+code/10%10), byte('0'+code%10))
	} else {
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return appendBody(append(b, sep), text)
}

// appendBody appends the sanitised text and CRLF.
func appendBody(b []byte, text string) []byte {
	b = appendSanitized(b, text)
	return append(b, '\r', '\n')
}

// send writes one encoded reply.
func (rw *replyWriter) send(encode func([]byte) []byte) error {
	if rw.err != nil {
		return rw.err
	}
	bp := replyBufs.Get().(*[]byte)
	b := encode((*bp)[:0])
	_, rw.err = rw.w.Write(b)
	if cap(b) <= maxPooledReply {
		*bp = b[:0]
		replyBufs.Put(bp)
	}
	return rw.err
}

// write sends a single-line reply.
func (rw *replyWriter) write(code int, text string) error {
	rw.last = code
	return rw.send(func(b []byte) []byte { return appendLine(b, code, ' ', text) })
}

// writeMulti sends "code-first", each body line indented by one space,
// then "code last".
func (rw *replyWriter) writeMulti(code int, first string, body []string, last string) error {
	rw.last = code
	return rw.send(func(b []byte) []byte {
		b = appendLine(b, code, '-', first)
		for _, l := range body {
			b = appendBody(append(b, ' '), l)
		}
		return appendLine(b, code, ' ', last)
	})
}
