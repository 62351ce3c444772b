package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// prompt is how long a cancelled operation may take to return.
const prompt = 10 * time.Second

// pattern returns n bytes that differ at every offset modulo 251.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func (s *suite) testConcurrentReaders(t *testing.T) {
	fsys := s.fresh(t)
	data := pattern(256 << 10)
	writeFile(t, fsys, "big", string(data))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		off := int64(i * 4099)
		wg.Go(func() {
			r, err := fsys.Open(t.Context(), "big", off)
			if err != nil {
				errs <- err
				return
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, data[off:]) {
				errs <- fmt.Errorf("reader at %d got %d bytes that differ from the file", off, len(got))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testReplaceAtomic has readers open a file while it is replaced over and
// over; each reader must see one whole version, never a mix or a prefix.
func (s *suite) testReplaceAtomic(t *testing.T) {
	fsys := s.fresh(t)
	const size = 64 << 10
	versions := [][]byte{bytes.Repeat([]byte{'A'}, size), bytes.Repeat([]byte{'B'}, size)}
	writeFile(t, fsys, "f", string(versions[0]))
	ctx := t.Context()
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var writer, readers sync.WaitGroup
	writer.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u, err := fsys.Create(ctx, "f", backend.WriteReplace, 0)
			if err != nil {
				errs <- err
				return
			}
			// Write in pieces so a non-atomic backend would expose a prefix.
			v := versions[i%2]
			for p := 0; p < size; p += 4096 {
				if _, err := u.Write(v[p : p+4096]); err != nil {
					u.Abort()
					errs <- err
					return
				}
			}
			if err := u.Commit(); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 4 {
		readers.Go(func() {
			for range 30 {
				r, err := fsys.Open(ctx, "f", 0)
				if err != nil {
					errs <- fmt.Errorf("open during replace: %w", err)
					return
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
					errs <- fmt.Errorf("reader saw %d bytes that are neither version", len(got))
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantNames(t, fsys, ".", "f")
}

// testConcurrentSessions runs several sessions on one Opener, each busy
// in its own home and in a shared directory, for the race detector.
func (s *suite) testConcurrentSessions(t *testing.T) {
	o := s.opener(t)
	shared := session(t, o, "/shared")
	mkdir(t, shared, "common")
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 6 {
		wg.Go(func() {
			fsys, err := o.Open(ctx, fmt.Sprintf("/u%d", i))
			if err != nil {
				errs <- err
				return
			}
			defer fsys.Close()
			for j := range 10 {
				name := fmt.Sprintf("f%d", j)
				want := fmt.Sprintf("session %d file %d", i, j)
				if err := put(ctx, fsys, name, want); err != nil {
					errs <- err
					return
				}
				if err := put(ctx, shared, fmt.Sprintf("common/s%d-%d", i, j), want); err != nil {
					errs <- err
					return
				}
				if _, err := backend.ReadAll(ctx, shared, "common"); err != nil {
					errs <- err
					return
				}
				got, err := get(ctx, fsys, name)
				if err != nil || got != want {
					errs <- fmt.Errorf("session %d read %q, %v; want %q", i, got, err, want)
					return
				}
			}
			infos, err := backend.ReadAll(ctx, fsys, ".")
			if err != nil || len(infos) != 10 {
				errs <- fmt.Errorf("session %d lists %d entries, %v; want 10", i, len(infos), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(listNames(t, shared, "common")); n != 60 {
		t.Errorf("shared directory has %d entries, want 60", n)
	}
}

// put and get are the goroutine-safe (no t.Fatal) upload and download.
func put(ctx context.Context, fsys backend.FS, name, data string) error {
	u, err := fsys.Create(ctx, name, backend.WriteReplace, 0)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(u, data); err != nil {
		u.Abort()
		return err
	}
	return u.Commit()
}

func get(ctx context.Context, fsys backend.FS, name string) (string, error) {
	r, err := fsys.Open(ctx, name, 0)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

// within runs f and fails the test if it takes longer than prompt.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	returnsWithin(t, what, prompt, f)
}

// returnsWithin runs f and fails the test if it takes longer than d.
func returnsWithin(t *testing.T, what string, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func (s *suite) testCancelRead(t *testing.T) {
	fsys := s.fresh(t)
	const size = 4 << 20
	writeFile(t, fsys, "big", string(pattern(size)))
	ctx, cancel := context.WithCancel(t.Context())
	r, err := fsys.Open(ctx, "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 1024)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	var total int
	var rerr error
	within(t, "Read", func() {
		for rerr == nil {
			var n int
			n, rerr = r.Read(buf)
			total += n
		}
	})
	if errors.Is(rerr, io.EOF) {
		t.Errorf("read to the end (%d more bytes) after cancellation", total)
	}
	within(t, "Close", func() { r.Close() })
}

func (s *suite) testCancelWrite(t *testing.T) {
	fsys := s.fresh(t)
	writeFile(t, fsys, "f", "old")
	for _, mode := range []backend.WriteMode{backend.WriteReplace, backend.WriteAppend} {
		t.Run(mode.String(), func(t *testing.T) {
			if mode == backend.WriteAppend {
				needCap(t, fsys, backend.CapAppend, "CapAppend")
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			u, err := fsys.Create(ctx, "f", mode, 0)
			if err != nil {
				t.Fatal(err)
			}
			chunk := pattern(32 << 10)
			if _, err := u.Write(chunk); err != nil {
				t.Fatal(err)
			}
			cancel()
			var werr error
			within(t, "Write", func() {
				for i := 0; i < 2048 && werr == nil; i++ {
					_, werr = u.Write(chunk)
				}
			})
			if werr == nil {
				t.Errorf("64 MiB written after cancellation without an error")
			}
			within(t, "Abort", func() { u.Abort() })
			if mode == backend.WriteReplace {
				if got := readFile(t, fsys, "f"); got != "old" {
					t.Errorf("cancelled replace changed f to %d bytes", len(got))
				}
			}
			wantNames(t, fsys, ".", "f")
		})
	}
}

func (s *suite) testCancelledContext(t *testing.T) {
	fsys := s.fresh(t)
	writeFile(t, fsys, "f", "x")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := fsys.Stat(ctx, "f")
	wantErr(t, "Stat", err, context.Canceled)
	_, err = fsys.ReadDir(ctx, ".")
	wantErr(t, "ReadDir", err, context.Canceled)
	r, err := fsys.Open(ctx, "f", 0)
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close()
	}
	wantErr(t, "Open and read", err, context.Canceled)
	u, err := fsys.Create(ctx, "g", backend.WriteReplace, 0)
	if err == nil {
		io.WriteString(u, "y")
		err = u.Commit()
		u.Abort()
	}
	wantErr(t, "Create and commit", err, context.Canceled)
	wantErr(t, "Mkdir", fsys.Mkdir(ctx, "d"), context.Canceled)
	wantErr(t, "Rename", fsys.Rename(ctx, "f", "h"), context.Canceled)
	wantErr(t, "Remove", fsys.Remove(ctx, "f"), context.Canceled)
	wantNames(t, fsys, ".", "f")
}
