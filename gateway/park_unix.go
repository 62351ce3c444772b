//go:build unix

package gateway

import "syscall"

const canPeek = true

// peekReady peeks at one byte of the socket without blocking.
func peekReady(fd uintptr, b []byte) bool {
	_, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EINTR
}
