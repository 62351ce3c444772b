package backend

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// trickle returns at most step bytes per Read, then err after the data.
type trickle struct {
	data []byte
	step int
	err  error
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, t.err
	}
	n := copy(p[:min(len(p), t.step)], t.data)
	t.data = t.data[n:]
	return n, nil
}

func (t *trickle) Close() error { return nil }

func TestReadAheadOrderAndError(t *testing.T) {
	boom := errors.New("storage went away")
	for _, size := range []int{0, 1, ReadAheadChunk - 1, ReadAheadChunk, 9*ReadAheadChunk + 777} {
		for _, end := range []error{io.EOF, boom} {
			data := make([]byte, size)
			rand.Read(data)
			r := ReadAhead(&trickle{data: data, step: 16<<10 + 5, err: end})
			var got bytes.Buffer
			buf := make([]byte, 3000) // smaller than a chunk: a chunk takes several reads
			var err error
			for err == nil {
				var n int
				n, err = r.Read(buf)
				got.Write(buf[:n])
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("size %d, end %v: read %d bytes, not the data", size, end, got.Len())
			}
			if err != end {
				t.Fatalf("size %d: error %v after the data, want %v", size, err, end)
			}
			if _, again := r.Read(buf); again != end {
				t.Fatalf("size %d: a read after the end gave %v, want %v again", size, again, end)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// blocking is a source whose Read blocks until Close, as a download's
// does when the storage stalls; it counts reads that start after Close.
type blocking struct {
	once      sync.Once
	closed    chan struct{}
	afterStop atomic.Int32
	served    atomic.Int32
}

func (b *blocking) Read(p []byte) (int, error) {
	select {
	case <-b.closed:
		b.afterStop.Add(1)
		return 0, fs.ErrClosed
	default:
	}
	if b.served.Add(1) <= 2 {
		return copy(p, "ab"), nil // a little data, then a stall
	}
	<-b.closed
	return 0, fs.ErrClosed
}

func (b *blocking) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// Close from another goroutine cuts a blocked Read short, and once it
// returns the source is not read again.
func TestReadAheadCloseWhileBlocked(t *testing.T) {
	src := &blocking{closed: make(chan struct{})}
	r := ReadAhead(src)
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 10)
		n, err := r.Read(buf) // the goroutine is stalled filling its first chunk
		for err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a Read was blocked")
	}
	select {
	case err := <-got:
		if !errors.Is(err, fs.ErrClosed) {
			t.Fatalf("blocked Read ended with %v, want fs.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked Read did not return after Close")
	}
	reads := src.afterStop.Load()
	time.Sleep(20 * time.Millisecond)
	if n := src.afterStop.Load(); n != reads || n > 1 {
		t.Fatalf("the source was read %d times after Close returned", n)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
