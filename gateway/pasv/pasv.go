package pasv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// ErrExhausted reports that every port in the range is reserved or could
// not be listened on.
var ErrExhausted = errors.New("passive port range exhausted")

// CheckRange reports whether min-max is a valid inclusive port range for
// New: 1 <= min <= max <= 65535.
func CheckRange(min, max int) error {
	if min < 1 || max > 65535 || min > max {
		return fmt.Errorf("invalid passive port range %d-%d: want 1 <= min <= max <= 65535", min, max)
	}
	return nil
}

// Allocator hands out ports from an inclusive range. Create it with New.
type Allocator struct {
	min, max int

	mu       sync.Mutex
	reserved map[int]struct{} // guarded by mu
}

// New returns an Allocator for the inclusive range min-max. It panics if
// CheckRange rejects the range; configuration validation must call
// CheckRange first.
func New(min, max int) *Allocator {
	if err := CheckRange(min, max); err != nil {
		panic("pasv: " + err.Error())
	}
	return &Allocator{min: min, max: max, reserved: make(map[int]struct{})}
}

// Range returns the Allocator's inclusive port range.
func (a *Allocator) Range() (min, max int) {
	return a.min, a.max
}

// InUse returns how many ports are reserved right now, including ports
// whose listen call is in progress.
func (a *Allocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reserved)
}

// Listen reserves a free port and calls listen with it, trying each port of
// the range at most once, starting at a random offset. Ports reserved by
// this Allocator are skipped, as are ports for which listen fails. A
// listener whose address is a TCP address on another port than the one
// asked for is closed and counted as a failure. The returned listener's
// Close releases the port. When no port works, the error wraps ErrExhausted
// and, if any listen call failed, the last listen error.
func (a *Allocator) Listen(listen func(port int) (net.Listener, error)) (net.Listener, error) {
	n := a.max - a.min + 1
	start := rand.IntN(n)
	var lastErr error
	for i := range n {
		port := a.min + (start+i)%n
		if !a.reserve(port) {
			continue
		}
		ln, err := listen(port)
		if err == nil && ln == nil {
			err = errors.New("listen returned no listener")
		}
		if err == nil {
			if addr, ok := ln.Addr().(*net.TCPAddr); ok && addr.Port != port {
				ln.Close()
				err = fmt.Errorf("listener bound port %d, not %d", addr.Port, port)
			}
		}
		if err != nil {
			a.release(port)
			lastErr = err
			continue
		}
		return &listener{Listener: ln, a: a, port: port}, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w (%d-%d): %w", ErrExhausted, a.min, a.max, lastErr)
	}
	return nil, fmt.Errorf("%w (%d-%d): all ports reserved", ErrExhausted, a.min, a.max)
}

// reserve marks port as taken; it reports false if it already was.
func (a *Allocator) reserve(port int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.reserved[port]; ok {
		return false
	}
	a.reserved[port] = struct{}{}
	return true
}

func (a *Allocator) release(port int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.reserved, port)
}

// listener releases its port reservation on the first Close.
type listener struct {
	net.Listener
	a    *Allocator
	port int
	once sync.Once
}

// Close closes the underlying listener and releases the port. Later calls
// only repeat the underlying Close (which reports net.ErrClosed).
func (l *listener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { l.a.release(l.port) })
	return err
}
