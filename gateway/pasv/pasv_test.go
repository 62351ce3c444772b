package pasv

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// fakeListener is a listener that reports a TCP address on its port.
type fakeListener struct {
	port   int
	mu     sync.Mutex
	closed bool
}

func (f *fakeListener) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (f *fakeListener) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return net.ErrClosed
	}
	f.closed = true
	return nil
}
func (f *fakeListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: f.port}
}

func fakeListen(port int) (net.Listener, error) { return &fakeListener{port: port}, nil }

func portOf(t *testing.T, ln net.Listener) int {
	t.Helper()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestCheckRange(t *testing.T) {
	tests := []struct {
		min, max int
		ok       bool
	}{
		{50000, 50999, true}, {1, 65535, true}, {7000, 7000, true},
		{0, 10, false}, {10, 9, false}, {60000, 65536, false}, {-1, 5, false},
	}
	for _, tc := range tests {
		if err := CheckRange(tc.min, tc.max); (err == nil) != tc.ok {
			t.Errorf("CheckRange(%d, %d) = %v, want ok=%v", tc.min, tc.max, err, tc.ok)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("New with a bad range did not panic")
		}
	}()
	New(10, 9)
}

func TestRangeRespectedAndExhaustion(t *testing.T) {
	tests := []struct{ min, max int }{{50000, 50000}, {50000, 50003}, {65530, 65535}, {1, 16}}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d", tc.min, tc.max), func(t *testing.T) {
			a := New(tc.min, tc.max)
			n := tc.max - tc.min + 1
			seen := map[int]bool{}
			var lns []net.Listener
			for range n {
				ln, err := a.Listen(fakeListen)
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				p := portOf(t, ln)
				if p < tc.min || p > tc.max {
					t.Fatalf("port %d outside %d-%d", p, tc.min, tc.max)
				}
				if seen[p] {
					t.Fatalf("port %d handed out twice", p)
				}
				seen[p] = true
				lns = append(lns, ln)
			}
			if got := a.InUse(); got != n {
				t.Fatalf("InUse = %d, want %d", got, n)
			}
			if _, err := a.Listen(fakeListen); !errors.Is(err, ErrExhausted) {
				t.Fatalf("Listen on a full range: %v, want ErrExhausted", err)
			}
			// Release one and it is handed out again.
			freed := portOf(t, lns[0])
			if err := lns[0].Close(); err != nil {
				t.Fatal(err)
			}
			if got := a.InUse(); got != n-1 {
				t.Fatalf("InUse after close = %d, want %d", got, n-1)
			}
			ln, err := a.Listen(fakeListen)
			if err != nil {
				t.Fatalf("Listen after release: %v", err)
			}
			if p := portOf(t, ln); p != freed {
				t.Fatalf("got port %d, want the released %d", p, freed)
			}
			lns[0] = ln
			for _, ln := range lns {
				ln.Close()
			}
			if got := a.InUse(); got != 0 {
				t.Fatalf("InUse after closing all = %d", got)
			}
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	a := New(40000, 40001)
	l1, _ := a.Listen(fakeListen)
	l2, _ := a.Listen(fakeListen)
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
	// A double Close must not release a port someone else now holds.
	l3, err := a.Listen(fakeListen)
	if err != nil {
		t.Fatal(err)
	}
	l1.Close()
	if got := a.InUse(); got != 2 {
		t.Fatalf("InUse = %d after a repeated Close, want 2", got)
	}
	l2.Close()
	l3.Close()
}

func TestFailingPortsSkipped(t *testing.T) {
	a := New(30000, 30009)
	busy := map[int]bool{30000: true, 30001: true, 30003: true, 30004: true, 30005: true, 30006: true, 30007: true, 30008: true, 30009: true}
	listen := func(port int) (net.Listener, error) {
		if busy[port] {
			return nil, syscall.EADDRINUSE
		}
		return fakeListen(port)
	}
	for range 20 {
		ln, err := a.Listen(listen)
		if err != nil {
			t.Fatal(err)
		}
		if p := portOf(t, ln); p != 30002 {
			t.Fatalf("got busy port %d", p)
		}
		if a.InUse() != 1 {
			t.Fatalf("failed ports left reserved: InUse = %d", a.InUse())
		}
		ln.Close()
	}
	busy[30002] = true
	_, err := a.Listen(listen)
	if !errors.Is(err, ErrExhausted) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("all busy: %v, want ErrExhausted wrapping EADDRINUSE", err)
	}
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d after failures", a.InUse())
	}
}

func TestWrongPortRejected(t *testing.T) {
	a := New(20000, 20000)
	var closed bool
	_, err := a.Listen(func(port int) (net.Listener, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		return closeHook{ln, &closed}, nil
	})
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("listener on the wrong port accepted: %v", err)
	}
	if !closed {
		t.Fatal("listener on the wrong port was not closed")
	}
	if _, err := a.Listen(func(int) (net.Listener, error) { return nil, nil }); !errors.Is(err, ErrExhausted) {
		t.Fatalf("nil listener accepted: %v", err)
	}
}

type closeHook struct {
	net.Listener
	closed *bool
}

func (c closeHook) Close() error { *c.closed = true; return c.Listener.Close() }

func TestConcurrentNoDuplicates(t *testing.T) {
	const n = 64
	a := New(45000, 45000+n-1)
	var (
		mu    sync.Mutex
		held  = map[int]bool{}
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	errs := make(chan error, 8*200)
	for range 8 {
		wg.Go(func() {
			<-start
			for range 200 {
				ln, err := a.Listen(fakeListen)
				if errors.Is(err, ErrExhausted) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				p := ln.Addr().(*net.TCPAddr).Port
				mu.Lock()
				dup := held[p]
				held[p] = true
				mu.Unlock()
				if dup {
					errs <- fmt.Errorf("port %d handed out twice", p)
				}
				mu.Lock()
				delete(held, p)
				mu.Unlock()
				ln.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if a.InUse() != 0 {
		t.Fatalf("InUse = %d after all closed", a.InUse())
	}
}

// TestOSBusyPortSkipped binds a real port first, then asks for a range that
// holds it and one free port.
func TestOSBusyPortSkipped(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bp := busy.Addr().(*net.TCPAddr).Port
	lo, hi := bp, bp+1
	if hi > 65535 {
		lo, hi = bp-1, bp
	}
	other := lo
	if other == bp {
		other = hi
	}
	// The neighbour may itself be taken; then the range is exhausted and
	// the test has nothing to prove.
	probe, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(other)))
	if err != nil {
		t.Skipf("neighbouring port %d busy too", other)
	}
	probe.Close()

	a := New(lo, hi)
	listen := func(port int) (net.Listener, error) {
		return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}
	for range 10 {
		ln, err := a.Listen(listen)
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		if p := portOf(t, ln); p != other {
			t.Fatalf("got port %d, want the free %d (busy %d)", p, other, bp)
		}
		ln.Close()
	}
}
