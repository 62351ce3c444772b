// Command ftpsbench is ftpsgw's load generator. It speaks explicit FTPS
// (AUTH TLS, PBSZ 0, PROT P, EPSV with PASV fallback) to any FTPS server;
// every data connection resumes its own control session's TLS session,
// which ftpsgw requires by default. Modes:
//
//	throughput  -parallel N sessions each upload then download -size bytes
//	            (sha256-verified), aggregate MB/s up and down
//	sessions    -parallel workers connect, AUTH TLS, log in and QUIT for
//	            -duration; sessions/s and p50/p99 latency
//	idle        open -count logged-in sessions from several 127.0.0.x
//	            source addresses, hold them -duration, count survivors and
//	            read the server's memory from /proc when -pid is given
//	            (before the sessions, after -settle, and while held)
//	smallfiles  -parallel sessions STOR, then RETR, -size files one at a
//	            time for -duration; files/s
//	tls         the bare TLS baseline: like throughput, against a
//	            "-mode tlsserve" (a TLS server that only moves bytes)
//	table       print a comparison table from -json -label runs
//
// With -pid, every load mode also reports the server's CPU seconds
// (utime+stime of the process and its children) over each timed phase.
//
// See README.md for how to run it against ftpsgw and pure-ftpd.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Hard bounds on every loop, whatever the flags say.
const (
	maxParallel  = 1024
	maxCount     = 20000
	maxDuration  = 10 * time.Minute
	maxSessions  = 1_000_000 // per sessions run
	maxSizeBytes = 64 << 30
)

type options struct {
	addr, user, pass string
	serverName       string
	mode             string
	parallel         int
	size             int64
	duration         time.Duration
	settle           time.Duration
	count            int
	sources          int
	pid              int
	tlsMax           string
	asJSON           bool
	keep             bool
	requireResume    bool
	timeout          time.Duration
	dataTimeout      time.Duration
	tlsConfig        *tls.Config
	label            string
	pwd              bool
	users            int // sessions: log in as -user N different names
	certFile         string
	keyFile          string
	in, base         string
	noVerify         bool
}

var stopping atomic.Bool // set by SIGINT/SIGTERM: loops wind down

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftpsbench:", err)
		os.Exit(2)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; stopping.Store(true) }()

	var r *result
	switch o.mode {
	case "tlsserve":
		if err := runTLSServe(o); err != nil {
			fmt.Fprintln(os.Stderr, "ftpsbench:", err)
			os.Exit(1)
		}
		return
	case "table":
		os.Exit(runTable(o))
	case "smallfiles", "tlssmall":
		r = runSmallFiles(o)
	case "tls":
		r = runTLS(o)
	case "throughput":
		r = runThroughput(o)
	case "sessions":
		r = runSessions(o)
	case "idle":
		r = runIdle(o)
	}
	r.Label = o.label
	if err := r.write(os.Stdout, o.asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "ftpsbench:", err)
		os.Exit(1)
	}
	if r.Errors > 0 {
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("ftpsbench", flag.ContinueOnError)
	o := &options{}
	var size, ca string
	var insecure bool
	fs.StringVar(&o.addr, "addr", "127.0.0.1:2121", "FTPS server host:port (explicit FTPS, AUTH TLS)")
	fs.StringVar(&o.user, "user", "bench", "user name")
	fs.StringVar(&o.pass, "pass", "", "password (default: $FTPSBENCH_PASS)")
	fs.BoolVar(&insecure, "insecure", false, "skip server certificate verification")
	fs.StringVar(&ca, "ca", "", "PEM file with the CA certificate(s) to verify the server with")
	fs.StringVar(&o.serverName, "servername", "", "TLS server name (default: the host of -addr)")
	fs.StringVar(&o.mode, "mode", "throughput", "throughput | sessions | idle | smallfiles | tls | tlssmall | tlsserve | table")
	fs.IntVar(&o.parallel, "parallel", 0, "sessions (throughput, smallfiles), streams (tls), workers (tlssmall), workers (sessions) or concurrent logins (idle); default 1, 8, 16")
	fs.StringVar(&size, "size", "", "throughput, tls, smallfiles, tlssmall: bytes per file (suffixes KB MB GB KiB MiB GiB; default 64MiB, smallfiles and tlssmall 4KiB)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "sessions, smallfiles, tlssmall: run time; idle: how long to hold the sessions")
	fs.IntVar(&o.count, "count", 100, "idle: sessions to open")
	fs.DurationVar(&o.settle, "settle", 0, "idle: wait this long before measuring the server's memory without the sessions (a server that returns memory once quiet is measured after it has)")
	fs.IntVar(&o.sources, "sources", 0, "source addresses 127.0.0.1..127.0.0.N for loopback targets (default: 1; idle: count/16)")
	fs.IntVar(&o.pid, "pid", 0, "server PID whose CPU time (all modes) and RSS/PSS (idle), with child processes, to report")
	fs.StringVar(&o.label, "label", "", "a label copied into the result, for -mode table: server/test/round")
	fs.BoolVar(&o.pwd, "pwd", false, "sessions: send PWD after logging in")
	fs.IntVar(&o.users, "users", 1, "sessions: above 1, log in as USER0 .. USER(N-1) in turn (all with the one password), so a server's per-user login cache rarely hits")
	verify := fs.Bool("verify", true, "sha256-check every download (false: only count the bytes, so the client spends less CPU)")
	fs.StringVar(&o.certFile, "cert", "", "tlsserve: PEM certificate (chain) file")
	fs.StringVar(&o.keyFile, "key", "", "tlsserve: PEM private key file")
	fs.StringVar(&o.in, "in", "-", "table: file of JSON result lines (- is stdin)")
	fs.StringVar(&o.base, "base", "ftpsgw", "table: the server whose medians are divided by the others'")
	fs.StringVar(&o.tlsMax, "tls-max", "1.3", "highest TLS version: 1.2 | 1.3")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object instead of text")
	fs.BoolVar(&o.keep, "keep", false, "throughput, smallfiles: keep the uploaded files (default: DELE them)")
	fs.BoolVar(&o.requireResume, "require-resume", false, "fail a transfer whose data TLS session did not resume the control session (tlssmall: the worker's previous session)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "timeout of each connect and control exchange")
	fs.DurationVar(&o.dataTimeout, "data-timeout", 5*time.Minute, "timeout of one whole file transfer")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.noVerify = !*verify
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.pass == "" {
		o.pass = os.Getenv("FTPSBENCH_PASS")
	}
	switch o.mode {
	case "throughput", "sessions", "idle", "smallfiles", "tls", "tlssmall", "table":
	case "tlsserve":
		if o.certFile == "" || o.keyFile == "" {
			return nil, errors.New("-mode tlsserve needs -cert and -key")
		}
	default:
		return nil, fmt.Errorf("-mode %q: want throughput, sessions, idle, smallfiles, tls, tlssmall, tlsserve or table", o.mode)
	}
	if o.parallel == 0 {
		o.parallel = map[string]int{"sessions": 8, "idle": 16}[o.mode]
		o.parallel = max(o.parallel, 1)
	}
	if size == "" {
		size = "64MiB"
		if o.mode == "smallfiles" || o.mode == "tlssmall" {
			size = "4KiB"
		}
	}
	if o.parallel < 1 || o.parallel > maxParallel {
		return nil, fmt.Errorf("-parallel must be 1..%d", maxParallel)
	}
	if o.count < 1 || o.count > maxCount {
		return nil, fmt.Errorf("-count must be 1..%d", maxCount)
	}
	if o.duration <= 0 || o.duration > maxDuration {
		return nil, fmt.Errorf("-duration must be in (0, %s]", maxDuration)
	}
	if o.settle < 0 || o.settle > maxDuration {
		return nil, fmt.Errorf("-settle must be in [0, %s]", maxDuration)
	}
	if o.timeout <= 0 || o.dataTimeout <= 0 {
		return nil, errors.New("-timeout and -data-timeout must be positive")
	}
	n, err := parseSize(size)
	if err != nil {
		return nil, fmt.Errorf("-size: %w", err)
	}
	if n < 1 || n > maxSizeBytes {
		return nil, fmt.Errorf("-size must be 1 byte..64GiB")
	}
	o.size = n
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil, fmt.Errorf("-addr: %w", err)
	}
	if o.sources == 0 {
		o.sources = 1
		if o.mode == "idle" {
			o.sources = min(254, (o.count+15)/16)
		}
	}
	if o.sources < 1 || o.sources > 254 {
		return nil, errors.New("-sources must be 1..254")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	switch o.tlsMax {
	case "1.2":
		conf.MaxVersion = tls.VersionTLS12
	case "1.3":
		conf.MaxVersion = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("-tls-max %q: want 1.2 or 1.3", o.tlsMax)
	}
	conf.ServerName = o.serverName
	if conf.ServerName == "" {
		conf.ServerName = host // also the session cache key, so data connections find the ticket
	}
	switch {
	case insecure && ca != "":
		return nil, errors.New("-insecure and -ca exclude each other")
	case insecure:
		conf.InsecureSkipVerify = true
	case ca != "":
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s: no certificates", ca)
		}
	}
	o.tlsConfig = conf
	return o, nil
}

// parseSize reads "1048576", "256MiB", "1GB", "64k".
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"k", 1 << 10}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return n * mult, nil
}

// sourceIP returns the i-th source address, or nil (system choice) when
// the target is not loopback or only one source is used.
func (o *options) sourceIP(i int) net.IP {
	if o.sources <= 1 {
		return nil
	}
	host, _, _ := net.SplitHostPort(o.addr)
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil
	}
	return net.IPv4(127, 0, 0, byte(1+i%o.sources))
}

func newResult(o *options) *result {
	return &result{Mode: o.mode, Addr: o.addr, TLSMax: o.tlsMax, Parallel: o.parallel}
}

func (r *result) setErrs(e *errs) { r.Errors, r.ErrorSample = e.n, e.sample }

// ---- throughput ----

// payload is a session's file: a random block repeated to size bytes.
// The block length is odd so no two TLS records carry the same bytes at
// the same offset; no server compresses, so this is as good as fully
// random and costs no CPU during the timed phase.
type payload struct {
	block    []byte
	size     int64
	sum      [32]byte
	skipHash bool // readVerify only counts (-verify=false)
}

func newPayload(size int64) *payload {
	p := &payload{block: make([]byte, min(size, 1<<20+13)), size: size}
	rand.Read(p.block)
	h := sha256.New()
	p.writeTo(h)
	copy(p.sum[:], h.Sum(nil))
	return p
}

func (p *payload) writeTo(w io.Writer) error {
	for left := p.size; left > 0; {
		n := min(left, int64(len(p.block)))
		if _, err := w.Write(p.block[:n]); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// readVerify reads exactly p.size bytes (no more) and checks the sha256.
func (p *payload) readVerify(r io.Reader) error {
	var h hash.Hash = sha256.New()
	if p.skipHash {
		h = nopHash{}
	}
	buf := make([]byte, 256<<10)
	n, err := io.CopyBuffer(h, io.LimitReader(r, p.size+1), buf)
	if err != nil {
		return err
	}
	if n != p.size {
		return fmt.Errorf("downloaded %d bytes, want %d", n, p.size)
	}
	if !p.skipHash && [32]byte(h.Sum(nil)) != p.sum {
		return errors.New("sha256 mismatch")
	}
	return nil
}

// nopHash is the hash.Hash of -verify=false: it only takes the bytes.
type nopHash struct{}

func (nopHash) Write(b []byte) (int, error) { return len(b), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }

func runThroughput(o *options) *result {
	r := newResult(o)
	r.SizeBytes = o.size
	var e errs
	var mu sync.Mutex
	n := o.parallel
	clients := make([]*client, n)
	loads := make([]*payload, n)
	name := func(i int) string { return fmt.Sprintf("ftpsbench-%d-%d.bin", os.Getpid(), i) }

	// Untimed: log in and make the payloads.
	parallelDo(n, n, func(i int) {
		loads[i] = newPayload(o.size)
		loads[i].skipHash = o.noVerify
		c, err := dialLogin(o, o.sourceIP(i))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.add(fmt.Errorf("session %d: %w", i, err))
			return
		}
		clients[i] = c
	})
	resumed, conns := 0, 0
	phase := func(up bool) (time.Duration, int64, float64) {
		var moved atomic.Int64
		cpu := startCPU(o.pid)
		start := time.Now()
		parallelDo(n, n, func(i int) {
			c := clients[i]
			if c == nil || stopping.Load() {
				return
			}
			var err error
			var didResume bool
			cmd := "STOR " + name(i)
			if !up {
				cmd = "RETR " + name(i)
			}
			err = c.transfer(cmd, func(dc net.Conn) error {
				st := dc.(*tls.Conn).ConnectionState()
				didResume = st.DidResume
				if i == 0 {
					r.DataTLS = describeTLS(st) // only stream 0 writes it
				}
				if up {
					return loads[i].writeTo(dc)
				}
				return loads[i].readVerify(dc)
			})
			mu.Lock()
			defer mu.Unlock()
			conns++
			if didResume {
				resumed++
			}
			if err != nil {
				e.add(fmt.Errorf("session %d: %w", i, err))
				clients[i] = nil
				c.abort()
				return
			}
			moved.Add(o.size)
			if !up && !o.noVerify {
				r.Verified++
			}
		})
		d := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		return d, moved.Load(), cpu.stop(&e)
	}
	upD, upB, upCPU := phase(true)
	downD, downB, downCPU := phase(false)
	r.UpSeconds, r.UpMBps, r.UpCPU = round3(upD.Seconds()), mbps(upB, upD), upCPU
	r.DownSecs, r.DownMBps, r.DownCPU = round3(downD.Seconds()), mbps(downB, downD), downCPU
	r.Resumed, r.DataConns = resumed, conns

	parallelDo(n, n, func(i int) {
		c := clients[i]
		if c == nil {
			return
		}
		if !o.keep {
			if _, err := c.cmd("DELE "+name(i), 2); err != nil {
				mu.Lock()
				e.add(fmt.Errorf("session %d: %w", i, err))
				mu.Unlock()
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

// parallelDo runs fn(0..n-1) with at most width goroutines.
func parallelDo(n, width int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// ---- sessions ----

// oneSession is connect, AUTH TLS, USER/PASS, QUIT, as user.
func oneSession(o *options, src net.IP, user string) error {
	c, err := dialTLS(o, src)
	if err != nil {
		return err
	}
	if _, err := c.cmd("USER "+user, 3); err != nil {
		c.abort()
		return err
	}
	if _, err := c.cmd("PASS "+o.pass, 2); err != nil {
		c.abort()
		return err
	}
	if o.pwd {
		if _, err := c.cmd("PWD", 2); err != nil {
			c.abort()
			return err
		}
	}
	return c.quit()
}

func runSessions(o *options) *result {
	r := newResult(o)
	if o.users > 1 {
		r.Users = o.users
	}
	var e errs
	var mu sync.Mutex
	var lat []time.Duration
	var total atomic.Int64
	cpu := startCPU(o.pid)
	start := time.Now()
	end := start.Add(o.duration)
	parallelDo(o.parallel, o.parallel, func(w int) {
		var mine []time.Duration
		var mineErr []error
		for k := 0; time.Now().Before(end) && !stopping.Load(); k++ {
			n := total.Add(1)
			if n > maxSessions {
				break
			}
			user := o.user
			if o.users > 1 {
				user += strconv.FormatInt((n-1)%int64(o.users), 10)
			}
			t0 := time.Now()
			if err := oneSession(o, o.sourceIP(w+k*o.parallel), user); err != nil {
				mineErr = append(mineErr, err)
				time.Sleep(10 * time.Millisecond) // no hot loop against a refusing server
				continue
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		for _, err := range mineErr {
			e.add(err)
		}
		mu.Unlock()
	})
	elapsed := time.Since(start)
	if o.pid > 0 {
		time.Sleep(300 * time.Millisecond) // let a forking server reap its sessions' processes
	}
	r.CPUSecs = cpu.stop(&e)
	sortDurations(lat)
	r.Sessions = len(lat)
	r.DurationSecs = round2(elapsed.Seconds())
	r.PerSecond = round2(float64(len(lat)) / elapsed.Seconds())
	r.P50ms, r.P99ms = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	if len(lat) > 0 {
		r.Maxms = ms(lat[len(lat)-1])
	}
	r.setErrs(&e)
	return r
}

// ---- idle ----

func runIdle(o *options) *result {
	r := newResult(o)
	r.Requested, r.Sources = o.count, o.sources
	var e errs
	var mu sync.Mutex
	if o.settle > 0 {
		time.Sleep(o.settle)
	}
	if o.pid > 0 {
		rss, pss, _, err := memUsage(o.pid)
		if err != nil {
			e.add(fmt.Errorf("-pid %d: %w", o.pid, err))
		}
		r.RSSBaseKiB, r.PSSBaseKiB = rss, pss
	}
	clients := make([]*client, o.count)
	start := time.Now()
	parallelDo(o.count, o.parallel, func(i int) {
		if stopping.Load() {
			return
		}
		c, err := dialLogin(o, o.sourceIP(i))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.add(fmt.Errorf("session %d: %w", i, err))
			return
		}
		c.noDeadline()
		clients[i] = c
		r.Opened++
	})
	r.OpenSeconds = round2(time.Since(start).Seconds())

	hold := time.NewTimer(o.duration)
	sig := time.NewTicker(100 * time.Millisecond)
wait:
	for {
		select {
		case <-hold.C:
			break wait
		case <-sig.C:
			if stopping.Load() {
				break wait
			}
		}
	}
	sig.Stop()
	r.HoldSecs = round2(o.duration.Seconds())
	if o.pid > 0 {
		rss, pss, procs, err := memUsage(o.pid)
		if err != nil {
			e.add(fmt.Errorf("-pid %d: %w", o.pid, err))
		}
		r.RSSHeldKiB, r.PSSHeldKiB, r.Processes = rss, pss, procs
		if r.Opened > 0 {
			r.KiBPerSess = round2(float64(pss-r.PSSBaseKiB) / float64(r.Opened))
		}
	}
	// Still alive? A NOOP each, then QUIT.
	parallelDo(o.count, min(o.count, 64), func(i int) {
		c := clients[i]
		if c == nil {
			return
		}
		_, err := c.cmd("NOOP", 2)
		c.quit()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			e.add(fmt.Errorf("session %d after hold: %w", i, err))
			return
		}
		r.AliveAfter++
	})
	r.setErrs(&e)
	return r
}

// runTable prints the comparison table of -in; the exit status is 1 if
// any run in it had errors.
func runTable(o *options) int {
	in := os.Stdin
	if o.in != "-" {
		f, err := os.Open(o.in)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ftpsbench:", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	t, err := readTable(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftpsbench: table:", err)
		return 2
	}
	if t.write(os.Stdout, o.base) > 0 {
		return 1
	}
	return 0
}
