package gateway

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/policy"
)

// TestSoak runs on demand (FTPSGW_SOAK=DURATION, e.g. 3m; FTPSGW_SOAK_SESSIONS,
// default 200): that many sessions mix every kind of command for the
// duration, then goroutines, file descriptors and RSS must come back to
// their baseline. It is not part of CI.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("FTPSGW_SOAK"))
	if err != nil {
		t.Skip("set FTPSGW_SOAK=3m to run the soak test")
	}
	n := 200
	if v, err := strconv.Atoi(os.Getenv("FTPSGW_SOAK_SESSIONS")); err == nil {
		n = v
	}
	e := newEnv(t, func(c *Config) {
		c.PassivePortMax = c.PassivePortMin + 400
		c.MaxSessionsPerIP = 2 * n
		c.MaxPreauthPerIP = 2 * n
		c.MaxPassivePerClient = 2 * n
	})
	cfg := testPolicyConfig(t)
	cfg.Users[0].Rules = append(cfg.Users[0].Rules, policy.RuleConfig{Path: "/secret-soak/**", Permissions: []string{}})
	e.setPolicy(cfg)
	runtime.GC()
	g0, fd0, rss0 := runtime.NumGoroutine(), openFDs(), rssKiB()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var ops sync.Map
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			soakSession(t, e, i, deadline, &ops)
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { return e.srv.Sessions() == 0 })
	var total int
	ops.Range(func(_, v any) bool { total += v.(int); return true })
	time.Sleep(2 * time.Second) // let closed connections and timers settle
	debug.FreeOSMemory()
	g1, fd1, rss1 := runtime.NumGoroutine(), openFDs(), rssKiB()
	t.Logf("soak: %d sessions, %s, %d operations; goroutines %d -> %d, fds %d -> %d, RSS %d -> %d KiB",
		n, d, total, g0, g1, fd0, fd1, rss0, rss1)
	if g1 > g0+5 {
		t.Errorf("goroutines %d after, %d before", g1, g0)
	}
	if fd1 > fd0+5 {
		t.Errorf("file descriptors %d after, %d before", fd1, fd0)
	}
	if rss1 > rss0+64<<10 {
		t.Errorf("RSS %d KiB after, %d before", rss1, rss0)
	}
}

// soakSession logs in and loops over a mix of commands until deadline.
func soakSession(t *testing.T, e *env, i int, deadline time.Time, ops *sync.Map) {
	c := e.dial()
	c.conn.SetDeadline(deadline.Add(time.Minute))
	c.login("alice", alicePW)
	dir := fmt.Sprintf("s%03d", i)
	c.cmd("MKD %s", dir)
	data := bytes.Repeat([]byte{byte(i)}, 4096+i*97)
	count := 0
	for time.Now().Before(deadline) {
		name := fmt.Sprintf("%s/f%d", dir, rand.IntN(4))
		switch rand.IntN(10) {
		case 0, 1:
			c.transfer("STOR "+name, data)
		case 2, 3:
			c.transfer("RETR "+name, nil)
		case 4:
			c.transfer("MLSD "+dir, nil)
		case 5:
			c.cmd("SIZE %s", name)
			c.cmd("MDTM %s", name)
		case 6:
			c.cmd("RNFR %s", name)
			c.cmd("RNTO %s/r%d", dir, rand.IntN(4))
		case 7:
			c.cmd("DELE %s", name)
		case 8:
			c.cmd("HASH %s", name)
		case 9:
			c.cmd("CWD /secret-soak")
			c.cmd("NOOP")
			c.cmd("STAT")
		}
		count++
	}
	ops.Store(i, count)
	c.cmd("QUIT")
	c.conn.Close()
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}
