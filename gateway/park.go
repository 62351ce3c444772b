package gateway

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// parkingReader is what an idle TLS session's lineReader reads from. A
// read through crypto/tls waits for the network deep inside the TLS
// record layer, and the goroutine's stack keeps that depth for as long as
// the session is idle. With a parkingReader the lineReader only tries to
// read; the session then waits for the TCP socket to become readable at
// the top of its stack (session.readCommand), where the garbage collector
// can shrink the stack to its minimum, and reads through TLS once bytes
// have arrived.
//
// Before the session waits, tryRead asks TLS for what it may hold already (a second
// record read along with the first, or the rest of a record's plaintext)
// with a read that cannot wait: its deadline is in the past. A timeout
// there is not sticky in crypto/tls, and restore puts the session's own
// deadline back, so the wait on the socket honours it.
type parkingReader struct {
	tc      net.Conn        // the TLS connection
	rc      syscall.RawConn // the TCP socket below it
	restore func()          // re-arms the session's read deadline
	readyFn func(fd uintptr) bool
	peek    [1]byte
	woken   bool // wait saw the socket readable: the next read may wait
}

// aLongTimeAgo is a read deadline that has passed.
var aLongTimeAgo = time.Unix(1, 0)

// newParkingReader returns a parkingReader for tc over raw, or nil
// when raw is not a plain TCP connection (a PROXY protocol connection
// buffers bytes the socket no longer shows).
func newParkingReader(tc net.Conn, raw net.Conn, restore func()) *parkingReader {
	tcp, ok := raw.(*net.TCPConn)
	if !ok || !canPeek {
		return nil
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return nil
	}
	pr := &parkingReader{tc: tc, rc: rc, restore: restore}
	pr.readyFn = pr.ready
	return pr
}

// errWouldWait is what tryRead returns when nothing can be read without
// waiting.
var errWouldWait = errors.New("no bytes to read without waiting")

// Read reads through TLS, waiting as a TLS read does.
func (pr *parkingReader) Read(p []byte) (int, error) { return pr.tc.Read(p) }

// tryRead reads what TLS holds or the socket has, or fails with
// errWouldWait without waiting.
func (pr *parkingReader) tryRead(p []byte) (int, error) {
	if pr.woken {
		// The socket has something; a read with a past deadline would
		// not even look (the runtime checks the deadline first).
		pr.woken = false
		return pr.tc.Read(p)
	}
	pr.tc.SetReadDeadline(aLongTimeAgo)
	n, err := pr.tc.Read(p)
	pr.restore()
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, errWouldWait
	}
	return n, err
}

// wait returns once the socket has something to read (bytes, end of
// stream or an error), or with the read deadline's error.
func (pr *parkingReader) wait() error {
	err := pr.rc.Read(pr.readyFn)
	pr.woken = err == nil
	return err
}

// ready reports whether the socket has a byte, end of stream or an error
// to read, without consuming anything; false makes the runtime wait for
// the socket and ask again.
func (pr *parkingReader) ready(fd uintptr) bool {
	return peekReady(fd, pr.peek[:])
}
