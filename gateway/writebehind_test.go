package gateway

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// slowSink records what reaches it, a little slowly, so the write-behind
// goroutine lags the caller; failAfter > 0 makes the write that would
// pass that many bytes fail.
type slowSink struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	writes    int
	failAfter int
}

var errSink = errors.New("sink full")

func (s *slowSink) Write(p []byte) (int, error) {
	time.Sleep(200 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAfter > 0 && s.buf.Len()+len(p) > s.failAfter {
		return 0, errSink
	}
	s.writes++
	return s.buf.Write(p)
}

func (s *slowSink) snapshot() ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes()), s.writes
}

// writeAll feeds data to w in chunks of the given size, as pump does.
func writeAll(w io.Writer, data []byte, chunk int) error {
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func TestWriteBehindOrderAndHash(t *testing.T) {
	for _, size := range []int{0, 1, 4096, uploadBuf - 1, uploadBuf, uploadBuf + 1, 5*uploadBuf + 12345} {
		data := make([]byte, size)
		rand.Read(data)
		sink := &slowSink{}
		h := sha256.New()
		w := newWriteBehind(sink, h)
		if err := writeAll(w, data, 16<<10+13); err != nil {
			t.Fatalf("size %d: write: %v", size, err)
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("size %d: flush: %v", size, err)
		}
		w.stop()
		got, writes := sink.snapshot()
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: the sink got %d bytes, not the data written", size, len(got))
		}
		if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("size %d: hash differs from the data's", size)
		}
		// Whole blocks only, but the last.
		if want := (size + uploadBuf - 1) / uploadBuf; writes != want {
			t.Errorf("size %d: %d writes, want %d", size, writes, want)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Errorf("size %d: a write after Flush was accepted", size)
		}
	}
}

// A small upload is written on the caller's goroutine: no goroutine is
// started, so thousands of small files cost no goroutine each.
func TestWriteBehindSmallUploadNoGoroutine(t *testing.T) {
	sink := &slowSink{}
	w := newWriteBehind(sink, sha256.New())
	before := runtime.NumGoroutine()
	if err := writeAll(w, make([]byte, uploadBuf-1), 4096); err != nil {
		t.Fatal(err)
	}
	// Goroutines of earlier tests' sessions may end meanwhile: only more
	// goroutines, or a running writer, is a failure.
	if n := runtime.NumGoroutine(); n > before || w.running {
		t.Fatalf("goroutines %d -> %d, running %v: a one-block upload started the writer", before, n, w.running)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, _ := sink.snapshot(); len(got) != uploadBuf-1 {
		t.Fatalf("sink got %d bytes", len(got))
	}
}

// The sink's error comes back to the caller (from a Write or from Flush),
// and nothing reaches the sink after it.
func TestWriteBehindError(t *testing.T) {
	data := make([]byte, 8*uploadBuf)
	sink := &slowSink{failAfter: 2*uploadBuf + 1}
	w := newWriteBehind(sink, nil)
	err := writeAll(w, data, 16<<10)
	if err == nil {
		err = w.Flush()
	}
	w.stop()
	if !errors.Is(err, errSink) {
		t.Fatalf("error %v, want the sink's", err)
	}
	if got, _ := sink.snapshot(); len(got) != 2*uploadBuf {
		t.Fatalf("sink holds %d bytes, want the %d before the failure", len(got), 2*uploadBuf)
	}
}

// stop without Flush drops what is not written yet, and once it returns
// the sink is never written again (the caller may then abort the upload).
func TestWriteBehindStop(t *testing.T) {
	sink := &slowSink{}
	w := newWriteBehind(sink, sha256.New())
	if err := writeAll(w, make([]byte, 3*uploadBuf+100), 16<<10); err != nil {
		t.Fatal(err)
	}
	w.stop()
	got, _ := sink.snapshot()
	if len(got)%uploadBuf != 0 || len(got) > 3*uploadBuf {
		t.Fatalf("after stop the sink holds %d bytes: not whole blocks of the data written", len(got))
	}
	time.Sleep(5 * time.Millisecond)
	if again, _ := sink.snapshot(); len(again) != len(got) {
		t.Fatalf("the sink grew from %d to %d bytes after stop returned", len(got), len(again))
	}
	if err := w.Flush(); err == nil {
		t.Fatal("Flush after stop succeeded")
	}
	w.stop() // again: a no-op
}
