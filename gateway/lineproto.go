package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
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

// lineReader reads bounded command lines from the control connection.
type lineReader struct {
	br *bufio.Reader
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, maxLine)}
}

// buffered reports bytes read from the connection but not yet consumed;
// after AUTH TLS any such byte is plaintext injection.
func (lr *lineReader) buffered() int { return lr.br.Buffered() }

// readRequest reads and parses one line. Errors other than errBadBytes and
// errBadVerb end the session.
func (lr *lineReader) readRequest() (request, error) {
	line, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return request{}, errLineTooLong
	}
	if err != nil {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			return request{}, io.ErrUnexpectedEOF
		}
		return request{}, err
	}
	return parseRequest(line)
}

// parseRequest validates one raw line (with its LF) and splits it.
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
	s := string(line)
	verb, arg, _ := strings.Cut(s, " ")
	if !validVerb(verb) {
		return request{}, errBadVerb
	}
	return request{verb: strings.ToUpper(verb), arg: arg}, nil
}

// validVerb reports whether v is minVerb to maxVerb ASCII letters and
// digits, starting with a letter.
func validVerb(v string) bool {
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

// replyWriter is the one encoder for everything written on the control
// connection. Interpolated text is neutralised: CR, LF, NUL and 0xFF
// become '?', so a file name can never forge a reply line.
type replyWriter struct {
	bw   *bufio.Writer
	last int // code of the last reply written
}

func newReplyWriter(w io.Writer) *replyWriter {
	return &replyWriter{bw: bufio.NewWriterSize(w, 4096)}
}

// sanitize makes text safe for one reply line.
func sanitize(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) || r == utf8.RuneError {
			b.WriteByte('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r == '\r' || r == '\n' || r == 0 || r == 0xff
}

// write sends a single-line reply and flushes.
func (rw *replyWriter) write(code int, text string) error {
	rw.last = code
	fmt.Fprintf(rw.bw, "%03d %s\r\n", code, sanitize(text))
	return rw.bw.Flush()
}

// writeMulti sends "code-first", each body line indented by one space,
// then "code last", and flushes.
func (rw *replyWriter) writeMulti(code int, first string, body []string, last string) error {
	rw.last = code
	fmt.Fprintf(rw.bw, "%03d-%s\r\n", code, sanitize(first))
	for _, l := range body {
		fmt.Fprintf(rw.bw, " %s\r\n", sanitize(l))
	}
	fmt.Fprintf(rw.bw, "%03d %s\r\n", code, sanitize(last))
	return rw.bw.Flush()
}
