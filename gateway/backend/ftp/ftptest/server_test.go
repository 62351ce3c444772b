package ftptest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// login runs USER and PASS on a plain control connection to s and returns
// PASS's reply line.
func login(t *testing.T, s *Server, pw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	read := func() string {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return "closed: " + err.Error()
			}
			if len(line) > 3 && line[3] == ' ' {
				return strings.TrimSpace(line)
			}
		}
	}
	read()
	c.Write([]byte("USER " + User + "\r\n"))
	if got := read(); !strings.HasPrefix(got, "331") {
		return got
	}
	c.Write([]byte("PASS " + pw + "\r\n"))
	return read()
}

func TestServersLogIn(t *testing.T) {
	for _, k := range []Kind{Vsftpd, PureFTPd} {
		t.Run(k.String(), func(t *testing.T) {
			s := Start(t, Options{Server: k})
			if got := login(t, s, Password); !strings.HasPrefix(got, "230") {
				t.Errorf("login: %q", got)
			}
			if k == Vsftpd { // pure-ftpd delays a refusal by seconds
				if got := login(t, s, "wrong"); !strings.HasPrefix(got, "530") {
					t.Errorf("wrong password: %q", got)
				}
			}
			s.Stop()
			if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
				t.Errorf("connected to a stopped server")
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if got := login(t, s, Password); !strings.HasPrefix(got, "230") {
				t.Errorf("login after restart: %q", got)
			}
		})
	}
}

func TestTLSServerRefusesClearLogin(t *testing.T) {
	s := Start(t, Options{TLS: "explicit"})
	if got := login(t, s, Password); strings.HasPrefix(got, "230") {
		t.Errorf("login without TLS accepted: %q", got)
	}
	if s.Fingerprint == "" || s.CAFile == "" {
		t.Errorf("no fingerprint or CA file")
	}
}
