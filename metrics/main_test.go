package metrics

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if a test leaves a goroutine of this package,
// net/http or crypto/tls behind (servers not shut down, idle client
// connections not closed).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func waitForLeaks(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		leaked := interestingGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func interestingGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	stacks := strings.Split(string(buf), "\n\n")
	var out []string
	for _, s := range stacks[1:] { // the first is this goroutine
		if strings.Contains(s, "ftpsgw/ftpsgw/metrics.") ||
			strings.Contains(s, "net/http.") || strings.Contains(s, "crypto/tls.") {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n\n")
}
