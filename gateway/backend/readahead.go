package backend

import (
	"io"
	"io/fs"
	"sync"
)

// ReadAheadChunk is the size of one read-ahead chunk: the gateway's
// transfer pump reads this much at a time.
const ReadAheadChunk = 64 << 10

// readAheadDepth is how many chunks a download reads ahead of its
// reader: 256 KiB per download of a remote backend.
const readAheadDepth = 4

var readAheadBufs = sync.Pool{New: func() any { return new([ReadAheadChunk]byte) }}

// ReadAhead reads src from a goroutine of its own, up to four 64 KiB
// chunks ahead of the caller, for a download from a storage across the
// network. The storage's reads (waiting on it, decrypting what it sends)
// then overlap the gateway's own work on the previous chunk (hashing it,
// encrypting it toward the client) instead of taking turns with it.
//
// The data and the error src returns come out in order: an error after
// some bytes is returned once those bytes have been read. Close may be
// called from another goroutine while a Read is blocked; it closes src
// (which must cut a blocked Read of src short, as a download's Close
// does) and returns once the goroutine has stopped, so src is never read
// after Close returns.
func ReadAhead(src io.ReadCloser) io.ReadCloser {
	r := &readAhead{
		src:    src,
		free:   make(chan *[ReadAheadChunk]byte, readAheadDepth),
		full:   make(chan chunk, readAheadDepth),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range readAheadDepth {
		r.free <- readAheadBufs.Get().(*[ReadAheadChunk]byte)
	}
	go r.fill()
	return r
}

type chunk struct {
	buf *[ReadAheadChunk]byte
	n   int
	err error // src's error after these n bytes, or nil
}

type readAhead struct {
	src    io.ReadCloser
	free   chan *[ReadAheadChunk]byte // buffers the goroutine may fill
	full   chan chunk                 // filled buffers, in order
	done   chan struct{}              // closed by Close
	exited chan struct{}              // closed when fill returns

	// The reader's side, used by one goroutine.
	cur chunk // the chunk being read
	off int   // read position in cur
	err error // sticky: src's error once delivered, or fs.ErrClosed

	closeOnce sync.Once
	closeErr  error
}

// fill reads src into free buffers until src fails or ends, or Close.
func (r *readAhead) fill() {
	defer close(r.exited)
	for {
		var buf *[ReadAheadChunk]byte
		select {
		case buf = <-r.free:
		case <-r.done:
			return
		}
		// Fill the chunk: a network read returns what has arrived (over
		// TLS, one 16 KiB record), and fuller chunks mean fewer writes
		// toward the client.
		n, err := 0, error(nil)
		for n < len(buf) && err == nil {
			var m int
			m, err = r.src.Read(buf[n:])
			n += m
		}
		select {
		case r.full <- chunk{buf: buf, n: n, err: err}:
		case <-r.done:
			r.free <- buf
			return
		}
		if err != nil {
			return
		}
	}
}

// Read implements io.Reader.
func (r *readAhead) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.cur.buf == nil || r.off == r.cur.n {
		if r.cur.buf != nil {
			if r.cur.err != nil {
				r.err = r.cur.err
				return 0, r.err
			}
			r.free <- r.cur.buf // never blocks: free holds every buffer
			r.cur = chunk{}
		}
		select {
		case r.cur = <-r.full:
		case <-r.done:
			r.err = fs.ErrClosed
			return 0, r.err
		}
		r.off = 0
	}
	n := copy(p, r.cur.buf[r.off:r.cur.n])
	r.off += n
	if r.off == r.cur.n && r.cur.err != nil {
		r.err = r.cur.err
		return n, r.err
	}
	return n, nil
}

// Close implements io.Closer: it stops the goroutine, closes src and
// gives the buffers back. A Read after Close fails with fs.ErrClosed.
func (r *readAhead) Close() error {
	r.closeOnce.Do(func() {
		close(r.done)
		r.closeErr = r.src.Close()
		<-r.exited
		// The goroutine has stopped: every buffer is in free, in full,
		// or the reader's current chunk. A Read racing Close may still
		// hold cur, so only free and full are recycled.
	drain:
		for {
			select {
			case b := <-r.free:
				readAheadBufs.Put(b)
			case c := <-r.full:
				readAheadBufs.Put(c.buf)
			default:
				break drain
			}
		}
	})
	return r.closeErr
}
