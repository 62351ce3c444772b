package main

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

func TestDataConnWrapper(t *testing.T) {
	wrap := dataConnWrapper([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accept := func(src string, header *proxyproto.Header) (net.Conn, error) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if header != nil {
			header.WriteTo(c)
		} else {
			c.Write([]byte("\x16\x03\x01")) // a TLS ClientHello's start, no header
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.SetDeadline(time.Now().Add(10 * time.Second))
		return wrap(s)
	}

	// A client straight to the gateway: unchanged.
	c, err := accept("127.0.0.2", nil)
	if err != nil || addrOf(c.RemoteAddr()) != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("direct client: %v %v", c, err)
	}
	// The trusted proxy with a header: the header's client.
	h := &proxyproto.Header{Version: 2, Command: proxyproto.PROXY, TransportProtocol: proxyproto.TCPv4,
		SourceAddr:      &net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 4242},
		DestinationAddr: &net.TCPAddr{IP: net.ParseIP("198.51.100.1"), Port: 50000}}
	c, err = accept("127.0.0.1", h)
	if err != nil || addrOf(c.RemoteAddr()) != netip.MustParseAddr("192.0.2.9") {
		t.Errorf("proxied client: %v %v", c, err)
	}
	if c != nil && addrOf(c.LocalAddr()) != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("local address %v, want the gateway's own", c.LocalAddr())
	}
	// The trusted proxy without a header: dropped.
	if _, err := accept("127.0.0.1", nil); err == nil {
		t.Error("data connection from the trusted proxy without a header accepted")
	}
}
