package ftpclient

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// listenActive listens on the control connection's local IP and tells
// the server with EPRT (RFC 2428), or PORT when EPRT is refused and the
// address is IPv4.
func (c *Conn) listenActive() (*net.TCPListener, Passive, error) {
	local, ok := c.raw.LocalAddr().(*net.TCPAddr)
	if !ok {
		return nil, Passive{}, errors.New("active mode: control connection is not TCP")
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: local.IP})
	if err != nil {
		return nil, Passive{}, fmt.Errorf("active mode: listen: %w", err)
	}
	la := ln.Addr().(*net.TCPAddr)
	p := Passive{Verb: "EPRT", Announced: la.IP, Port: la.Port, Addr: la.String()}
	_, err = c.Expect(200, "EPRT", FormatEPRT(la.IP, la.Port))
	if code := Code(err); (code == 500 || code == 502) && la.IP.To4() != nil {
		p.Verb = "PORT"
		_, err = c.Expect(200, "PORT", FormatPORT(la.IP, la.Port))
	}
	if err != nil {
		ln.Close()
		return nil, Passive{}, err
	}
	return ln, p, nil
}

// acceptActive waits for the server's data connection, dropping any from
// another address, until the connection's timeout.
func (c *Conn) acceptActive(ln *net.TCPListener) (net.Conn, error) {
	ln.SetDeadline(time.Now().Add(c.timeout))
	for {
		conn, err := ln.Accept()
		if err != nil {
			return nil, fmt.Errorf("active mode: no data connection: %w", err)
		}
		ra, _ := conn.RemoteAddr().(*net.TCPAddr)
		if ra != nil && c.peer != nil && ra.IP.Equal(c.peer) {
			return conn, nil
		}
		conn.Close() // a port thief: keep waiting for the server
	}
}

// FormatEPRT is the argument of EPRT for ip and port: "|1|ip|port|" or
// "|2|ip|port|".
func FormatEPRT(ip net.IP, port int) string {
	af := "2"
	if ip.To4() != nil {
		af, ip = "1", ip.To4()
	}
	return "|" + af + "|" + ip.String() + "|" + strconv.Itoa(port) + "|"
}

// FormatPORT is the argument of PORT for an IPv4 address and port:
// "h1,h2,h3,h4,p1,p2".
func FormatPORT(ip net.IP, port int) string {
	v4 := ip.To4()
	if v4 == nil {
		return ""
	}
	parts := make([]string, 0, 6)
	for _, b := range v4 {
		parts = append(parts, strconv.Itoa(int(b)))
	}
	parts = append(parts, strconv.Itoa(port>>8), strconv.Itoa(port&0xff))
	return strings.Join(parts, ",")
}
