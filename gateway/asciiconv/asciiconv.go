package asciiconv

import (
	"io"
)

// chunkSize bounds how much a ToNetwork reader reads from its source at a
// time; its output buffer is at most twice this.
const chunkSize = 32 * 1024

// NewToNetwork returns a reader that yields r's data with every LF not
// already preceded by CR turned into CRLF. Existing CRLF pairs are kept, so
// "a\r\nb\n" becomes "a\r\nb\r\n". Errors from r, including io.EOF, are
// returned once all converted data has been read.
func NewToNetwork(r io.Reader) io.Reader {
	return &toNetwork{r: r}
}

type toNetwork struct {
	r      io.Reader
	raw    []byte // scratch buffer for reads from r
	out    []byte // converted bytes not yet returned
	prevCR bool   // the last byte read from r was CR
	err    error  // sticky error from r
}

// Read implements io.Reader.
func (c *toNetwork) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.fill(len(p))
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// fill reads one chunk from the source and converts it into c.out.
func (c *toNetwork) fill(want int) {
	size := min(max(want, 512), chunkSize)
	if cap(c.raw) < size {
		c.raw = make([]byte, chunkSize)
	}
	n, err := c.r.Read(c.raw[:size])
	c.err = err
	if n == 0 && err == nil {
		// A source may return 0, nil; the loop in Read tries again.
		return
	}
	out := c.out[:0]
	if cap(out) < 2*n {
		out = make([]byte, 0, 2*chunkSize)
	}
	for _, b := range c.raw[:n] {
		if b == '\n' && !c.prevCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		c.prevCR = b == '\r'
	}
	c.out = out
}

// FromNetwork is a writer that turns CRLF into LF before passing data on.
// A lone CR not followed by LF is kept. Because a CR may be the last byte of
// one Write and its LF the first of the next, a trailing CR is held back
// until the next Write or until Flush or Close; call Close (or Flush) at the
// end of the transfer or a final lone CR is lost.
type FromNetwork struct {
	w         io.Writer
	pendingCR bool   // a CR was the last byte seen and not yet written
	buf       []byte // reused output buffer
	err       error  // sticky error from w
}

// NewFromNetwork returns a FromNetwork writing converted data to w.
func NewFromNetwork(w io.Writer) *FromNetwork {
	return &FromNetwork{w: w}
}

// Write converts p and writes the result to the underlying writer. It
// returns len(p) on success. After an error from the underlying writer the
// FromNetwork is broken: Write, Flush and Close return that error again.
func (c *FromNetwork) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	out := c.buf[:0]
	for _, b := range p {
		if c.pendingCR {
			c.pendingCR = false
			if b == '\n' {
				out = append(out, '\n')
				continue
			}
			out = append(out, '\r')
		}
		if b == '\r' {
			c.pendingCR = true
			continue
		}
		out = append(out, b)
	}
	c.buf = out[:0]
	if len(out) > 0 {
		if _, err := c.w.Write(out); err != nil {
			c.err = err
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes a held-back trailing CR, if any. Call it only at the end of
// the data: a CRLF split across a Flush is written as CR LF.
func (c *FromNetwork) Flush() error {
	if c.err != nil {
		return c.err
	}
	if !c.pendingCR {
		return nil
	}
	c.pendingCR = false
	if _, err := c.w.Write([]byte{'\r'}); err != nil {
		c.err = err
		return err
	}
	return nil
}

// Close flushes a held-back trailing CR. It does not close the underlying
// writer.
func (c *FromNetwork) Close() error {
	return c.Flush()
}
