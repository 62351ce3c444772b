package gateway

import (
	"errors"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// uploadBuf is the size of the blocks an upload reaches its backend in:
// TLS hands over at most one 16 KiB record per read, and batching them
// saves most of the backend's calls.
const uploadBuf = 256 << 10

// writeBehindDepth is how many blocks one upload holds: one being filled,
// the other being hashed and written.
const writeBehindDepth = 2

// uploadBlocks recycles the uploads' blocks (see copyBufs).
var uploadBlocks = sync.Pool{New: func() any { return new([uploadBuf]byte) }}

// errWriteBehindStopped is what a Write after stop returns.
var errWriteBehindStopped = errors.New("upload writer stopped")

// writeBehind gathers an upload's bytes into blocks of uploadBuf and
// hashes them (when h is set) and writes them to dst, in order.
//
// An upload that fits in one block is hashed and written by Flush, on the
// caller's goroutine: a small file starts no goroutine. Once a block
// fills, a goroutine of its own takes over: it hashes and writes each
// full block while the caller fills the next, so that SHA-256 and the
// backend's writes overlap the reading and decrypting of the data
// connection instead of taking turns with it. On one goroutine they set
// the pace of every large upload.
//
// dst's first error comes back from a later Write, or from Flush; nothing
// more is written after it. Write, Flush and stop are used by one
// goroutine. stop, which may follow Flush or come instead of it, returns
// once the goroutine has ended: after it dst is not written again, so the
// caller may then commit or abort the upload and read what dst counted.
type writeBehind struct {
	dst io.Writer
	h   hash.Hash

	// The caller's side.
	cur     *[uploadBuf]byte // the block being filled, or nil
	n       int              // bytes in cur
	running bool             // the goroutine was started
	ended   bool             // Flush or stop ran: no more writes

	// Shared with the goroutine.
	free   chan *[uploadBuf]byte // blocks the caller may fill
	full   chan wbBlock          // blocks to hash and write, in order
	done   chan struct{}         // closed when the goroutine returns
	drop   atomic.Bool           // stop: write nothing more
	failed atomic.Bool           // err is set
	err    error                 // dst's first error; written before failed is set
}

type wbBlock struct {
	buf *[uploadBuf]byte
	n   int
}

func newWriteBehind(dst io.Writer, h hash.Hash) *writeBehind {
	return &writeBehind{dst: dst, h: h}
}

// Write implements io.Writer. It returns dst's error once the goroutine
// has met one.
func (w *writeBehind) Write(p []byte) (int, error) {
	if w.ended {
		return 0, errWriteBehindStopped
	}
	if w.failed.Load() {
		return 0, w.err
	}
	written := 0
	for len(p) > 0 {
		if w.cur == nil {
			w.cur = uploadBlocks.Get().(*[uploadBuf]byte)
		}
		k := copy(w.cur[w.n:], p)
		w.n += k
		p = p[k:]
		written += k
		if w.n == uploadBuf {
			if err := w.handOff(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// handOff passes the full block to the goroutine (starting it the first
// time) and takes the next free block, waiting while the goroutine is
// behind by writeBehindDepth-1 blocks.
func (w *writeBehind) handOff() error {
	if !w.running {
		w.running = true
		w.free = make(chan *[uploadBuf]byte, writeBehindDepth)
		w.full = make(chan wbBlock, writeBehindDepth)
		w.done = make(chan struct{})
		for range writeBehindDepth - 1 {
			w.free <- uploadBlocks.Get().(*[uploadBuf]byte)
		}
		go w.run()
	}
	w.full <- wbBlock{w.cur, w.n}
	w.cur, w.n = <-w.free, 0
	if w.failed.Load() {
		return w.err
	}
	return nil
}

// run hashes and writes the blocks handed off until full is closed. After
// an error, or once stop asked, it only gives the blocks back.
func (w *writeBehind) run() {
	defer close(w.done)
	for b := range w.full {
		if !w.drop.Load() && !w.failed.Load() {
			w.write(b.buf[:b.n])
		}
		w.free <- b.buf // never blocks: free has room for every block
	}
}

// write hashes and writes one block.
func (w *writeBehind) write(p []byte) {
	if w.h != nil {
		w.h.Write(p)
	}
	if _, err := w.dst.Write(p); err != nil {
		w.err = err
		w.failed.Store(true)
	}
}

// Flush hashes and writes what is still gathered and waits until every
// block is written; it returns dst's first error. Nothing can be written
// after it.
func (w *writeBehind) Flush() error {
	if w.ended {
		return errWriteBehindStopped
	}
	if w.running {
		if w.n > 0 {
			w.full <- wbBlock{w.cur, w.n}
			w.cur, w.n = nil, 0
		}
		w.finish()
	} else if w.n > 0 {
		w.write(w.cur[:w.n])
		w.n = 0
	}
	w.ended = true
	w.recycle()
	if w.failed.Load() {
		return w.err
	}
	return nil
}

// stop ends the upload's writing without flushing: blocks not yet
// written are dropped. It may be called more than once, and after Flush.
func (w *writeBehind) stop() {
	if !w.ended {
		w.drop.Store(true)
		if w.running {
			w.finish()
		}
		w.ended = true
	}
	w.recycle()
}

// finish closes the queue and waits for the goroutine.
func (w *writeBehind) finish() {
	close(w.full)
	<-w.done
	w.running = false
}

// recycle gives the blocks back to the pool; the goroutine has ended.
func (w *writeBehind) recycle() {
	if w.cur != nil {
		uploadBlocks.Put(w.cur)
		w.cur, w.n = nil, 0
	}
	for w.free != nil {
		select {
		case b := <-w.free:
			uploadBlocks.Put(b)
		default:
			w.free = nil
		}
	}
}
