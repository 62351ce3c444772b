package gateway

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// TestHostileTrafficLeavesOthersAlone: while one client transfers, 60
// hostile connections send random bytes before and after TLS, overlong
// lines, half handshakes, and vanish mid-transfer. The honest session's
// every transfer must succeed, and every hostile session must be gone.
func TestHostileTrafficLeavesOthersAlone(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSessionsPerIP = 100; c.LoginTimeout = 3 * time.Second })
	e.srv.ForTest().SetLoginFailDelay(0)
	honest := e.dial()
	honest.login("alice", alicePW)

	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hostile(e, i)
		}()
	}
	for i := range 30 {
		data := bytes.Repeat([]byte{byte(i)}, 50_000+i)
		name := fmt.Sprintf("honest-%d", i)
		honest.put(name, data)
		if got := honest.get(name); !bytes.Equal(got, data) {
			t.Fatalf("honest transfer %d corrupted", i)
		}
	}
	wg.Wait()
	honest.expect(221, "QUIT")
	waitFor(t, func() bool { return e.srv.Sessions() == 0 })
}

// hostile is one misbehaving client; kind picks the misbehaviour.
func hostile(e *env, i int) {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	junk := func(n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		return b
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", e.addr)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	switch i % 6 {
	case 0: // random bytes before TLS
		c.Write(junk(3000))
	case 1: // an overlong line
		c.Write(bytes.Repeat([]byte("A"), 10_000))
	case 2: // AUTH TLS, then garbage instead of a ClientHello
		c.Write([]byte("AUTH TLS\r\n"))
		time.Sleep(10 * time.Millisecond)
		c.Write(junk(500))
	case 3: // a half handshake, then silence until the deadline
		c.Write([]byte("AUTH TLS\r\n"))
		time.Sleep(10 * time.Millisecond)
		c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00})
	case 4, 5: // TLS, login, then random lines or a vanished transfer
		buf := make([]byte, 512)
		c.Read(buf)
		c.Write([]byte("AUTH TLS\r\n"))
		c.Read(buf)
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
		if tc.Handshake() != nil {
			return
		}
		fmt.Fprintf(tc, "USER alice\r\nPASS %s\r\nPBSZ 0\r\nPROT P\r\n", alicePW)
		if i%6 == 4 {
			for range 20 {
				tc.Write(append(junk(r.IntN(200)), '\r', '\n'))
			}
		} else {
			fmt.Fprintf(tc, "EPSV\r\nRETR nothing\r\nSTOR x-%d\r\n", i)
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
}
