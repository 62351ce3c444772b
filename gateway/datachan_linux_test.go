package gateway

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPassiveListenerIsPlainTCP: a passive port is a TCP socket, not the
// Multipath TCP one Go opens by default where the kernel has it (this
// kind of machine does: /proc/sys/net/mptcp).
func TestPassiveListenerIsPlainTCP(t *testing.T) {
	ln, err := listenPassivePort(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var proto int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		proto, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL)
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	if proto != unix.IPPROTO_TCP {
		t.Fatalf("passive listener protocol %d, want TCP (%d)", proto, unix.IPPROTO_TCP)
	}
}
