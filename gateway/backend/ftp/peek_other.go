//go:build !unix

package ftp

import "net"

// peekIdle cannot look at the socket on this platform: an idle
// connection the upstream closed is found by the next command, which
// then fails with backend.ErrUnavailable.
func peekIdle(net.Conn) bool { return true }
