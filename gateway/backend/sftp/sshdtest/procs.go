package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// ensureUser creates the test user once per process (and tolerates
// another process having created it) and sets its password hash. It
// returns the user's uid and gid.
var ensureUser = sync.OnceValues(func() (ids [2]int, err error) {
	if _, err := user.Lookup(User); err != nil {
		err := retryLocked("useradd", "-M", "-d", "/", "-s", "/usr/sbin/nologin", User)
		if err != nil && !isExit(err, 9) { // 9: the user exists already
			return ids, err
		}
	}
	u, err := user.Lookup(User)
	if err != nil {
		return ids, err
	}
	ids[0], _ = strconv.Atoi(u.Uid)
	ids[1], _ = strconv.Atoi(u.Gid)
	hash, err := passwordHash()
	if err != nil {
		return ids, err
	}
	if shadowHash(User) != hash {
		if err := retryLocked("usermod", "-p", hash, User); err != nil {
			return ids, err
		}
	}
	return ids, nil
})

// retryLocked runs a shadow-utils command, retrying while another process
// holds the password file lock.
func retryLocked(name string, args ...string) error {
	var err error
	for range 20 {
		var out []byte
		out, err = exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
		if !strings.Contains(string(out), "lock") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// isExit reports whether err is an exit with the given status.
func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

// shadowHash returns name's password field in /etc/shadow, or "".
func shadowHash(name string) string {
	b, err := os.ReadFile("/etc/shadow")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 1 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

// generateEd25519 returns a new public key and its private key in
// OpenSSH PEM form.
func generateEd25519() (ssh.PublicKey, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, err
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return spub, pem.EncodeToMemory(block), nil
}

// listener returns the running listener process, or nil.
func (s *Server) listener() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// descendants returns the PIDs of every process below pid, read from
// /proc/*/stat.
func descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		children[ppid] = append(children[ppid], child)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// sessions returns the PIDs of the per-connection sshd processes.
func (s *Server) sessions() []int {
	p := s.listener()
	if p == nil {
		return nil
	}
	return descendants(p.cmd.Process.Pid)
}

// Connections returns how many client connections the server holds: the
// per-connection processes forked directly by the listener.
func (s *Server) Connections() int {
	p := s.listener()
	if p == nil {
		return 0
	}
	all := descendants(p.cmd.Process.Pid)
	direct := 0
	for _, pid := range all {
		if ppidOf(pid) == p.cmd.Process.Pid {
			direct++
		}
	}
	return direct
}

// ppidOf returns pid's parent, or 0.
func ppidOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// KillSessions sends SIGKILL to every per-connection sshd process, which
// drops every client connection at once; the listener keeps accepting.
// It returns how many processes it killed.
func (s *Server) KillSessions() int {
	return len(s.signalSessions(syscall.SIGKILL))
}

// Stall freezes the server: SIGSTOP to the listener and to the
// per-connection processes. Open connections stay open but nothing
// answers, and new connections are queued by the kernel but never
// greeted, until Resume.
func (s *Server) Stall() {
	pids := s.signalSessions(syscall.SIGSTOP)
	if p := s.listener(); p != nil {
		syscall.Kill(p.cmd.Process.Pid, syscall.SIGSTOP)
		pids = append(pids, p.cmd.Process.Pid)
		pids = append(pids, s.signalSessions(syscall.SIGSTOP)...) // forked meanwhile
	}
	s.mu.Lock()
	s.stalled = append(s.stalled, pids...)
	s.mu.Unlock()
}

// signalSessions signals the per-connection processes, scanning again
// until no new one appears: a session that has just logged in may still
// be forking its unprivileged child.
func (s *Server) signalSessions(sig syscall.Signal) []int {
	seen := map[int]bool{}
	var all []int
	for range 20 {
		fresh := 0
		for _, pid := range s.sessions() {
			if !seen[pid] {
				seen[pid] = true
				all = append(all, pid)
				syscall.Kill(pid, sig)
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	return all
}

// Resume sends SIGCONT to the processes Stall stopped. It may be called
// more than once.
func (s *Server) Resume() {
	s.mu.Lock()
	pids := s.stalled
	s.stalled = nil
	s.mu.Unlock()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGCONT)
	}
}

// Stop takes the whole server down: every connection is killed and the
// listener stops, so new connections are refused until Restart.
func (s *Server) Stop() {
	s.Resume()
	s.KillSessions()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		stopProcess(p)
	}
}

// Restart starts the server again on the same port (after stopping it if
// it runs), retrying for a few seconds while the port is busy.
func (s *Server) Restart() error {
	s.Stop()
	deadline := time.Now().Add(readyWait)
	for {
		err := s.startOn(s.Port, false)
		if err == nil || !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopProcess ends a listener with SIGTERM, then SIGKILL, and waits.
func stopProcess(p *process) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}
