// Package testkit holds the helpers that the tests of every package
// share: a buffer safe for concurrent writers, real peers that must exist
// on CI, free loopback ports and polling. It depends on the standard
// library only, so any package's tests may import it.
package testkit

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent Write and String: a
// server's log written from its goroutines and read by the test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// OnCI reports whether the tests run on CI (CI=true), where every real
// peer must be installed.
func OnCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test because a real peer is missing, or fails it
// on CI, where the peer must be there.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if OnCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// RequireTool returns the path of the program name, skipping the test
// when it is not installed (failing it on CI).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, "%s is not installed (CI must install it): %v", name, err)
	}
	return p
}

// FreePort returns a TCP port that was free on host a moment ago (chosen
// by the kernel among the ephemeral ports).
func FreePort(t testing.TB, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitFor polls cond until it holds, failing the test with what after
// timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
