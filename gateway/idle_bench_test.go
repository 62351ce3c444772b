package gateway

import (
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestIdleSessionMemory measures what an authenticated idle TLS session
// holds in the server: it logs in FTPSGW_IDLE_SESSIONS sessions (unset:
// skipped) against an in-process gateway, lets them idle, and reports the
// live heap and goroutine stack growth per session after a full GC. The
// heap figure includes the test's own clients (a tls.Conn and a 4 KiB
// bufio.Reader each); with FTPSGW_IDLE_PROFILE set to a file name it also
// writes a heap profile (every allocation sampled) in which the server's
// share can be told apart, e.g.
//
//	go tool pprof -sample_index=inuse_space -top -focus 'gateway\.\(\*(Server|session)\)' FILE
func TestIdleSessionMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FTPSGW_IDLE_SESSIONS"))
	if n <= 0 {
		t.Skip("set FTPSGW_IDLE_SESSIONS to run")
	}
	prof := os.Getenv("FTPSGW_IDLE_PROFILE")
	if prof != "" {
		old := runtime.MemProfileRate
		runtime.MemProfileRate = 1
		t.Cleanup(func() { runtime.MemProfileRate = old })
	}
	e := newEnv(t, func(c *Config) {
		c.MaxSessions, c.MaxSessionsPerIP, c.MaxPreauth, c.MaxPreauthPerIP = n+10, n+10, n+10, n+10
		c.IdleTimeout = time.Hour
		c.Logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Warn})
	})
	live := func() (heap, stack uint64) {
		for range 4 {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, ms.StackInuse
	}
	// one session first, so that one-off allocations are not counted
	c0 := e.dial()
	c0.login("alice", alicePW)
	c0.expect(257, "PWD")
	heap0, stack0 := live()
	g0 := runtime.NumGoroutine()
	clients := make([]*ftpc, n)
	for i := range clients {
		c := e.dial()
		c.login("alice", alicePW)
		c.expect(257, "PWD")
		c.conn.SetDeadline(time.Time{})
		clients[i] = c
	}
	time.Sleep(handOffAfter + 500*time.Millisecond) // let the sessions settle in their reads
	heap1, stack1 := live()
	g1 := runtime.NumGoroutine()
	t.Logf("%d idle sessions: heap %.0f B, stacks %.0f B per session (with the test's clients); %.2f goroutines per session",
		n, float64(heap1-heap0)/float64(n), float64(stack1-stack0)/float64(n), float64(g1-g0)/float64(n))
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for _, c := range clients {
		c.conn.SetDeadline(time.Now().Add(10 * time.Second))
		c.expect(200, "NOOP")
		c.expect(221, "QUIT")
	}
}
