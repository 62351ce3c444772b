package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// maxSmallFiles bounds the files one smallfiles run creates.
const maxSmallFiles = 200_000

// smallWorker is one worker of a small-file run: an FTP session
// (smallfiles), or a client of tlsserve (tlssmall).
type smallWorker interface {
	put(k int) error // the k-th upload
	get(k int) error // download the k-th upload, sha256-checked
	end(puts int) error
	abort()
}

// runSmallFiles: -parallel sessions log in (not timed), then for half of
// -duration each STORs new -size files one after the other, for the other
// half each RETRs (sha256-checked) the files it stored, round robin.
// Every transfer opens its own data connection, so this measures the
// per-file cost: EPSV, data connect, resumed TLS handshake, final reply.
// Afterwards (not timed) the files are deleted unless -keep.
//
// -mode tlssmall is its bare TLS baseline against a tlsserve: the same
// workers and phases, each transfer a new TCP connection whose TLS
// session resumes the worker's previous one, and nothing else (no control
// channel, passive listener or file). It is the per-file floor of an FTPS
// server on Go's crypto/tls on the same machine.
func runSmallFiles(o *options) *result {
	r := newResult(o)
	r.SizeBytes = o.size
	var e errs
	var mu sync.Mutex
	n := o.parallel
	workers := make([]smallWorker, n)
	var open func(i int) (smallWorker, error)
	if o.mode == "tlssmall" {
		seed := uint64(time.Now().UnixNano())
		load := seededPayload(o.size, seed)
		load.skipHash = o.noVerify
		open = func(i int) (smallWorker, error) { return openTLSWorker(o, i, load, seed) }
	} else {
		load := newPayload(o.size)
		load.skipHash = o.noVerify
		open = func(i int) (smallWorker, error) { return openFTPWorker(o, i, load) }
	}
	parallelDo(n, n, func(i int) {
		w, err := open(i)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.add(fmt.Errorf("session %d: %w", i, err))
			return
		}
		workers[i] = w
	})
	stored := make([]int, n)
	var total int
	phase := func(up bool) (int, time.Duration, float64) {
		count := 0
		cpu := startCPU(o.pid)
		start := time.Now()
		end := start.Add(o.duration / 2)
		parallelDo(n, n, func(i int) {
			w := workers[i]
			if w == nil {
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
					err = w.put(k)
					if err == nil {
						stored[i]++
					}
				} else {
					if stored[i] == 0 {
						break
					}
					err = w.get(k % stored[i])
				}
				if err != nil {
					mu.Lock()
					e.add(fmt.Errorf("session %d: %w", i, err))
					mu.Unlock()
					workers[i] = nil
					w.abort()
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
		w := workers[i]
		if w == nil {
			return
		}
		err := w.end(stored[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.add(fmt.Errorf("session %d: %w", i, err))
			return
		}
		r.SessionsOK++
	})
	r.setErrs(&e)
	return r
}

// ftpWorker is a smallfiles worker: one logged-in FTP session.
type ftpWorker struct {
	o    *options
	c    *client
	i    int
	load *payload
}

func openFTPWorker(o *options, i int, load *payload) (*ftpWorker, error) {
	c, err := dialLogin(o, o.sourceIP(i))
	if err != nil {
		return nil, err
	}
	return &ftpWorker{o: o, c: c, i: i, load: load}, nil
}

func (w *ftpWorker) name(k int) string {
	return fmt.Sprintf("ftpsbench-%d-%d-%d.small", os.Getpid(), w.i, k)
}

func (w *ftpWorker) put(k int) error {
	return w.c.transfer("STOR "+w.name(k), func(dc net.Conn) error { return w.load.writeTo(dc) })
}

func (w *ftpWorker) get(k int) error {
	return w.c.transfer("RETR "+w.name(k), func(dc net.Conn) error { return w.load.readVerify(dc) })
}

// end deletes the uploads unless -keep, and logs out.
func (w *ftpWorker) end(puts int) error {
	if !w.o.keep {
		for k := 0; k < puts; k++ {
			if _, err := w.c.cmd("DELE "+w.name(k), 2); err != nil {
				w.c.abort()
				return err
			}
		}
	}
	return w.c.quit()
}

func (w *ftpWorker) abort() { w.c.abort() }

// tlsWorker is a tlssmall worker: a tlsserve client with a session cache
// of its own, so that each worker resumes its own session as an FTP
// session's data connections resume its control connection's.
type tlsWorker struct {
	o    *options
	conf *tls.Config
	src  net.IP
	load *payload
	seed uint64
}

// openTLSWorker makes the worker and its first transfer (not timed), a
// full handshake that gives it the session the timed ones resume.
func openTLSWorker(o *options, i int, load *payload, seed uint64) (*tlsWorker, error) {
	conf := o.tlsConfig.Clone()
	conf.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	w := &tlsWorker{o: o, conf: conf, src: o.sourceIP(i), load: load, seed: seed}
	if _, err := w.transfer(true, false); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *tlsWorker) put(int) error { _, err := w.transfer(true, w.o.requireResume); return err }
func (w *tlsWorker) get(int) error { _, err := w.transfer(false, w.o.requireResume); return err }
func (w *tlsWorker) end(int) error { return nil }
func (w *tlsWorker) abort()        {}

func (w *tlsWorker) transfer(up, mustResume bool) (tls.ConnectionState, error) {
	st, err := tlsTransfer(w.o, w.conf, up, w.load, w.seed, w.src)
	if err == nil && mustResume && !st.DidResume {
		err = errors.New("TLS session not resumed")
	}
	return st, err
}
