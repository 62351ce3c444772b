package gateway

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenersArePlainTCP: control listeners and passive ports are TCP
// sockets, not the Multipath TCP ones Go opens by default where the
// kernel has it (this kind of machine does: /proc/sys/net/mptcp).
func TestListenersArePlainTCP(t *testing.T) {
	passive, err := listenPassivePort(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer passive.Close()
	control, err := ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	for _, ln := range []net.Listener{passive, control} {
		checkPlainTCP(t, ln)
	}
}

func checkPlainTCP(t *testing.T, ln net.Listener) {
	t.Helper()
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
