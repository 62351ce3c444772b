package ftpclient

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// parseEPRTArg reads "|1|ip|port|".
func parseEPRTArg(t *testing.T, line string) string {
	t.Helper()
	f := strings.Split(strings.TrimPrefix(line, "EPRT "), "|")
	if len(f) != 5 || f[1] != "1" {
		t.Errorf("EPRT argument %q", line)
		return ""
	}
	return net.JoinHostPort(f[2], f[3])
}

// parsePORTArg reads "h1,h2,h3,h4,p1,p2".
func parsePORTArg(t *testing.T, line string) string {
	t.Helper()
	f := strings.Split(strings.TrimPrefix(line, "PORT "), ",")
	if len(f) != 6 {
		t.Errorf("PORT argument %q", line)
		return ""
	}
	hi, _ := strconv.Atoi(f[4])
	lo, _ := strconv.Atoi(f[5])
	return net.JoinHostPort(strings.Join(f[:4], "."), strconv.Itoa(hi<<8|lo))
}

// activeData connects to the client from 127.0.0.1 (after a port thief
// from 127.0.0.2, which must be dropped), runs the TLS server handshake
// and writes payload; it returns whether the session was resumed and
// whether the thief was cut off without data.
func (s *scripted) activeData(addr, payload string) (resumed, thiefDropped bool, err error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	if thief, err := d.Dial("tcp", addr); err == nil {
		thief.SetDeadline(time.Now().Add(3 * time.Second))
		n, rerr := thief.Read(make([]byte, 1))
		thiefDropped = n == 0 && rerr != nil
		thief.Close()
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false, thiefDropped, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Server(c, s.tls)
	if err := tc.Handshake(); err != nil {
		return false, thiefDropped, err
	}
	io.WriteString(tc, payload)
	tc.Close()
	return tc.ConnectionState().DidResume, thiefDropped, nil
}

// TestActiveTransfer: EPRT on the control connection's local address,
// REST before RETR, the server's connection accepted only from the
// control peer, the client the TLS side that resumes; then PORT when
// EPRT is refused. OnCommand sees PASS as ****.
func TestActiveTransfer(t *testing.T) {
	srvConf, cliConf := testTLS(t)
	var mu sync.Mutex
	var resumed, dropped []bool
	addr := serve(t, srvConf, func(s *scripted) {
		s.send("220 ready")
		s.startTLS()
		s.expect("USER u")
		s.send("331 pw")
		s.expect("PASS secret")
		s.send("230 in")
		s.expect("PBSZ 0")
		s.send("200 ok")
		s.expect("PROT P")
		s.send("200 ok")
		for i := range 2 {
			var target string
			if i == 0 {
				target = parseEPRTArg(t, s.expect("EPRT |1|127.0.0.1|"))
				s.send("200 EPRT ok")
				s.expect("REST 5")
				s.send("350 restarting")
			} else {
				s.expect("EPRT")
				s.send("502 no EPRT")
				target = parsePORTArg(t, s.expect("PORT 127,0,0,1,"))
				s.send("200 PORT ok")
			}
			s.expect("RETR f")
			s.send("150 connecting")
			r, d, err := s.activeData(target, "payload"+strconv.Itoa(i))
			if err != nil {
				t.Errorf("active data %d: %v", i, err)
			}
			mu.Lock()
			resumed, dropped = append(resumed, r), append(dropped, d)
			mu.Unlock()
			s.send("226 done")
		}
		s.expect("QUIT")
		s.send("221 bye")
	})
	var sent []string
	c, err := Dial(context.Background(), addr, Config{TLS: cliConf, Timeout: 5 * time.Second,
		OnCommand: func(l string) { sent = append(sent, l) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.AuthTLS(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Login("u", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Prot("P"); err != nil {
		t.Fatal(err)
	}
	for i, opts := range []TransferOptions{{Active: true, Restart: 5}, {Active: true}} {
		var got strings.Builder
		info, err := c.Transfer(context.Background(), opts, func(conn net.Conn) error {
			_, err := io.Copy(&got, conn)
			return err
		}, "RETR", "f")
		if err != nil || got.String() != "payload"+strconv.Itoa(i) {
			t.Errorf("transfer %d: %q, %v", i, got.String(), err)
		}
		wantVerb := []string{"EPRT", "PORT"}[i]
		if info.Passive.Verb != wantVerb || info.TLS == nil || !info.TLS.DidResume || info.Final.Code != 226 {
			t.Errorf("transfer %d: info %+v", i, info)
		}
	}
	c.Quit()
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != 2 || !resumed[0] || !resumed[1] {
		t.Errorf("server saw resumption %v, want [true true]", resumed)
	}
	if len(dropped) != 2 || !dropped[0] || !dropped[1] {
		t.Errorf("port thief dropped %v, want [true true]", dropped)
	}
	joined := strings.Join(sent, "\n")
	if !strings.Contains(joined, "PASS ****") || strings.Contains(joined, "secret") {
		t.Errorf("OnCommand saw %q", joined)
	}
}

// TestImplicitDial: Config.Implicit runs the handshake before the
// greeting, which arrives encrypted; OnReply sees it.
func TestImplicitDial(t *testing.T) {
	srvConf, cliConf := testTLS(t)
	addr := serve(t, srvConf, func(s *scripted) {
		tc := tls.Server(s.conn, s.tls)
		if err := tc.Handshake(); err != nil {
			t.Errorf("server handshake: %v", err)
			return
		}
		s.conn = tc
		s.r.Reset(tc)
		s.send("220 implicit ready")
		s.expect("NOOP")
		s.send("200 ok")
	})
	var replies []int
	c, err := Dial(context.Background(), addr, Config{TLS: cliConf, Timeout: 5 * time.Second, Implicit: true,
		OnReply: func(r Reply) { replies = append(replies, r.Code) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.TLSState(); !ok || c.Greeting.Message() != "implicit ready" {
		t.Errorf("greeting %+v, TLS %v", c.Greeting, ok)
	}
	if _, err := c.Expect(200, "NOOP"); err != nil {
		t.Error(err)
	}
	if err := c.AuthTLS(context.Background()); err == nil {
		t.Error("AUTH TLS on an implicit connection accepted")
	}
	if len(replies) != 2 || replies[0] != 220 || replies[1] != 200 {
		t.Errorf("OnReply saw %v", replies)
	}
}

func TestFormatActive(t *testing.T) {
	if got := FormatEPRT(net.ParseIP("10.1.2.3"), 50001); got != "|1|10.1.2.3|50001|" {
		t.Errorf("EPRT v4: %s", got)
	}
	if got := FormatEPRT(net.ParseIP("2001:db8::1"), 21); got != "|2|2001:db8::1|21|" {
		t.Errorf("EPRT v6: %s", got)
	}
	if got := FormatPORT(net.ParseIP("10.1.2.3"), 50001); got != "10,1,2,3,195,81" {
		t.Errorf("PORT: %s", got)
	}
	if got := FormatPORT(net.ParseIP("2001:db8::1"), 21); got != "" {
		t.Errorf("PORT v6: %q", got)
	}
}
