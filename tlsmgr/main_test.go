package tlsmgr

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines started by tlsmgr or certmagic
// outlive the tests (every Manager is closed at cleanup).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var bad []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "tlsmgr.TestMain") || strings.Contains(g, "leakedGoroutines") {
				continue
			}
			// certmagic keeps one process-wide rate limiter per CA and
			// account (a package map, never stopped); one per Pebble here.
			if strings.Contains(g, "certmagic.(*RingBufferRateLimiter)") {
				continue
			}
			if strings.Contains(g, "ftpsgw/tlsmgr.") || strings.Contains(g, "caddyserver/certmagic.") {
				bad = append(bad, g)
			}
		}
		if len(bad) == 0 || time.Now().After(deadline) {
			return strings.Join(bad, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
