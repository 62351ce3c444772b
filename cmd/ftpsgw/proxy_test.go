package main

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	proxyproto "github.com/pires/go-proxyproto"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// proxyFixture is a proxyListener on loopback trusting the given networks.
type proxyFixture struct {
	pl       *proxyListener
	rejected atomic.Int32
	accepted chan net.Conn
}

func newProxyFixture(t *testing.T, trusted ...string) *proxyFixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var nets []netip.Prefix
	for _, s := range trusted {
		nets = append(nets, netip.MustParsePrefix(s))
	}
	f := &proxyFixture{accepted: make(chan net.Conn, 8)}
	f.pl = newProxyListener(ln, nets, hclog.NewNullLogger(), func() { f.rejected.Add(1) })
	go func() {
		for {
			c, err := f.pl.Accept()
			if err != nil {
				close(f.accepted)
				return
			}
			f.accepted <- c
		}
	}()
	t.Cleanup(func() { f.pl.Close() })
	return f
}

func (f *proxyFixture) dial(t *testing.T, send string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if send != "" {
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// closedByServer reports whether the server closed c (EOF or reset)
// without sending anything.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	return n == 0 && err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestProxyListenerTrustedPeerWithHeader(t *testing.T) {
	f := newProxyFixture(t, "127.0.0.0/8")
	f.dial(t, "PROXY TCP4 192.0.2.9 127.0.0.1 40000 21\r\nhello")
	select {
	case c := <-f.accepted:
		defer c.Close()
		if got := addrOf(c.RemoteAddr()); got != netip.MustParseAddr("192.0.2.9") {
			t.Errorf("RemoteAddr = %v, want the address from the header", got)
		}
		buf := make([]byte, 5)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
			t.Errorf("payload %q, %v", buf, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not accepted")
	}
}

func TestProxyListenerDropsUntrustedPeer(t *testing.T) {
	f := newProxyFixture(t, "10.0.0.0/8")
	c := f.dial(t, "PROXY TCP4 192.0.2.9 127.0.0.1 40000 21\r\n")
	if !closedByServer(c) {
		t.Error("an untrusted peer was not disconnected")
	}
	select {
	case c := <-f.accepted:
		t.Errorf("accepted %v from an untrusted peer", c.RemoteAddr())
	case <-time.After(100 * time.Millisecond):
	}
	if f.rejected.Load() != 1 {
		t.Errorf("rejections counted: %d", f.rejected.Load())
	}
}

func TestProxyListenerRequiresHeaderFromTrustedPeer(t *testing.T) {
	f := newProxyFixture(t, "127.0.0.0/8")
	c := f.dial(t, "USER anonymous\r\n")
	if !closedByServer(c) {
		t.Error("a trusted peer without a PROXY header was not disconnected")
	}
	select {
	case c := <-f.accepted:
		t.Errorf("accepted %v without a header", c.RemoteAddr())
	case <-time.After(100 * time.Millisecond):
	}
}

func TestProxyListenerSilentPeerDoesNotBlockOthers(t *testing.T) {
	f := newProxyFixture(t, "127.0.0.0/8")
	f.dial(t, "") // connects, sends nothing
	time.Sleep(50 * time.Millisecond)
	f.dial(t, "PROXY TCP4 192.0.2.10 127.0.0.1 40000 21\r\n")
	select {
	case c := <-f.accepted:
		defer c.Close()
		if got := addrOf(c.RemoteAddr()); got != netip.MustParseAddr("192.0.2.10") {
			t.Errorf("RemoteAddr = %v", got)
		}
	case <-time.After(proxyHeaderTimeout / 2):
		t.Fatal("a silent peer blocked the next connection")
	}
}

func TestProxyListenerClose(t *testing.T) {
	f := newProxyFixture(t, "127.0.0.0/8")
	if err := f.pl.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-f.accepted:
		if ok {
			t.Error("accepted after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
	if _, err := f.pl.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}

// TestProxyListenerRefusesUnixSource: a PROXY v2 header naming an AF_UNIX
// client gives no IP for bans and limits; the connection is refused.
func TestProxyListenerRefusesUnixSource(t *testing.T) {
	f := newProxyFixture(t, "127.0.0.0/8")
	h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.UnixStream,
		SourceAddr: &net.UnixAddr{Net: "unix", Name: "/run/client.sock"}, DestinationAddr: &net.UnixAddr{Net: "unix", Name: "/run/ftp.sock"}}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	c := f.dial(t, string(b)+"USER x\r\n")
	if !closedByServer(c) {
		t.Error("a connection whose header names an AF_UNIX client was not refused")
	}
	select {
	case c := <-f.accepted:
		t.Errorf("accepted a connection from %v", c.RemoteAddr())
	case <-time.After(100 * time.Millisecond):
	}
}

// TestProxyListenerCloseJoins: Close cuts a trusted peer still silent
// before its header and returns only when the accept loop and every
// header reader have ended, well before the header timeout.
func TestProxyListenerCloseJoins(t *testing.T) {
	f := newProxyFixture(t, "127.0.0.0/8")
	silent := f.dial(t, "")
	testkit.WaitFor(t, 5*time.Second, "the silent peer's header reader", func() bool {
		f.pl.mu.Lock()
		defer f.pl.mu.Unlock()
		return len(f.pl.pending) == 1
	})
	start := time.Now()
	f.pl.Close()
	if d := time.Since(start); d > proxyHeaderTimeout/2 {
		t.Errorf("Close took %v: it waited for the header timeout", d)
	}
	if !closedByServer(silent) {
		t.Error("the silent peer's connection is still open after Close")
	}
}
