// Package peer runs the real servers that backend tests talk to (sshd,
// vsftpd, pure-ftpd): a listener process that forks one process per
// connection, which a test can stall, cut or stop, plus the shadow-utils
// calls that make their Unix test users. It reads /proc and is for
// Linux test machines only.
package peer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a started server process.
type Process struct {
	Cmd    *exec.Cmd
	Exited chan struct{} // closed when Wait returns
}

// Start starts cmd and waits for it in the background.
func Start(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, Exited: make(chan struct{})}
	go func() {
		defer close(p.Exited)
		cmd.Wait()
	}()
	return p, nil
}

// Pid is the process's ID.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Stop ends the process and anything below it: SIGKILL to its
// descendants, SIGTERM to it, SIGKILL after 5 s, and waits.
func (p *Process) Stop() {
	for _, d := range Descendants(p.Pid()) {
		syscall.Kill(d, syscall.SIGKILL)
	}
	syscall.Kill(p.Pid(), syscall.SIGTERM)
	select {
	case <-p.Exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(p.Pid(), syscall.SIGKILL)
		<-p.Exited
	}
}

// Forking is a server whose listener forks a process per connection. The
// zero value holds no listener. It is safe for concurrent use.
type Forking struct {
	mu      sync.Mutex
	proc    *Process // nil while stopped
	stalled []int    // PIDs stopped by Stall
}

// Set records the running listener.
func (f *Forking) Set(p *Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proc = p
}

// Listener returns the running listener, or nil.
func (f *Forking) Listener() *Process {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proc
}

// Sessions returns the PIDs of every process below the listener.
func (f *Forking) Sessions() []int {
	p := f.Listener()
	if p == nil {
		return nil
	}
	return Descendants(p.Pid())
}

// Connections returns how many client connections the server holds: the
// per-connection processes forked directly by the listener.
func (f *Forking) Connections() int {
	p := f.Listener()
	if p == nil {
		return 0
	}
	n := 0
	for _, parent := range Parents() {
		if parent == p.Pid() {
			n++
		}
	}
	return n
}

// KillSessions sends SIGKILL to every per-connection process, which drops
// every client connection at once; the listener keeps accepting. It
// returns how many processes it killed.
//
// The processes are stopped first, until a scan finds no new one, and only
// then killed: a session process killed while it forks leaves its new
// child to init, outside the tree and holding the client's socket.
func (f *Forking) KillSessions() int {
	stopped := f.signalSessions(syscall.SIGSTOP)
	for i := len(stopped) - 1; i >= 0; i-- {
		syscall.Kill(stopped[i], syscall.SIGKILL)
	}
	return len(stopped) + len(f.signalSessions(syscall.SIGKILL))
}

// signalSessions signals the per-connection processes, scanning again
// until no new one appears: a session may still be forking its child.
// Each scan signals the deepest processes first: a parent killed before
// its child would leave the child to be adopted by init, out of the tree
// (and holding the client's socket open).
func (f *Forking) signalSessions(sig syscall.Signal) []int {
	seen := map[int]bool{}
	var all []int
	for range 20 {
		fresh := 0
		pids := f.Sessions()
		for i := len(pids) - 1; i >= 0; i-- {
			pid := pids[i]
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
func (f *Forking) Stall() {
	pids := f.signalSessions(syscall.SIGSTOP)
	if p := f.Listener(); p != nil {
		syscall.Kill(p.Pid(), syscall.SIGSTOP)
		pids = append(pids, p.Pid())
		pids = append(pids, f.signalSessions(syscall.SIGSTOP)...) // forked meanwhile
	}
	f.mu.Lock()
	f.stalled = append(f.stalled, pids...)
	f.mu.Unlock()
}

// Resume sends SIGCONT to the processes Stall stopped. It may be called
// more than once.
func (f *Forking) Resume() {
	f.mu.Lock()
	pids := f.stalled
	f.stalled = nil
	f.mu.Unlock()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGCONT)
	}
}

// Stop takes the whole server down: every connection is killed and the
// listener stops, so new connections are refused until the caller starts
// a new one.
func (f *Forking) Stop() {
	f.Resume()
	f.KillSessions()
	f.mu.Lock()
	p := f.proc
	f.proc = nil
	f.mu.Unlock()
	if p != nil {
		p.Stop()
	}
}

// Parents maps every process to its parent, read from /proc/*/stat.
func Parents() map[int]int {
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
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		out[pid] = ppid
	}
	return out
}

// Descendants returns the PIDs of every process below pid, parents before
// their children.
func Descendants(pid int) []int {
	children := map[int][]int{}
	for child, parent := range Parents() {
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

// RetryLocked runs a shadow-utils command (useradd, usermod, chpasswd),
// feeding it stdin when not nil, and retries while another process holds
// the password file lock (parallel test binaries make their users at the
// same time).
func RetryLocked(stdin io.ReadSeeker, name string, args ...string) error {
	var err error
	for range 20 {
		cmd := exec.Command(name, args...)
		if stdin != nil {
			stdin.Seek(0, io.SeekStart)
			cmd.Stdin = stdin
		}
		var out []byte
		if out, err = cmd.CombinedOutput(); err == nil {
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

// IsExit reports whether err is an exit with the given status.
func IsExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

// ShadowHash returns name's password field in /etc/shadow, or "".
func ShadowHash(name string) string {
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
