package ftp

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend/ftp/ftptest"
)

// capture records loopback traffic on port with tcpdump until stop.
type capture struct {
	cmd  *exec.Cmd
	file string
}

// startCapture starts tcpdump on lo for port, or returns nil (skipping
// locally, failing on CI) when tcpdump is missing.
func startCapture(t *testing.T, port int) *capture {
	t.Helper()
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tcpdump is required on CI (.ci/upstream-ftp.sh installs it): %v", err)
		}
		t.Logf("tcpdump not installed: checking the upstream's log only")
		return nil
	}
	c := &capture{file: filepath.Join(t.TempDir(), "wire.pcap")}
	// --immediate-mode: without it, packets still in the kernel's ring
	// block when tcpdump is interrupted are never written.
	c.cmd = exec.Command(bin, "-i", "lo", "--immediate-mode", "-U", "-n", "-Z", "root", "-s", "0", "-w", c.file, fmt.Sprintf("tcp port %d", port))
	stderr, _ := c.cmd.StderrPipe()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				close(ready)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	t.Cleanup(func() { // a test that failed before stop
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start listening")
	}
	return c
}

// stop ends the capture and returns what it recorded.
func (c *capture) stop(t *testing.T) []byte {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // let -U flush the last packets
	c.cmd.Process.Signal(syscall.SIGINT)
	c.cmd.Wait()
	b, err := os.ReadFile(c.file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNoClearPasswordUpstream checks on the wire that with tls explicit
// or implicit the upstream password (and the commands) never cross the
// network in clear: a loopback capture of the control port holds neither
// the password nor USER; and vsftpd's own protocol log shows AUTH TLS
// before USER on every explicit session. The same capture in plain mode
// does hold the password, so the check is not blind.
func TestNoClearPasswordUpstream(t *testing.T) {
	for _, mode := range []string{"explicit", "implicit", ""} {
		t.Run("tls="+mode, func(t *testing.T) {
			srv := ftptest.Start(t, ftptest.Options{TLS: mode})
			cp := startCapture(t, srv.Port)
			o, _ := openWith(t, srv, nil)
			fsys := mustOpen(t, o, "/wire")
			if err := put(t, fsys, "f", []byte("data")); err != nil {
				t.Fatal(err)
			}
			fsys.Close()
			if mode == "explicit" {
				checkAuthFirst(t, srv.Log())
			}
			if cp == nil {
				return
			}
			wire := cp.stop(t)
			clear := bytes.Contains(wire, []byte(ftptest.Password)) || bytes.Contains(wire, []byte("USER "+ftptest.User))
			// What each capture must hold, so that it is not blind: the
			// clear password, the clear AUTH TLS, a TLS handshake record.
			seen := map[string][]byte{"": []byte("PASS " + ftptest.Password), "explicit": []byte("AUTH TLS\r\n"), "implicit": {0x16, 0x03}}[mode]
			switch {
			case !bytes.Contains(wire, seen):
				t.Errorf("the capture (%d bytes) lacks %q: the check is blind", len(wire), seen)
			case mode != "" && clear:
				t.Errorf("tls %s: the password or USER crossed loopback in clear", mode)
			}
		})
	}
}

var logCommand = regexp.MustCompile(`\[pid (\d+)\].*FTP command: Client "[^"]*", "([A-Z]+)`)

// checkAuthFirst reads vsftpd's protocol log: on every session that sent
// USER or PASS, AUTH came first.
func checkAuthFirst(t *testing.T, log string) {
	t.Helper()
	authed := map[string]bool{}
	logins := 0
	for _, m := range logCommand.FindAllStringSubmatch(log, -1) {
		pid, verb := m[1], m[2]
		switch verb {
		case "AUTH":
			authed[pid] = true
		case "USER", "PASS":
			logins++
			if !authed[pid] {
				t.Errorf("session %s sent %s before AUTH TLS", pid, verb)
			}
		}
	}
	if logins == 0 {
		t.Errorf("no login in vsftpd's log: the check is blind")
	}
}
