//go:build unix

package ftpclient

import (
	"net"
	"syscall"
)

// peekIdle reports whether an idle connection is still open with nothing
// unread: it peeks at the socket without blocking. Bytes waiting (a 421
// before the server closed) or the end of the stream mean the
// connection cannot be used for the next command.
func peekIdle(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
