// Package pasv allocates passive-mode data ports from the configured
// port_range.
//
// An Allocator owns one inclusive range of ports. Listen reserves a free
// port, starting at a random offset so that successive transfers do not use
// predictable ports, and calls the caller's listen function for it; ports
// already reserved by this Allocator and ports whose listen fails (in use by
// another process, say) are skipped. The returned listener releases its
// reservation when closed. When no port can be had, Listen returns an error
// wrapping ErrExhausted (the gateway answers 425); it never hands out a port
// outside the range.
//
// # Trust boundary
//
// The package does no I/O of its own: the caller's listen function decides
// which address to bind (the configured one, never 0.0.0.0 by accident),
// so tests can inject fake listeners.
//
// # Concurrency
//
// An Allocator is safe for concurrent use; the listen function is called
// without the Allocator's lock held, so slow binds do not serialise
// sessions. A listener's Close may be called from any goroutine, any number
// of times.
package pasv
