package backendtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// killBlocks is the size, in blocks, of the file read across a Kill: more
// than any client-side read-ahead.
const killBlocks = 16

// looseSession opens home on o and closes it when the test ends, ignoring
// Close's error: a fault hook may have broken the session.
func looseSession(t *testing.T, o backend.Opener, home string) backend.FS {
	t.Helper()
	fsys, err := o.Open(t.Context(), home)
	if err != nil {
		t.Fatalf("Open(%q): %v", home, err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

// writeBlocks writes n generated blocks to name and returns their sha256.
func writeBlocks(t *testing.T, fsys backend.FS, name string, n int64) []byte {
	t.Helper()
	g, h := newGen(), sha256.New()
	u, err := fsys.Create(t.Context(), name, backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Abort()
	for i := range n {
		b := g.next(i)
		h.Write(b)
		if _, err := u.Write(b); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	if err := u.Commit(); err != nil {
		t.Fatalf("commit %s: %v", name, err)
	}
	return h.Sum(nil)
}

// wantSum checks name's sha256.
func wantSum(t *testing.T, fsys backend.FS, name string, want []byte) {
	t.Helper()
	r, err := fsys.Open(t.Context(), name, 0)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		t.Errorf("%s changed: sha256 %x, want %x", name, got, want)
	}
}

// testKillRead drops the connections under an open download: the reader
// fails instead of reaching the end, the file is intact and a new
// session reads it.
func (s *suite) testKillRead(t *testing.T) {
	need(t, "Kill", s.h.Kill != nil)
	o := s.opener(t)
	victim := looseSession(t, o, "/user")
	sum := writeBlocks(t, victim, "f", killBlocks)
	r, err := victim.Open(t.Context(), "f", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 64<<10)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	s.h.Kill(t)
	var rerr error
	within(t, "Read after Kill", func() {
		for rerr == nil {
			_, rerr = r.Read(buf)
		}
	})
	if errors.Is(rerr, io.EOF) {
		t.Errorf("reader reached the end of a %s file after Kill", mib(killBlocks*blockSize))
	}
	after := session(t, o, "/user")
	wantSum(t, after, "f", sum)
	wantNames(t, after, ".", "f")
}

// testKillWrite drops the connections under an upload: a Write or the
// Commit fails, the destination keeps its old content (or stays
// missing), no temporary file is listed and a new session works.
func (s *suite) testKillWrite(t *testing.T) {
	need(t, "Kill", s.h.Kill != nil)
	for _, mode := range []backend.WriteMode{backend.WriteReplace, backend.WriteExclusive} {
		t.Run(mode.String(), func(t *testing.T) {
			o := s.opener(t)
			victim := looseSession(t, o, "/user")
			writeFile(t, victim, "f", "old")
			name := map[backend.WriteMode]string{backend.WriteReplace: "f", backend.WriteExclusive: "new"}[mode]
			u, err := victim.Create(t.Context(), name, mode, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Abort()
			g := newGen()
			if _, err := u.Write(g.next(0)); err != nil {
				t.Fatal(err)
			}
			s.h.Kill(t)
			var werr error
			within(t, "upload after Kill", func() {
				for i := int64(1); i < 64 && werr == nil; i++ {
					_, werr = u.Write(g.next(i))
				}
				if werr == nil {
					werr = u.Commit()
				}
			})
			if werr == nil {
				t.Errorf("upload committed after Kill")
			}
			u.Abort()
			after := session(t, o, "/user")
			wantContent(t, after, "f", "old")
			wantNames(t, after, ".", "f")
		})
	}
}

// failBound is how long an operation on failed storage may take to fail:
// 3×OpTimeout, or 30 s when the harness gives no timeout.
func (s *suite) failBound() time.Duration {
	if s.h.OpTimeout > 0 {
		return 3 * s.h.OpTimeout
	}
	return 30 * time.Second
}

// testUnreachable stops the storage: Open fails wrapping ErrUnavailable
// (421 at login), Probe and a live session fail, and after the restart
// the same Opener serves new sessions with the data intact.
func (s *suite) testUnreachable(t *testing.T) {
	need(t, "Stop", s.h.Stop != nil)
	o := s.opener(t)
	ctx := t.Context()
	before := looseSession(t, o, "/user")
	writeFile(t, before, "f", "kept")
	restart := s.h.Stop(t)
	defer restart()
	bound := s.failBound()
	var err error
	returnsWithin(t, "Open while stopped", bound, func() {
		var fsys backend.FS
		if fsys, err = o.Open(ctx, "/user"); err == nil {
			fsys.Close()
		}
	})
	wantErr(t, "Open while the storage is stopped", err, backend.ErrUnavailable)
	returnsWithin(t, "Probe while stopped", bound, func() { err = o.Probe(ctx) })
	if err == nil {
		t.Errorf("Probe succeeded while the storage is stopped")
	}
	returnsWithin(t, "Stat on a live session while stopped", bound, func() { _, err = before.Stat(ctx, "f") })
	if err == nil {
		t.Errorf("Stat on a live session succeeded while the storage is stopped")
	}
	restart()
	after := eventually(t, o, "/user")
	wantContent(t, after, "f", "kept")
}

// eventually opens home on o, retrying for up to 30 s while the storage
// comes back.
func eventually(t *testing.T, o backend.Opener, home string) backend.FS {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fsys, err := o.Open(t.Context(), home)
		if err == nil {
			t.Cleanup(func() { fsys.Close() })
			return fsys
		}
		if time.Now().After(deadline) {
			t.Fatalf("Open(%q) after restart: %v", home, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// testPermissionDenied has the storage refuse a directory: changes in it
// fail wrapping fs.ErrPermission (550), reads either work or fail the
// same way, and the rest of the home is unaffected.
func (s *suite) testPermissionDenied(t *testing.T) {
	need(t, "Deny", s.h.Deny != nil)
	o := s.opener(t)
	fsys := session(t, o, "/user")
	ctx := t.Context()
	mkdir(t, fsys, "locked")
	writeFile(t, fsys, "locked/f", "secret")
	writeFile(t, fsys, "open", "x")
	s.h.Deny(t, o, "/user", "locked")

	wantErr(t, "upload into the denied directory", tryUpload(t, fsys, "locked/new", backend.WriteReplace, 0), fs.ErrPermission)
	wantErr(t, "Mkdir in the denied directory", fsys.Mkdir(ctx, "locked/sub"), fs.ErrPermission)
	wantErr(t, "Remove in the denied directory", fsys.Remove(ctx, "locked/f"), fs.ErrPermission)
	maybeDenied(t, "Open and read in the denied directory", func() (string, error) { return get(ctx, fsys, "locked/f") }, "secret")
	maybeDenied(t, "list the denied directory", func() (string, error) {
		infos, err := backend.ReadAll(ctx, fsys, "locked")
		var names []string
		for _, fi := range infos {
			names = append(names, fi.Name())
		}
		return strings.Join(names, ","), err
	}, "f")
	writeFile(t, fsys, "open2", "y")
	wantContent(t, fsys, "open", "x")
	wantNames(t, fsys, ".", "locked", "open", "open2")
}

// maybeDenied checks a read the storage may allow or refuse: it returns
// want, or fails wrapping fs.ErrPermission.
func maybeDenied(t *testing.T, what string, f func() (string, error), want string) {
	t.Helper()
	got, err := f()
	switch {
	case err != nil && !errors.Is(err, fs.ErrPermission):
		t.Errorf("%s: %v, want success or fs.ErrPermission", what, err)
	case err == nil && got != want:
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// testNoSpace fills storage with under 2 MiB free: the upload fails
// wrapping ErrNoSpace (452), leaves no partial file, and the space is
// given back.
func (s *suite) testNoSpace(t *testing.T) {
	need(t, "Small", s.h.Small != nil)
	o := closeAtEnd(t, s.h.Small(t))
	fsys := session(t, o, "/user")
	writeFile(t, fsys, "keep", "k")
	chunk := pattern(64 << 10)
	for _, mode := range []backend.WriteMode{backend.WriteReplace, backend.WriteExclusive} {
		u, err := fsys.Create(t.Context(), "big", mode, 0)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 4<<20 && err == nil; n += len(chunk) {
			_, err = u.Write(chunk)
		}
		if err == nil {
			err = u.Commit()
		}
		u.Abort()
		wantErr(t, fmt.Sprintf("%v upload of 4 MiB to storage with under 2 MiB free", mode), err, backend.ErrNoSpace)
		wantMissing(t, fsys, "big")
		wantNames(t, fsys, ".", "keep")
	}
	writeFile(t, fsys, "after", string(pattern(64<<10)))
	wantContent(t, fsys, "keep", "k")
}

// testStall freezes the storage: each kind of operation, including a
// Read on an open download, fails within 3×OpTimeout wrapping
// context.DeadlineExceeded or ErrUnavailable (451), and after resume a
// new session works.
func (s *suite) testStall(t *testing.T) {
	need(t, "Stall", s.h.Stall != nil)
	o := s.opener(t)
	ctx := t.Context()
	fsys := looseSession(t, o, "/user")
	sum := writeBlocks(t, fsys, "f", killBlocks)
	r, err := fsys.Open(ctx, "f", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	resume := s.h.Stall(t) // it may skip
	defer resume()
	if s.h.OpTimeout <= 0 {
		t.Skip("Harness.OpTimeout is 0: the Stall subtest needs the Openers' operation timeout")
	}
	s.stallOps(t, resume, map[string]func() error{
		"Stat":    func() error { _, err := fsys.Stat(ctx, "f"); return err },
		"ReadDir": func() error { _, err := backend.ReadAll(ctx, fsys, "."); return err },
		"Read":    func() error { _, err := io.Copy(io.Discard, r); return err },
		"Upload":  func() error { return tryUpload(t, fsys, "g", backend.WriteReplace, 0) },
		"Open": func() error {
			other, err := o.Open(ctx, "/other")
			if err == nil {
				other.Close()
			}
			return err
		},
	})
	after := eventually(t, o, "/user")
	wantSum(t, after, "f", sum)
}

// stallOps runs ops at once on stalled storage and checks that each fails
// in time with a timeout or unavailability error; then it resumes the
// storage and waits for stragglers.
func (s *suite) stallOps(t *testing.T, resume func(), ops map[string]func() error) {
	t.Helper()
	bound := s.failBound()
	type result struct {
		err  error
		took time.Duration
	}
	var mu sync.Mutex
	results := map[string]result{}
	var wg sync.WaitGroup
	for name, op := range ops {
		wg.Go(func() {
			start := time.Now()
			err := op()
			mu.Lock()
			results[name] = result{err, time.Since(start)}
			mu.Unlock()
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(bound + bound/10):
	}
	mu.Lock()
	for name := range ops {
		res, ok := results[name]
		switch {
		case !ok:
			t.Errorf("%s on stalled storage did not return within %v (3×OpTimeout)", name, bound)
		case res.took > bound:
			t.Errorf("%s on stalled storage took %v, bound %v", name, res.took, bound)
		case !errors.Is(res.err, context.DeadlineExceeded) && !errors.Is(res.err, backend.ErrUnavailable):
			t.Errorf("%s on stalled storage: %v, want context.DeadlineExceeded or ErrUnavailable", name, res.err)
		default:
			t.Logf("%s failed after %v: %v", name, res.took.Round(time.Millisecond), res.err)
		}
	}
	mu.Unlock()
	resume()
	within(t, "operations stuck on the stall, after resume", func() { <-done })
}
