package gateway

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// transfer is one data transfer in flight. The session goroutine creates
// it; the transfer goroutine runs it; ABOR, QUIT and shutdown cancel it.
// It carries copies of what it needs from the session, which may log out
// or end while the transfer goroutine is still finishing.
type transfer struct {
	verb    string
	path    vpath
	dir     Direction
	user    string
	backend string
	mode    string // "binary" or "ascii"
	cancel  context.CancelFunc
	bytes   atomic.Int64
	aborted atomic.Bool
	done    chan struct{}
	once    sync.Once
	// ended, set once the data connection is up, reports whether its
	// stream ended cleanly (TLS close_notify); see openData.
	ended func() error

	// hash, when set, sees every byte pump moves (binary file transfers);
	// offset is the REST offset the transfer started at (RETR, STOR), fs
	// and key are for settleHash, which fills digest when it has ended.
	hash   hash.Hash
	offset int64
	fs     backend.FS
	key    hashKey
	digest transferDigest
	// known, for a whole-file binary download the hash cache already
	// knows, is that entry: the file is sent unhashed, and settleHash
	// records the known sum if the file is still the one it describes.
	known *hashEntry

	// quota, set for uploads, is the upload's reservation: fn grows and
	// commits or aborts it, and runTransfer releases it whatever happened
	// (a no-op once it ended), so a transfer that never ran its fn (the
	// 150 or the data connection failed, a panic) holds nothing.
	quota *policy.Reservation
}

// finish marks the transfer over; safe to call more than once.
func (x *transfer) finish() { x.once.Do(func() { close(x.done) }) }

// xferFunc moves the data once the data connection is up. It returns the
// final reply; err (if any) is logged and decides the transfer result.
type xferFunc func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error)

// startTransfer takes the prepared data connection and runs fn in the
// transfer goroutine; preface is the 150 text.
func (s *session) startTransfer(verb string, p vpath, dir Direction, preface string, fn xferFunc) {
	s.startTransferQuota(verb, p, dir, nil, preface, fn)
}

// startTransferQuota is startTransfer for an upload holding the quota
// reservation res, which the transfer owns from here on.
func (s *session) startTransferQuota(verb string, p vpath, dir Direction, res *policy.Reservation, preface string, fn xferFunc) {
	setup, protP := s.data, s.protP
	s.data = nil
	setup.claim()
	ctx, cancel := context.WithCancel(context.Background())
	x := &transfer{verb: verb, path: p, dir: dir, user: s.ident.User, backend: s.backend,
		mode: "binary", cancel: cancel, done: make(chan struct{}), quota: res}
	if s.ascii {
		x.mode = "ascii"
	}
	if dir != "" {
		// ASCII transfers are not hashed: the bytes on the wire are not the
		// file's bytes. APPE starts wherever the file ends (see settleHash).
		x.fs, x.key = s.fs, s.hashKeyFor(p)
		if !s.ascii {
			x.hash = sha256.New()
		}
		if verb == "RETR" || verb == "STOR" {
			x.offset = s.restOffset
		}
	}
	s.xmu.Lock()
	s.xfer = x
	s.xmu.Unlock()
	s.xferStarted = true
	go s.runTransfer(ctx, x, setup, protP, preface, fn)
}

// runTransfer is the transfer goroutine. Its final reply is sent after
// s.xfer is cleared (so the client's next command is not "busy") and
// before done is closed (so ABOR's 226 follows the 426).
func (s *session) runTransfer(ctx context.Context, x *transfer, setup *dataSetup, protP bool, preface string, fn xferFunc) {
	defer func() {
		// A panic anywhere here ends this session only.
		if v := recover(); v != nil {
			s.log.Error("transfer panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.kill()
		}
		if x.quota != nil {
			x.quota.Release()
		}
		x.finish()
	}()
	start := time.Now()
	r, result, tlsVer, err := s.moveData(ctx, x, setup, protP, preface, fn)
	setup.close()
	x.cancel()
	if x.quota != nil {
		x.quota.Release() // before the final reply: the client may upload again at once
	}
	if x.aborted.Load() && result != TransferOK {
		// An ABOR that arrived after the transfer completed aborted
		// nothing: the file was published, and the reply says so.
		r, result = replyAborted, TransferAborted
	}
	s.settleHash(x, start, result)
	s.record(x, start, result, tlsVer, err)
	s.endTransfer(x, r)
}

// endTransfer clears the transfer in flight, sends its final reply and
// releases anyone waiting in abortTransfer.
func (s *session) endTransfer(x *transfer, r reply) {
	s.xmu.Lock()
	s.xfer = nil
	s.armReadLocked(time.Now().Add(s.srv.cfg.IdleTimeout)) // see setReadDeadline
	s.xmu.Unlock()
	s.replyR(r)
	s.srv.obs.Command(x.verb, r.code)
	x.finish()
	if s.srv.inShutdown.Load() {
		s.shutdownIdle()
	}
}

// moveData sends the 150, opens the data connection and runs fn. A panic
// in fn (a backend bug) becomes a 451 for this transfer.
func (s *session) moveData(ctx context.Context, x *transfer, setup *dataSetup, protP bool, preface string, fn xferFunc) (r reply, result TransferResult, tlsVer uint16, err error) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("transfer panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r, result, err = replyLocalError, TransferFailed, fmt.Errorf("panic: %v", v)
		}
	}()
	if s.reply(150, preface) != nil {
		return replyAborted, TransferFailed, 0, errAborted
	}
	data, tlsVer, ended, err := s.openData(ctx, setup, protP)
	if err != nil {
		return replyFor(err), TransferFailed, 0, err
	}
	x.ended = ended
	stop := context.AfterFunc(ctx, func() { data.Close() })
	defer stop()
	r, result, err = fn(ctx, x, stallConn{data, dataStallTimeout(s.srv.cfg.DataTimeout)})
	data.Close()
	return r, result, tlsVer, err
}

// record logs and counts a finished transfer (listings are not transfers).
func (s *session) record(x *transfer, start time.Time, result TransferResult, tlsVer uint16, err error) {
	if x.dir == "" {
		if err != nil {
			s.log.Debug("listing failed", "error", err)
		}
		return
	}
	rec := TransferRecord{
		Time:        time.Now(),
		SessionID:   s.id,
		User:        x.user,
		Client:      s.client,
		Direction:   x.dir,
		Path:        x.path.String(),
		Bytes:       x.bytes.Load(),
		Duration:    time.Since(start),
		Result:      result,
		TLSVersion:  tlsVer,
		Backend:     x.backend,
		Mode:        x.mode,
		SHA256:      x.digest.sha256,
		Offset:      x.digest.offset,
		RangeSHA256: x.digest.rangeSHA256,
	}
	s.srv.obs.Transfer(rec)
	if s.srv.cfg.TransferLog != nil {
		s.srv.cfg.TransferLog.LogTransfer(rec)
	} else {
		s.log.Info("transfer", "direction", string(rec.Direction), "path", rec.Path, "bytes", rec.Bytes,
			"duration_ms", rec.Duration.Milliseconds(), "result", string(rec.Result), "tls_version", TLSVersionName(tlsVer),
			"sha256", rec.SHA256)
	}
	if err != nil && result != TransferOK {
		s.log.Info("transfer failed", "path", rec.Path, "error", err)
	}
}

// abortTransfer cancels the transfer in flight and waits for it to end;
// its goroutine sends the 426.
func (s *session) abortTransfer() bool {
	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x == nil {
		return false
	}
	x.aborted.Store(true)
	x.cancel()
	<-x.done
	return true
}

func (s *session) cmdABOR(req request) {
	if s.abortTransfer() {
		s.replyR(replyAborSuccessful)
		return
	}
	s.closeData()
	s.replyR(replyNoTransferAbort)
}

// dataStallTimeout bounds a single read or write on a data connection.
func dataStallTimeout(dataTimeout time.Duration) time.Duration {
	return max(2*dataTimeout, time.Minute)
}

// stallConn refreshes a per-I/O deadline, so a stalled peer ends the
// transfer instead of holding the session forever.
type stallConn struct {
	net.Conn
	d time.Duration
}

func (c stallConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c stallConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

// copyBuf is the transfer chunk size.
const copyBuf = 64 << 10

// copyBufs recycles pump's chunk buffers: a small file's transfer would
// otherwise leave 64 KiB of garbage each, which at hundreds of files a
// second is most of what the collector has to do.
var copyBufs = sync.Pool{New: func() any { return new([copyBuf]byte) }}

// pump copies src to dst in chunks: check (if set) runs before each chunk
// is written, wait (if set) paces it, x counts what was written, and h
// (if set) hashes it, with one Write per chunk.
func pump(ctx context.Context, dst io.Writer, src io.Reader, x *transfer, h hash.Hash,
	check func(total int64) error, wait func(ctx context.Context, n int) error) error {
	chunk := copyBufs.Get().(*[copyBuf]byte)
	defer copyBufs.Put(chunk) // dst and the hash copy what they keep (io.Writer)
	buf := chunk[:]
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if check != nil {
				if err := check(x.bytes.Load() + int64(n)); err != nil {
					return err
				}
			}
			if wait != nil {
				if err := wait(ctx, n); err != nil {
					return err
				}
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
			if h != nil {
				h.Write(buf[:n])
			}
			x.bytes.Add(int64(n))
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
