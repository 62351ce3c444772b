// Package leakcheck fails a package's test run when goroutines it started
// outlive its tests. It is test support: every package's TestMain calls
// Main, naming the stack fragments that mark its own goroutines.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then, if they passed, waits up to five seconds
// for every goroutine whose stack contains one of match (and none of
// ignore) to end; any left are printed and the run fails. It exits.
func Main(m *testing.M, match []string, ignore ...string) {
	code := m.Run()
	if code == 0 {
		if leaked := Wait(5*time.Second, match, ignore...); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Wait polls for up to d until no goroutine matches, and returns the
// stacks of those still running (empty when none are).
func Wait(d time.Duration, match []string, ignore ...string) string {
	deadline := time.Now().Add(d)
	for {
		leaked := running(match, ignore)
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func running(match, ignore []string) string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n")[1:] { // the first is this goroutine
		if containsAny(g, match) && !containsAny(g, ignore) && !strings.Contains(g, ".TestMain(") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
