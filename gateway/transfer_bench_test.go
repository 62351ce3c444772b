package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// pumpSize is what one benchmark operation moves.
const pumpSize = 64 << 20

// repeatReader yields n bytes of block, repeated: a file that costs no I/O.
type repeatReader struct {
	block []byte
	off   int
	n     int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	r.n -= int64(n)
	return n, nil
}

// connPair returns two connected ends: net.Pipe, loopback TCP, or TLS
// 1.3 over loopback TCP.
func connPair(b *testing.B, kind string) (server, client net.Conn) {
	b.Helper()
	if kind == "pipe" {
		server, client = net.Pipe()
		b.Cleanup(func() { server.Close(); client.Close() })
		return server, client
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		b.Fatal("accept failed")
	}
	if kind == "tls" {
		ca := testkit.NewCA(b, "bench CA")
		cert := ca.Issue(b, "localhost", "127.0.0.1")
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		ts := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
		tc := tls.Client(client, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
		errc := make(chan error, 1)
		go func() { errc <- ts.Handshake() }()
		if err := tc.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		server, client = ts, tc
	}
	b.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// BenchmarkPump moves 64 MiB per operation through pump, the transfer
// copy loop, over a data connection wrapped as moveData wraps it: RETR
// (a file to the connection) and STOR (the connection to a file), with
// and without the transfer digest. The peer counts (and, in the first
// operation, hashes) what arrives.
func BenchmarkPump(b *testing.B) {
	block := make([]byte, 1<<20+7) // not a multiple of the chunk size
	rand.Read(block)
	want := sha256.New()
	io.Copy(want, &repeatReader{block: block, n: pumpSize})
	wantSum := want.Sum(nil)

	for _, kind := range []string{"pipe", "tcp", "tls"} {
		for _, dir := range []string{"retr", "stor"} {
			for _, hashed := range []bool{false, true} {
				name := kind + "/" + dir
				if hashed {
					name += "/sha256"
				}
				b.Run(name, func(b *testing.B) {
					benchPump(b, kind, dir == "retr", hashed, block, wantSum)
				})
			}
		}
	}
}

func benchPump(b *testing.B, kind string, retr, hashed bool, block, wantSum []byte) {
	server, client := connPair(b, kind)
	data := stallConn{server, time.Minute}
	ctx := context.Background()
	b.SetBytes(pumpSize)
	b.ReportAllocs()
	first := true
	for b.Loop() {
		x := &transfer{}
		if hashed {
			x.hash = sha256.New()
		}
		file := &repeatReader{block: block, n: pumpSize}
		peer := make(chan error, 1)
		var got []byte
		var n int64
		check := first
		first = false
		var err error
		if retr {
			go func() {
				h := sha256.New()
				var w io.Writer = io.Discard
				if check {
					w = h
				}
				var err error
				n, err = io.CopyN(w, client, pumpSize)
				got = h.Sum(nil)
				peer <- err
			}()
			err = pump(ctx, data, file, x, x.hash, nil, nil)
		} else {
			go func() {
				_, err := io.Copy(client, file)
				peer <- err
			}()
			h := sha256.New()
			var w io.Writer = io.Discard
			if check {
				w = h
			}
			cw := &benchSink{w: w}
			err = pump(ctx, cw, io.LimitReader(data, pumpSize), x, x.hash, nil, nil)
			n, got = cw.n, h.Sum(nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := <-peer; err != nil {
			b.Fatal(err)
		}
		if n != pumpSize || x.bytes.Load() != pumpSize {
			b.Fatalf("moved %d, counted %d, want %d", n, x.bytes.Load(), pumpSize)
		}
		if check && !bytes.Equal(got, wantSum) {
			b.Fatal("data corrupted")
		}
		if hashed && !bytes.Equal(x.hash.Sum(nil), wantSum) {
			b.Fatal("transfer digest wrong")
		}
	}
}

type benchSink struct {
	w io.Writer
	n int64
}

func (c *benchSink) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}
