package ftpclient

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testTLS returns a server configuration with a fresh self-signed
// certificate for 127.0.0.1 and a client configuration trusting it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return server, &tls.Config{RootCAs: pool}
}

// scripted is a one-connection FTP server whose replies a test writes
// step by step, in the server's goroutine.
type scripted struct {
	t    *testing.T
	ln   net.Listener
	tls  *tls.Config
	conn net.Conn
	r    *bufio.Reader
	done chan struct{}
}

// serve starts a server that runs script on the first connection.
func serve(t *testing.T, conf *tls.Config, script func(s *scripted)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{t: t, ln: ln, tls: conf, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		s.conn, s.r = c, bufio.NewReader(c)
		script(s)
	}()
	t.Cleanup(func() { ln.Close(); <-s.done })
	return ln.Addr().String()
}

func (s *scripted) send(lines ...string) {
	io.WriteString(s.conn, strings.Join(lines, "\r\n")+"\r\n")
}

// expect reads one command and fails the test unless it starts with want.
func (s *scripted) expect(want string) string {
	line, err := s.r.ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if err != nil || !strings.HasPrefix(line, want) {
		s.t.Errorf("server read %q, %v; want %s", line, err, want)
	}
	return line
}

// startTLS answers AUTH TLS and runs the server handshake.
func (s *scripted) startTLS() {
	s.expect("AUTH TLS")
	s.send("234 go ahead")
	tc := tls.Server(s.conn, s.tls)
	if err := tc.Handshake(); err != nil {
		s.t.Errorf("server handshake: %v", err)
	}
	s.conn, s.r = tc, bufio.NewReader(tc)
}

// dataTLS accepts one passive connection on ln, runs the TLS handshake
// and writes payload; it returns whether the session was resumed.
func (s *scripted) dataTLS(ln net.Listener, payload string) (resumed bool, err error) {
	c, err := ln.Accept()
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Server(c, s.tls)
	if err := tc.Handshake(); err != nil {
		return false, err
	}
	io.WriteString(tc, payload)
	tc.Close()
	return tc.ConnectionState().DidResume, nil
}

func pasvReply(ln net.Listener) string {
	a := ln.Addr().(*net.TCPAddr)
	return fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d).", a.Port>>8, a.Port&0xff)
}

// TestSessionResumesOnData: a whole session — greeting, AUTH TLS, login,
// PBSZ/PROT, EPSV refused so PASV, a listing whose data connection
// resumes the control session, one with FreshSession that does not.
func TestSessionResumesOnData(t *testing.T) {
	srvConf, cliConf := testTLS(t)
	var mu sync.Mutex
	var resumed []bool
	addr := serve(t, srvConf, func(s *scripted) {
		s.send("220-welcome", "220 ready")
		s.startTLS()
		s.expect("USER bob")
		s.send("331 password")
		s.expect("PASS secret")
		s.send("230 in")
		s.expect("PBSZ 0")
		s.send("200 PBSZ=0")
		s.expect("PROT P")
		s.send("200 ok")
		for range 2 {
			s.expect("EPSV")
			s.send("502 no EPSV here")
			s.expect("PASV")
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			s.send(pasvReply(ln))
			s.expect("MLSD")
			s.send("150 here it comes")
			r, err := s.dataTLS(ln, "type=file;size=3; a.txt\r\n")
			ln.Close()
			if err != nil {
				t.Errorf("data: %v", err)
			}
			mu.Lock()
			resumed = append(resumed, r)
			mu.Unlock()
			s.send("226 done")
		}
		s.expect("QUIT")
		s.send("221 bye")
	})
	ctx := context.Background()
	c, err := Dial(ctx, addr, Config{TLS: cliConf, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Greeting.Code != 220 || c.Greeting.Message() != "welcome\nready" {
		t.Errorf("greeting %+v", c.Greeting)
	}
	if err := c.AuthTLS(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Login("bob", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := c.Prot("P"); err != nil {
		t.Fatal(err)
	}
	for i, fresh := range []bool{false, true} {
		b, info, err := c.List(ctx, TransferOptions{FreshSession: fresh}, "MLSD")
		if err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
		e, err := ParseMLSx(strings.TrimSpace(string(b)))
		if err != nil || e.Name != "a.txt" || info.Passive.Verb != "PASV" || info.Final.Code != 226 || info.TLS == nil {
			t.Errorf("list %d: %+v %v, info %+v", i, e, err, info)
		}
		if info.TLS != nil && info.TLS.DidResume == fresh {
			t.Errorf("list %d (fresh %v): client DidResume %v", i, fresh, info.TLS.DidResume)
		}
	}
	if err := c.Quit(); err != nil {
		t.Errorf("quit: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resumed) != 2 || !resumed[0] || resumed[1] {
		t.Errorf("server saw resumption %v, want [true false]", resumed)
	}
}

// TestAuthTLSRefusesInjection: bytes after the 234, before the handshake,
// would be read as if they came over TLS.
func TestAuthTLSRefusesInjection(t *testing.T) {
	srvConf, cliConf := testTLS(t)
	addr := serve(t, srvConf, func(s *scripted) {
		s.send("220 ready")
		s.expect("AUTH TLS")
		s.send("234 go ahead", "230 you are logged in")
		s.r.ReadString('\n')
	})
	c, err := Dial(context.Background(), addr, Config{TLS: cliConf, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.AuthTLS(context.Background()); !errors.Is(err, ErrInjected) {
		t.Errorf("AuthTLS: %v, want ErrInjected", err)
	}
}

// TestLoginAndRefusals: replies other than the expected ones come back
// as *Error with their code; arguments with line breaks are not sent.
func TestLoginAndRefusals(t *testing.T) {
	addr := serve(t, nil, func(s *scripted) {
		s.send("220 ready")
		s.expect("USER eve")
		s.send("530 TLS required")
		s.expect("EPSV")
		s.send("229 Entering Extended Passive Mode (|||2121|)")
		s.expect("SIZE f")
		s.send("213 1234")
		s.expect("MDTM f")
		s.send("213 20260102030405")
		s.expect("DELE f")
		s.send("550 no")
		s.expect("FEAT")
		s.send("500 what")
		s.expect("QUIT")
		s.send("221 bye")
	})
	c, err := Dial(context.Background(), addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("eve", "pw"); Code(err) != 530 {
		t.Errorf("Login: %v, want 530", err)
	}
	if err := c.Send("USER", "a\r\nPASS b"); !errors.Is(err, ErrBadArgument) {
		t.Errorf("Send with CRLF: %v", err)
	}
	if p, err := c.EPSV(); err != nil || p.Addr != "127.0.0.1:2121" || p.Announced != nil {
		t.Errorf("EPSV = %+v, %v", p, err)
	}
	if n, err := c.Size("f"); n != 1234 || err != nil {
		t.Errorf("Size = %d, %v", n, err)
	}
	if mt, err := c.ModTime("f"); err != nil || !mt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("ModTime = %v, %v", mt, err)
	}
	if err := c.Delete("f"); Code(err) != 550 {
		t.Errorf("Delete: %v", err)
	}
	if f, err := c.Feat(); err != nil || len(f) != 0 {
		t.Errorf("Feat without FEAT = %v, %v", f, err)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit: %v", err)
	}
}

// TestTransferRefusedAndNoCompletion: a 5xx instead of 150 is an error
// naming the code; a server that never completes a transfer gives
// ErrNoCompletion after FinalWait.
func TestTransferRefusedAndNoCompletion(t *testing.T) {
	addr := serve(t, nil, func(s *scripted) {
		s.send("220 ready")
		for i := range 2 {
			s.expect("PASV")
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			defer ln.Close()
			s.send(pasvReply(ln))
			s.expect("LIST")
			if i == 0 {
				s.send("521 PROT P required")
				continue
			}
			s.send("150 ok")
			if c, err := ln.Accept(); err == nil {
				c.Close() // no data, and no 226
			}
			s.r.ReadString('\n') // the client hangs up
		}
	})
	c, err := Dial(context.Background(), addr, Config{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, _ := c.PASV()
	if _, _, err := c.List(context.Background(), TransferOptions{Passive: p}, "LIST"); Code(err) != 521 {
		t.Errorf("refused LIST: %v", err)
	}
	p, _ = c.PASV()
	_, info, err := c.List(context.Background(), TransferOptions{Passive: p, FinalWait: 200 * time.Millisecond}, "LIST")
	if !errors.Is(err, ErrNoCompletion) || info.Preamble.Code != 150 {
		t.Errorf("LIST without completion: %v, %+v", err, info)
	}
}
