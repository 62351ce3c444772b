package sshdtest

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// dial logs in with the client key, checking the host key against
// KnownHosts.
func dial(t *testing.T, s *Server, auth ssh.AuthMethod) (*ssh.Client, error) {
	t.Helper()
	hk, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		b, err := os.ReadFile(s.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			t.Fatal(err)
		}
		auth = ssh.PublicKeys(signer)
	}
	return ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
		User:              User,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   hk,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           5 * time.Second,
	})
}

func TestStartLoginAndFaults(t *testing.T) {
	s := Start(t, Options{Password: true})
	if s.Port < portLow || s.Port > portHigh {
		t.Errorf("port %d outside the band", s.Port)
	}
	c, err := dial(t, s, nil)
	if err != nil {
		t.Fatalf("key login: %v", err)
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections = %d, want 1", n)
	}
	if n := s.KillSessions(); n == 0 {
		t.Errorf("KillSessions killed nothing")
	}
	if err := c.Wait(); err == nil {
		t.Errorf("connection survived KillSessions")
	}
	pc, err := dial(t, s, ssh.Password(Password))
	if err != nil {
		t.Fatalf("password login: %v", err)
	}
	pc.Close()
	if _, err := dial(t, s, ssh.Password("wrong")); err == nil {
		t.Errorf("wrong password accepted")
	}

	s.Stop()
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Errorf("port still open after Stop")
	}
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	c, err = dial(t, s, nil)
	if err != nil {
		t.Fatalf("login after Restart: %v", err)
	}
	defer c.Close()
	if _, err := os.Stat(filepath.Join(s.DataDir)); err != nil {
		t.Errorf("data dir: %v", err)
	}
}

func TestStall(t *testing.T) {
	s := Start(t, Options{})
	c, err := dial(t, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Stall()
	done := make(chan error, 1)
	go func() {
		_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("stalled server answered: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	s.Resume()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("keepalive after Resume: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no answer after Resume")
	}
}

func TestSmallDisk(t *testing.T) {
	s := Start(t, Options{SmallDisk: "256k"})
	var st = new(syscallStatfs)
	if err := statfs(s.DataDir, st); err != nil {
		t.Fatal(err)
	}
	if total := st.Blocks * uint64(st.Bsize); total > 512<<10 {
		t.Errorf("data dir holds %d bytes, want a small tmpfs", total)
	}
}
