package s3test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

const (
	// AccessKey and SecretKey are the root account's credentials.
	AccessKey = "ftpsgwroot"
	SecretKey = "ftpsgw-root-secret-key"
	// UserAccess and UserSecret are the plain user's credentials.
	UserAccess = "ftpsgwuser"
	UserSecret = "ftpsgw-user-secret-key"
	// Region is the server's region.
	Region = "us-east-1"
	// CacheDir is where .ci/versitygw.sh installs the binary.
	CacheDir = "/var/cache/ftpsgw-ci/bin"

	portLow   = 28000 // this package's port band
	portHigh  = 28999
	readyWait = 15 * time.Second
)

// Options change how Start sets the server up. The zero value is plain
// HTTP on the ordinary disk.
type Options struct {
	// TLS serves HTTPS with a fresh self-signed certificate for
	// 127.0.0.1 (Server.CAFile holds it).
	TLS bool
	// SmallDisk, when set ("2m"), mounts a tmpfs of that size as the
	// served directory, so uploads can run out of space.
	SmallDisk string
}

// Server is one running versitygw. Its exported fields do not change
// after Start.
type Server struct {
	// Endpoint is "http://127.0.0.1:PORT" (https with Options.TLS).
	Endpoint string
	// Port is the listening port, kept across Stop and Restart.
	Port int
	// Root is the served directory: Root/BUCKET/KEY is an object.
	Root string
	// CAFile is the PEM certificate to trust with Options.TLS.
	CAFile string
	// UserSecretFile holds UserSecret (mode 0600).
	UserSecretFile string
	// Client is an S3 client with the root account's credentials.
	Client *s3.Client

	t       testing.TB
	args    []string
	bin     string
	logPath string

	mu   sync.Mutex
	proc *process // guarded by mu; nil while stopped
}

// process is one versitygw process.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when Wait returns
}

// Binary returns the versitygw binary: on PATH, else in CacheDir.
func Binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	p := filepath.Join(CacheDir, "versitygw")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("versitygw is neither on PATH nor in %s (run .ci/versitygw.sh): %w", CacheDir, err)
	}
	return p, nil
}

// Start runs a private versitygw for the test and stops it in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		testkit.SkipOrFail(t, "%v", err)
	}
	s := &Server{t: t, bin: bin}
	dir := t.TempDir()
	if err := s.layout(dir, opts); err != nil {
		t.Fatalf("versitygw test directory: %v", err)
	}
	t.Cleanup(s.cleanup)
	if err := s.firstStart(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	s.Client = newClient(s, AccessKey, SecretKey)
	return s
}

// layout creates the served directory, the IAM store holding the plain
// user, the user's secret file and, with TLS, the certificate.
func (s *Server) layout(dir string, opts Options) error {
	s.Root = filepath.Join(dir, "root")
	iam := filepath.Join(dir, "iam")
	s.logPath = filepath.Join(dir, "versitygw.log")
	s.UserSecretFile = filepath.Join(dir, "user.secret")
	for _, d := range []string{s.Root, iam} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if opts.SmallDisk != "" {
		if os.Geteuid() != 0 {
			return errors.New("a small disk needs root (mount -t tmpfs)")
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+opts.SmallDisk, "tmpfs", s.Root).CombinedOutput(); err != nil {
			return fmt.Errorf("mount tmpfs: %v: %s", err, out)
		}
		s.t.Cleanup(func() { exec.Command("umount", "-l", s.Root).Run() })
	}
	users := fmt.Sprintf(`{"accessAccounts":{%q:{"access":%q,"secret":%q,"role":"user"}}}`, UserAccess, UserAccess, UserSecret)
	if err := os.WriteFile(filepath.Join(iam, "users.json"), []byte(users), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(s.UserSecretFile, []byte(UserSecret+"\n"), 0o600); err != nil {
		return err
	}
	s.args = []string{"--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--iam-dir", iam, "--keep-alive", "--quiet"}
	scheme := "http"
	if opts.TLS {
		cert, key, err := selfSigned(dir)
		if err != nil {
			return err
		}
		s.CAFile = cert
		s.args = append(s.args, "--cert", cert, "--key", key)
		scheme = "https"
	}
	s.Endpoint = scheme + "://127.0.0.1:%d" // the port is filled in by firstStart
	return nil
}

// firstStart picks a free port in the band and starts the server on it.
func (s *Server) firstStart() error {
	scheme := s.Endpoint
	var err error
	for range 10 {
		s.Port = portLow + rand.IntN(portHigh-portLow+1)
		ln, lerr := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.Port))
		if lerr != nil {
			continue
		}
		ln.Close()
		if err = s.Restart(); err == nil {
			s.Endpoint = fmt.Sprintf(scheme, s.Port)
			return nil
		}
	}
	return err
}

// Restart starts the server again after Stop (it is a no-op while it
// runs) and waits until it accepts connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := append([]string{"--port", "127.0.0.1:" + strconv.Itoa(s.Port)}, s.args...)
	args = append(args, "posix", s.Root)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	if err := waitListening(s.Port, p.exited); err != nil {
		cmd.Process.Kill()
		<-p.exited
		log, _ := os.ReadFile(s.logPath)
		return fmt.Errorf("%w\n%s", err, log)
	}
	s.proc = p
	return nil
}

// waitListening waits until port accepts a connection or the process
// exits.
func waitListening(port int, exited <-chan struct{}) error {
	deadline := time.Now().Add(readyWait)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("versitygw exited")
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw not listening on port %d within %v", port, readyWait)
}

// Stop kills the server (SIGKILL: no goodbye to its clients) and waits
// for it to exit. It is a no-op while stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	syscall.Kill(-s.proc.cmd.Process.Pid, syscall.SIGKILL)
	s.proc.cmd.Process.Kill()
	<-s.proc.exited
	s.proc = nil
}

// Kill ends every connection at once, by killing the server and starting
// it again on the same port and directory.
func (s *Server) Kill() {
	s.Stop()
	if err := s.Restart(); err != nil {
		s.t.Errorf("restart versitygw: %v", err)
	}
}

// Stall freezes the server (SIGSTOP): connections stay open, nothing is
// answered. It returns once every thread of the server is stopped, so no
// request sent afterwards is answered.
func (s *Server) Stall() {
	s.signal(syscall.SIGSTOP)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	deadline := time.Now().Add(readyWait)
	for !allStopped(s.proc.cmd.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// allStopped reports whether every thread of pid is in state T.
func allStopped(pid int) bool {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			return false
		}
		// "PID (COMM) STATE ...": COMM may hold spaces, so look after ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' && b[i+2] != 't' {
			return false
		}
	}
	return true
}

// Resume undoes Stall.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.cmd.Process.Signal(sig)
	}
}

// cleanup stops the server and logs its output when the test failed.
func (s *Server) cleanup() {
	s.Resume()
	s.Stop()
	if s.t.Failed() {
		if log, err := os.ReadFile(s.logPath); err == nil && len(log) > 0 {
			s.t.Logf("versitygw log:\n%s", log)
		}
	}
}

// BucketDir is where bucket's objects lie on disk.
func (s *Server) BucketDir(bucket string) string { return filepath.Join(s.Root, bucket) }

// ctx bounds the harness's own requests.
func ctx(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 20*time.Second)
}
