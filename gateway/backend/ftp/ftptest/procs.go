package ftptest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// listener returns the running listener process, or nil.
func (s *Server) listener() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// parents maps every process to its parent, read from /proc/*/stat.
func parents() map[int]int {
	out := map[int]int{}
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
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		out[pid] = ppid
	}
	return out
}

// descendants returns the PIDs of every process below pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	for child, parent := range parents() {
		children[parent] = append(children[parent], child)
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

// sessions returns the PIDs of the per-connection processes.
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
	pid := p.cmd.Process.Pid
	n := 0
	for _, parent := range parents() {
		if parent == pid {
			n++
		}
	}
	return n
}

// KillSessions sends SIGKILL to every per-connection process, which drops
// every client connection at once; the listener keeps accepting. It
// returns how many processes it killed.
func (s *Server) KillSessions() int {
	return len(s.signalSessions(syscall.SIGKILL))
}

// signalSessions signals the per-connection processes, scanning again
// until no new one appears: a session may still be forking its child.
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
		err := s.startOn(s.Port)
		if err == nil || !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("restart %s: %w", s.Opts.Server, err)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopProcess ends a listener and anything left in its process group
// with SIGTERM, then SIGKILL, and waits.
func stopProcess(p *process) {
	pid := p.cmd.Process.Pid
	for _, d := range descendants(pid) {
		syscall.Kill(d, syscall.SIGKILL)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-p.exited
	}
}
