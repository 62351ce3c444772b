package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The bare TLS baseline: "-mode tlsserve" is a TLS server that moves bytes
// and nothing else; "-mode tls" is its client, measuring like throughput
// mode (all -parallel streams upload, then all download, sha256-checked),
// one fresh TLS connection per transfer. It is the ceiling an FTPS server
// on the same machine, certificate and TLS version could reach.
//
// Each connection starts with a 17-byte request from the client: 'S'
// (the client sends) or 'R' (the server sends), the size and the payload
// seed, both big-endian uint64. After an upload the server answers one
// byte, 'K', once it has read everything.

const (
	opSend = 'S'
	opRecv = 'R'
	ackOK  = 'K'
)

// seededPayload is a payload whose random block is derived from seed, so
// the server and client can both make it without sending it, with the
// sum the client checks a download against.
func seededPayload(size int64, seed uint64) *payload {
	p := seededBlock(size, seed)
	h := sha256.New()
	p.writeTo(h)
	copy(p.sum[:], h.Sum(nil))
	return p
}

// seededBlock is seededPayload without the sum: the server's copy. Hashing
// the whole payload there would hold every download back by the time it
// takes (half a second for 1 GiB), and count as the server's CPU.
func seededBlock(size int64, seed uint64) *payload {
	p := &payload{block: make([]byte, min(size, 1<<20+13)), size: size}
	rng := rand.NewChaCha8([32]byte{0: byte(seed), 1: byte(seed >> 8), 2: byte(seed >> 16), 3: byte(seed >> 24),
		4: byte(seed >> 32), 5: byte(seed >> 40), 6: byte(seed >> 48), 7: byte(seed >> 56)})
	rng.Read(p.block)
	return p
}

// runTLSServe serves the byte-moving protocol on o.addr until SIGTERM or
// SIGINT, for at most maxSessions connections.
func runTLSServe(o *options) error {
	cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		return err
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		MaxVersion: o.tlsConfig.MaxVersion}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ftpsbench: tlsserve listening on %s\n", ln.Addr())
	go func() {
		for !stopping.Load() {
			time.Sleep(100 * time.Millisecond)
		}
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	var blocks sync.Map // seed+size -> *payload, made once
	for n := 0; n < maxSessions; n++ {
		c, err := ln.Accept()
		if err != nil {
			if stopping.Load() {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if err := serveTLSConn(tls.Server(c, conf), o, &blocks); err != nil && !stopping.Load() {
				fmt.Fprintln(os.Stderr, "ftpsbench: tlsserve:", err)
			}
		}()
	}
	return nil
}

// uploadBufs recycles the servers' upload buffers: a new one for each of
// thousands of small uploads a second would be most of what tlssmall
// measures.
var uploadBufs = sync.Pool{New: func() any { return new([256 << 10]byte) }}

func serveTLSConn(tc *tls.Conn, o *options, blocks *sync.Map) error {
	tc.SetDeadline(time.Now().Add(o.timeout))
	var hdr [17]byte
	if _, err := io.ReadFull(tc, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // a port probe
		}
		return err
	}
	size, seed := int64(binary.BigEndian.Uint64(hdr[1:9])), binary.BigEndian.Uint64(hdr[9:])
	if size < 1 || size > maxSizeBytes {
		return fmt.Errorf("bad size %d", size)
	}
	tc.SetDeadline(time.Now().Add(o.dataTimeout))
	switch hdr[0] {
	case opSend:
		buf := uploadBufs.Get().(*[256 << 10]byte)
		defer uploadBufs.Put(buf)
		n, err := io.CopyBuffer(io.Discard, io.LimitReader(tc, size), buf[:])
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("upload: %d bytes, want %d", n, size)
		}
		_, err = tc.Write([]byte{ackOK})
		return err
	case opRecv:
		key := [2]uint64{uint64(size), seed}
		v, ok := blocks.Load(key)
		if !ok {
			v, _ = blocks.LoadOrStore(key, seededBlock(size, seed))
		}
		if err := v.(*payload).writeTo(tc); err != nil {
			return err
		}
		return tc.CloseWrite()
	}
	return fmt.Errorf("bad request %q", hdr[0])
}

// runTLS is the client side: like runThroughput, against a tlsserve.
func runTLS(o *options) *result {
	r := newResult(o)
	r.SizeBytes = o.size
	var e errs
	var mu sync.Mutex
	n := o.parallel
	loads := make([]*payload, n)
	seed := uint64(time.Now().UnixNano())
	parallelDo(n, n, func(i int) {
		loads[i] = seededPayload(o.size, seed+uint64(i))
		loads[i].skipHash = o.noVerify
	})
	failed := make([]bool, n)
	phase := func(up bool) (time.Duration, int64, float64) {
		var moved atomic.Int64
		cpu := startCPU(o.pid)
		start := time.Now()
		parallelDo(n, n, func(i int) {
			if failed[i] || stopping.Load() {
				return
			}
			st, err := tlsTransfer(o, o.tlsConfig, up, loads[i], seed+uint64(i), o.sourceIP(i))
			mu.Lock()
			defer mu.Unlock()
			if i == 0 {
				r.DataTLS = describeTLS(st)
			}
			r.DataConns++
			if err != nil {
				e.add(fmt.Errorf("stream %d: %w", i, err))
				failed[i] = true
				return
			}
			moved.Add(o.size)
			if !up && !o.noVerify {
				r.Verified++
			}
		})
		d := time.Since(start)
		return d, moved.Load(), cpu.stop(&e)
	}
	upD, upB, upCPU := phase(true)
	downD, downB, downCPU := phase(false)
	r.UpSeconds, r.UpMBps, r.UpCPU = round3(upD.Seconds()), mbps(upB, upD), upCPU
	r.DownSecs, r.DownMBps, r.DownCPU = round3(downD.Seconds()), mbps(downB, downD), downCPU
	for _, f := range failed {
		if !f {
			r.SessionsOK++
		}
	}
	r.setErrs(&e)
	return r
}

// tlsTransfer is one bare TLS transfer with conf: connect, handshake
// (full, or resumed from conf's session cache), request, the bytes, and
// the server's ack (upload) or EOF (download).
func tlsTransfer(o *options, conf *tls.Config, up bool, p *payload, seed uint64, src net.IP) (tls.ConnectionState, error) {
	d := net.Dialer{Timeout: o.timeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	raw, err := d.Dial("tcp", o.addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	tc := tls.Client(raw, conf)
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(o.timeout))
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, fmt.Errorf("TLS handshake: %w", err)
	}
	desc := tc.ConnectionState()
	tc.SetDeadline(time.Now().Add(o.dataTimeout))
	var hdr [17]byte
	hdr[0] = opRecv
	if up {
		hdr[0] = opSend
	}
	binary.BigEndian.PutUint64(hdr[1:9], uint64(p.size))
	binary.BigEndian.PutUint64(hdr[9:], seed)
	if _, err := tc.Write(hdr[:]); err != nil {
		return desc, err
	}
	if !up {
		return desc, p.readVerify(tc)
	}
	if err := p.writeTo(tc); err != nil {
		return desc, err
	}
	var ack [1]byte
	if _, err := io.ReadFull(tc, ack[:]); err != nil {
		return desc, fmt.Errorf("upload ack: %w", err)
	}
	if ack[0] != ackOK {
		return desc, errors.New("upload: bad ack")
	}
	return desc, nil
}
