package backendtest

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// memOpTimeout is the operation timeout of the harness's memory openers.
const memOpTimeout = 100 * time.Millisecond

// memHarness returns a Harness over memory openers with caps, wiring
// every fault hook to the MemOpener methods; hooks act on all openers
// the harness created that are still in use.
func memHarness(caps backend.Caps) Harness {
	var mu sync.Mutex
	live := map[*MemOpener]bool{}
	create := func(t *testing.T) *MemOpener {
		o := NewMemOpener()
		o.SetCaps(caps)
		o.SetOpTimeout(memOpTimeout)
		mu.Lock()
		live[o] = true
		mu.Unlock()
		t.Cleanup(func() {
			mu.Lock()
			delete(live, o)
			mu.Unlock()
		})
		return o
	}
	each := func(f func(o *MemOpener) func()) func() {
		mu.Lock()
		defer mu.Unlock()
		var undo []func()
		for o := range live {
			undo = append(undo, f(o))
		}
		return func() {
			for _, u := range undo {
				u()
			}
		}
	}
	return Harness{
		New:  func(t *testing.T) backend.Opener { return create(t) },
		Kill: func(t *testing.T) { each(func(o *MemOpener) func() { o.Kill(); return nil }) },
		Stop: func(t *testing.T) func() { return each((*MemOpener).Stop) },
		Deny: func(t *testing.T, o backend.Opener, home, name string) {
			if err := o.(*MemOpener).Deny(home, name); err != nil {
				t.Fatal(err)
			}
		},
		Small: func(t *testing.T) backend.Opener {
			o := create(t)
			o.SetLimit(1 << 20)
			return o
		},
		Stall:     func(t *testing.T) func() { return each((*MemOpener).Stall) },
		OpTimeout: memOpTimeout,
		InHeap:    true,
	}
}

func TestMemConformance(t *testing.T) {
	RunHarness(t, memHarness(backend.AllCaps))
}

// TestMemConformanceNoCaps runs the suite against a memory backend that
// reports no optional capability, so the suite's refusal checks run. The
// big transfer is the small one: TestMemConformance moves the 1 GiB.
func TestMemConformanceNoCaps(t *testing.T) {
	t.Setenv("FTPSGW_SUITE_BIG", "0")
	RunHarness(t, memHarness(0))
}

// TestMemReaderSnapshot checks the copy-on-write rule: a reader keeps the
// bytes it was opened on while an in-place upload goes on writing.
func TestMemReaderSnapshot(t *testing.T) {
	fsys, err := NewMemOpener().Open(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "f", "0123456789")
	u, err := fsys.Create(t.Context(), "f", backend.WriteAt, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write([]byte("XX")); err != nil {
		t.Fatal(err)
	}
	r, err := fsys.Open(t.Context(), "f", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := u.Write([]byte("YY")); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	upload(t, fsys, "f", backend.WriteAppend, 0, "ZZ")
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "01XX456789" {
		t.Errorf("reader opened mid-upload read %q", got)
	}
	if got := readFile(t, fsys, "f"); got != "01XXYYZZ" {
		t.Errorf("file holds %q after the uploads", got)
	}
}

// TestMemStall checks the stall hook in fake time: a stalled operation
// gives up after exactly the operation timeout, and one still waiting
// goes on as soon as the storage resumes.
func TestMemStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := NewMemOpener()
		o.SetOpTimeout(time.Hour)
		fsys, err := o.Open(t.Context(), "/")
		if err != nil {
			t.Fatal(err)
		}
		defer fsys.Close()
		resume := o.Stall()
		start := time.Now()
		_, err = fsys.Stat(t.Context(), ".")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Hour {
			t.Errorf("stalled Stat: %v after %v, want a deadline error after 1h", err, time.Since(start))
		}
		done := make(chan error)
		start = time.Now()
		go func() {
			_, err := fsys.Stat(t.Context(), ".")
			done <- err
		}()
		time.Sleep(time.Minute)
		resume()
		if err := <-done; err != nil || time.Since(start) != time.Minute {
			t.Errorf("Stat resumed after %v: %v, want success after 1m", time.Since(start), err)
		}
		resume() // a second call is harmless
	})
}
