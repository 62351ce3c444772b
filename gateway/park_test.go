package gateway

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchConn holds what is written to it while hold is set and sends it
// in one write on flush, so several TLS records reach the server in one
// TCP segment.
type batchConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	buf  bytes.Buffer
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hold {
		return b.buf.Write(p)
	}
	return b.Conn.Write(p)
}

func (b *batchConn) flush(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.Conn.Write(b.buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	b.buf.Reset()
}

// loginBatched logs in like ftpc.login, with the TLS connection on a
// batchConn.
func loginBatched(e *env) (*ftpc, *batchConn) {
	c := e.dial()
	c.banner()
	bc := &batchConn{Conn: c.conn}
	c.conn = bc
	c.authTLS()
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	return c, bc
}

// TestParkedSessionSeesBufferedCommands: a session waits for its socket
// only once TLS holds nothing more. Commands that reach TLS ahead of
// time (a second record read with the first, the rest of a record a
// short read left behind, a record cut in two) are answered without the
// client sending anything else.
func TestParkedSessionSeesBufferedCommands(t *testing.T) {
	e := newEnv(t)
	c, bc := loginBatched(e)
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	expectCodes := func(want ...int) {
		t.Helper()
		for _, w := range want {
			if code, msg := c.read(); code != w {
				t.Fatalf("got %d %q, want %d", code, msg, w)
			}
		}
	}

	// Two records in one segment.
	bc.hold = true
	c.conn.Write([]byte("NOOP\r\n"))
	c.conn.Write([]byte("PWD\r\n"))
	bc.hold = false
	bc.flush(t)
	expectCodes(200, 257)

	// Many lines in one record, longer than the idle read.
	c.conn.Write([]byte(strings.Repeat("NOOP\r\n", 40)))
	want := make([]int, 40)
	for i := range want {
		want[i] = 200
	}
	expectCodes(want...)

	// A record whose first idleRead bytes are exactly one line.
	line := "NOOP " + strings.Repeat("a", idleRead-len("NOOP \r\n")) + "\r\n"
	if len(line) != idleRead {
		t.Fatal(len(line))
	}
	c.conn.Write([]byte(line + "PWD\r\n"))
	expectCodes(501, 257)

	// A record cut in two: the session has half of it when it waits.
	bc.hold = true
	c.conn.Write([]byte("PWD\r\n"))
	bc.hold = false
	rec := append([]byte(nil), bc.buf.Bytes()...)
	bc.buf.Reset()
	bc.Conn.Write(rec[:3])
	time.Sleep(50 * time.Millisecond)
	bc.Conn.Write(rec[3:])
	expectCodes(257)
}

// TestIdleSessionStackShrinks: an idle TLS session waits at the top of
// its goroutine's stack, and past handOffAfter on a new goroutine that
// has never read through TLS, so its stack stays at the runtime's 2 KiB
// minimum (3.5 KiB allowed on average: a goroutine started while logins
// run may start bigger). Waiting inside crypto/tls, as a plain read does, keeps about
// 8 KiB per session; waiting on the goroutine that ran the login, 4 KiB.
// (Under the race detector the runtime keeps more room on a stack.)
func TestIdleSessionStackShrinks(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes stack sizes")
	}
	const n = 100
	e := newEnv(t, func(c *Config) {
		c.MaxSessions, c.MaxSessionsPerIP, c.MaxPreauth, c.MaxPreauthPerIP = n+10, n+10, n+10, n+10
	})
	stacks := func() uint64 {
		for range 5 {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.StackInuse
	}
	c0 := e.dial()
	c0.login("alice", alicePW)
	time.Sleep(50 * time.Millisecond)
	before := stacks()
	for range n {
		c := e.dial()
		c.login("alice", alicePW)
		c.expect(257, "PWD")
	}
	// The runtime starts a goroutine's stack at the average it saw in
	// use at the last collection: have one run now that the sessions
	// wait, before they are handed off.
	runtime.GC()
	time.Sleep(handOffAfter + 500*time.Millisecond)
	buf := make([]byte, 8<<20)
	trace := string(buf[:runtime.Stack(buf, true)])
	if got := strings.Count(trace, "gateway.(*session).resume("); got < n {
		t.Errorf("%d idle sessions run on a goroutine of their own, want %d", got, n)
	}
	per := float64(stacks()-before) / n
	t.Logf("%.0f B of stack per idle session", per)
	if per > 3584 {
		t.Fatalf("idle sessions hold %.0f B of stack each, want at most 3.5 KiB", per)
	}
}

// TestIdleHandOffKeepsDeadline: a session handed to a new goroutine while
// idle answers as before, and its idle timeout runs from its last
// command, not from the hand-off.
func TestIdleHandOffKeepsDeadline(t *testing.T) {
	const idle = handOffAfter + 1500*time.Millisecond
	e := newEnv(t, func(c *Config) { c.IdleTimeout = idle })
	c := e.dial()
	c.login("alice", alicePW)
	c.conn.SetDeadline(time.Now().Add(4 * idle))
	time.Sleep(handOffAfter + 300*time.Millisecond) // handed off
	c.expect(257, "PWD")
	last := time.Now()
	c.expect(200, "NOOP")
	code, msg := c.read() // handed off again after 2 s; then the timeout
	took := time.Since(last)
	if code != 421 || !strings.Contains(msg, "Idle timeout") {
		t.Fatalf("got %d %q, want the idle timeout", code, msg)
	}
	if took < idle-100*time.Millisecond || took > idle+time.Second {
		t.Fatalf("idle timeout after %v, want %v", took, idle)
	}
}
