package ftpclient

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBindCutsBlockedExchange: a 120 before the 220 is waited through;
// once a bound context ends, a command blocked on its reply returns at
// once, and the next one fails with the context's error without
// reaching the server.
func TestBindCutsBlockedExchange(t *testing.T) {
	seen := make(chan string, 2)
	served := make(chan struct{})
	addr := serve(t, nil, func(s *scripted) {
		defer close(served)
		s.send("120 ready in a moment", "220 ready")
		seen <- s.expect("NOOP")
		// No answer; anything more the client sends is recorded.
		if line, err := s.r.ReadString('\n'); err == nil {
			seen <- strings.TrimRight(line, "\r\n")
		}
	})
	c, err := Dial(context.Background(), addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.Greeting.Code != 220 {
		t.Errorf("greeting %+v, want the 220 after the 120", c.Greeting)
	}
	ctx, cancel := context.WithCancel(context.Background())
	end := c.Bind(ctx)
	if c.Context() != ctx {
		t.Errorf("Context is not the bound one")
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := c.Cmd("NOOP"); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("blocked NOOP: %v after %v, want an error at once", err, time.Since(start))
	}
	if _, err := c.Cmd("STAT"); !errors.Is(err, context.Canceled) {
		t.Errorf("STAT after the context ended: %v, want context.Canceled", err)
	}
	end()
	if c.Context() != context.Background() {
		t.Errorf("Context after end is not context.Background")
	}
	c.CloseNow()
	<-served
	close(seen)
	for line := range seen {
		if line != "NOOP" {
			t.Errorf("server read %q after the context ended", line)
		}
	}
}

// TestOpenDataAbortAndAlive: a download streamed from OpenData and
// abandoned midway gets the server's 426 from Abort; the connection
// stays in step, and Alive notices a 421 the server sends unasked.
func TestOpenDataAbortAndAlive(t *testing.T) {
	addr := serve(t, nil, func(s *scripted) {
		s.send("220 ready")
		s.expect("PASV")
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		s.send(pasvReply(ln))
		s.expect("RETR big")
		s.send("150 here it comes")
		dc, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		dc.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 32<<10)
		for {
			if _, err := dc.Write(buf); err != nil {
				break // the client closed it
			}
		}
		dc.Close()
		s.send("426 transfer aborted")
		s.expect("NOOP")
		s.send("200 ok")
		s.send("421 closing")
	})
	c, err := Dial(context.Background(), addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.PASV()
	if err != nil {
		t.Fatal(err)
	}
	d, info, err := c.OpenData(context.Background(), TransferOptions{Passive: p}, "RETR", "big")
	if err != nil {
		t.Fatal(err)
	}
	if info.Preamble.Code != 150 || info.TLS != nil {
		t.Errorf("info %+v", info)
	}
	if _, err := io.ReadFull(d, make([]byte, 256<<10)); err != nil {
		t.Fatal(err)
	}
	if rep, err := d.Abort(); err != nil || rep.Code != 426 {
		t.Errorf("Abort = %v, %v; want 426", rep, err)
	}
	if !c.Alive() {
		t.Errorf("Alive = false on a quiet connection")
	}
	if _, err := c.Expect(200, "NOOP"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.Alive() {
		if time.Now().After(deadline) {
			t.Fatal("Alive still true after the server's unasked 421")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBindCutsDataRead: a read blocked on a data connection returns at
// once when the bound context ends, and the transfer's end then fails
// with the context's error instead of waiting for a reply.
func TestBindCutsDataRead(t *testing.T) {
	addr := serve(t, nil, func(s *scripted) {
		s.send("220 ready")
		s.expect("PASV")
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		s.send(pasvReply(ln))
		s.expect("RETR slow")
		s.send("150 here it comes")
		if dc, err := ln.Accept(); err == nil {
			defer dc.Close()
		}
		s.r.ReadString('\n') // nothing is sent; wait for the client to go
	})
	c, err := Dial(context.Background(), addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(context.Background())
	end := c.Bind(ctx)
	defer end()
	p, err := c.PASV()
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := c.OpenData(c.Context(), TransferOptions{Passive: p}, "RETR", "slow")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := d.Read(make([]byte, 1)); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("blocked Read: %v after %v, want an error at once", err, time.Since(start))
	}
	if _, err := d.Abort(); !errors.Is(err, context.Canceled) {
		t.Errorf("Abort after the context ended: %v, want context.Canceled", err)
	}
}
