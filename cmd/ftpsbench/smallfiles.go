package main

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// maxSmallFiles bounds the files one smallfiles run creates.
const maxSmallFiles = 200_000

// runSmallFiles: -parallel sessions log in (not timed), then for half of
// -duration each STORs new -size files one after the other, for the other
// half each RETRs (sha256-checked) the files it stored, round robin.
// Every transfer opens its own data connection, so this measures the
// per-file cost: EPSV, data connect, resumed TLS handshake, final reply.
// Afterwards (not timed) the files are deleted unless -keep.
func runSmallFiles(o *options) *result {
	r := newResult(o)
	r.SizeBytes = o.size
	var e errs
	var mu sync.Mutex
	n := o.parallel
	clients := make([]*client, n)
	load := newPayload(o.size)
	load.skipHash = o.noVerify
	parallelDo(n, n, func(i int) {
		c, err := dialLogin(o, o.sourceIP(i))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.add(fmt.Errorf("session %d: %w", i, err))
			return
		}
		clients[i] = c
	})
	name := func(i, k int) string { return fmt.Sprintf("ftpsbench-%d-%d-%d.small", os.Getpid(), i, k) }
	stored := make([]int, n)
	var total int
	phase := func(up bool) (int, time.Duration, float64) {
		count := 0
		cpu := startCPU(o.pid)
		start := time.Now()
		end := start.Add(o.duration / 2)
		parallelDo(n, n, func(i int) {
			c := clients[i]
			if c == nil {
				return
			}
			done := 0
			for k := 0; time.Now().Before(end) && !stopping.Load(); k++ {
				var err error
				if up {
					mu.Lock()
					ok := total < maxSmallFiles
					total++
					mu.Unlock()
					if !ok {
						break
					}
					err = c.transfer("STOR "+name(i, k), func(dc net.Conn) error { return load.writeTo(dc) })
					if err == nil {
						stored[i]++
					}
				} else {
					if stored[i] == 0 {
						break
					}
					err = c.transfer("RETR "+name(i, k%stored[i]), func(dc net.Conn) error { return load.readVerify(dc) })
				}
				if err != nil {
					mu.Lock()
					e.add(fmt.Errorf("session %d: %w", i, err))
					mu.Unlock()
					clients[i] = nil
					c.abort()
					break
				}
				done++
			}
			mu.Lock()
			count += done
			mu.Unlock()
		})
		d := time.Since(start)
		return count, d, cpu.stop(&e)
	}
	var upD, downD time.Duration
	r.StorFiles, upD, r.UpCPU = phase(true)
	r.RetrFiles, downD, r.DownCPU = phase(false)
	r.UpSeconds, r.DownSecs = round3(upD.Seconds()), round3(downD.Seconds())
	r.StorPerSec = round2(float64(r.StorFiles) / upD.Seconds())
	r.RetrPerSec = round2(float64(r.RetrFiles) / downD.Seconds())
	if !o.noVerify {
		r.Verified = r.RetrFiles
	}

	parallelDo(n, n, func(i int) {
		c := clients[i]
		if c == nil {
			return
		}
		if !o.keep {
			for k := 0; k < stored[i]; k++ {
				if _, err := c.cmd("DELE "+name(i, k), 2); err != nil {
					mu.Lock()
					e.add(fmt.Errorf("session %d: %w", i, err))
					mu.Unlock()
					break
				}
			}
		}
		c.quit()
		mu.Lock()
		r.SessionsOK++
		mu.Unlock()
	})
	r.setErrs(&e)
	return r
}
