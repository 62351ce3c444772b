package sshdtest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
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

	"golang.org/x/crypto/ssh"

	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest/peer"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

const (
	// User is the account the test servers let in.
	User = "ftpsgwsftp"
	// Password is User's password; the servers accept it only when
	// Options.Password is set.
	Password = "ftpsgw-sftp-test-password"
	// RemoteDataDir is DataDir as the SFTP client sees it (inside the
	// chroot): the directory to use as a backend root.
	RemoteDataDir = "/data"

	sshdPath = "/usr/sbin/sshd"
	// baseDir holds the per-test directories; it must not be under /tmp.
	baseDir  = "/srv/ftpsgw-sftp-test"
	portLow  = 25000 // this package's port band
	portHigh = 25999
	// readyWait bounds how long sshd may take to listen or to exit.
	readyWait = 10 * time.Second
)

// Options change how Start sets the server up. The zero value is a
// server that takes key authentication only, on the ordinary disk.
type Options struct {
	// Password also allows password authentication with Password (and
	// writes it to Server.PasswordFile).
	Password bool
	// SmallDisk, when set ("1m", "256k"), mounts a tmpfs of that size on
	// DataDir, so uploads can run out of space.
	SmallDisk string
}

// Server is one running sshd. Its exported fields do not change after
// Start.
type Server struct {
	// Addr is "127.0.0.1:Port".
	Addr string
	// Port is the listening port, kept across Stop and Restart.
	Port int
	// Dir is the per-test directory holding keys, config, log and the
	// chroot.
	Dir string
	// DataDir is the on-disk path of the user's writable directory, which
	// the client sees as RemoteDataDir.
	DataDir string
	// ClientKey is the path of the user's unencrypted ed25519 private key
	// (mode 0600).
	ClientKey string
	// KnownHosts is the path of a known_hosts file pinning the host key
	// for "[127.0.0.1]:Port".
	KnownHosts string
	// PasswordFile holds Password (mode 0600) when Options.Password is set.
	PasswordFile string
	// HostKey is the server's public host key.
	HostKey ssh.PublicKey

	t       testing.TB
	config  string
	logPath string
	tmpfs   bool

	mu    sync.Mutex   // guards Port and Addr while restarting
	procs peer.Forking // the listener and its per-connection processes
}

// Start runs a private sshd for the test and stops it in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		testkit.SkipOrFail(t, "sshd not installed: %v", err)
	}
	if os.Geteuid() != 0 {
		testkit.SkipOrFail(t, "sshdtest needs root (useradd, chroot, mount)")
	}
	ids, err := ensureUser()
	if err != nil {
		t.Fatalf("test user: %v", err)
	}
	s := &Server{t: t}
	if err := s.layout(ids[0], ids[1], opts); err != nil {
		s.removeDirs()
		t.Fatalf("sshd test directory: %v", err)
	}
	t.Cleanup(s.cleanup)
	if err := s.prepareConfig(); err != nil {
		t.Fatalf("sshd config: %v", err)
	}
	if err := s.firstStart(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	line := fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, ssh.MarshalAuthorizedKey(s.HostKey))
	if err := os.WriteFile(s.KnownHosts, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// layout creates the root-owned per-test directory and chroot, the data
// directory owned by the user, and the keys.
func (s *Server) layout(uid, gid int, opts Options) error {
	if err := os.MkdirAll(baseDir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(baseDir, 0o755); err != nil { // chroot parents: not group/world-writable
		return err
	}
	dir, err := os.MkdirTemp(baseDir, "t")
	if err != nil {
		return err
	}
	s.Dir = dir
	chroot := filepath.Join(dir, "root")
	s.DataDir = filepath.Join(chroot, strings.TrimPrefix(RemoteDataDir, "/"))
	for _, d := range []string{dir, chroot, s.DataDir, filepath.Join(dir, "ak")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	if opts.SmallDisk != "" {
		opt := fmt.Sprintf("size=%s,mode=0755,uid=%d,gid=%d", opts.SmallDisk, uid, gid)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opt, "tmpfs", s.DataDir).CombinedOutput(); err != nil {
			return fmt.Errorf("mount tmpfs: %v: %s", err, out)
		}
		s.tmpfs = true
	}
	if err := os.Chown(s.DataDir, uid, gid); err != nil {
		return err
	}
	return s.writeKeys(opts)
}

// writeKeys creates the host key, the client key with its authorized_keys
// entry and the password file.
func (s *Server) writeKeys(opts Options) error {
	host, err := newKey(filepath.Join(s.Dir, "host_key"))
	if err != nil {
		return err
	}
	s.HostKey = host
	s.ClientKey = filepath.Join(s.Dir, "client_key")
	client, err := newKey(s.ClientKey)
	if err != nil {
		return err
	}
	ak := filepath.Join(s.Dir, "ak", User)
	if err := os.WriteFile(ak, ssh.MarshalAuthorizedKey(client), 0o644); err != nil {
		return err
	}
	s.KnownHosts = filepath.Join(s.Dir, "known_hosts")
	if opts.Password {
		s.PasswordFile = filepath.Join(s.Dir, "password")
		return os.WriteFile(s.PasswordFile, []byte(Password+"\n"), 0o600)
	}
	return nil
}

// prepareConfig names the config and log files; the config itself is
// written per start, with the port.
func (s *Server) prepareConfig() error {
	s.config = filepath.Join(s.Dir, "sshd_config")
	s.logPath = filepath.Join(s.Dir, "sshd.log")
	return os.MkdirAll("/run/sshd", 0o755) // sshd refuses to start without it
}

// configText is sshd_config for port.
func (s *Server) configText(port int, password bool) string {
	yes := map[bool]string{true: "yes", false: "no"}
	return strings.Join([]string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(s.Dir, "host_key"),
		"PidFile " + filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "ak", "%u"),
		"PubkeyAuthentication yes",
		"PasswordAuthentication " + yes[password],
		"KbdInteractiveAuthentication no",
		"PermitRootLogin no",
		"UsePAM no",
		"StrictModes no",
		"AllowUsers " + User,
		"MaxStartups 200",
		"LogLevel VERBOSE",
		"Subsystem sftp internal-sftp",
		"Match User " + User,
		"\tChrootDirectory " + filepath.Join(s.Dir, "root"),
		"\tForceCommand internal-sftp",
		"",
	}, "\n")
}

// newKey writes a new ed25519 private key in OpenSSH format to file (mode
// 0600) and its public half to file.pub, and returns the public key.
func newKey(file string) (ssh.PublicKey, error) {
	pub, priv, err := generateEd25519()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, priv, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// randomPort picks a port in the band that is free right now.
func randomPort() (int, error) {
	for range 50 {
		n, err := rand.Int(rand.Reader, big.NewInt(portHigh-portLow+1))
		if err != nil {
			return 0, err
		}
		port := portLow + int(n.Int64())
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port in the band")
}

// firstStart validates the config and starts sshd on a random free port,
// retrying another port if the one picked is taken meanwhile.
func (s *Server) firstStart() error {
	var lastErr error
	for range 10 {
		port, err := randomPort()
		if err != nil {
			return err
		}
		if err := s.startOn(port, true); err != nil {
			lastErr = err
			if errors.Is(err, errPortTaken) {
				continue
			}
			return err
		}
		return nil
	}
	return lastErr
}

var errPortTaken = errors.New("port taken")

// startOn writes the config for port and starts the listener.
func (s *Server) startOn(port int, check bool) error {
	pw := s.PasswordFile != ""
	if err := os.WriteFile(s.config, []byte(s.configText(port, pw)), 0o600); err != nil {
		return err
	}
	if check {
		if out, err := exec.Command(sshdPath, "-t", "-f", s.config).CombinedOutput(); err != nil {
			return fmt.Errorf("sshd -t: %v: %s", err, out)
		}
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	off, _ := logf.Seek(0, 2)
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", s.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := peer.Start(cmd)
	if err != nil {
		return err
	}
	if err := s.waitListening(p, port, off); err != nil {
		return err
	}
	s.mu.Lock()
	s.procs.Set(p)
	s.Port = port
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.mu.Unlock()
	return nil
}

// waitListening waits for sshd to log that it listens on port, or to
// exit; a bind failure is errPortTaken.
func (s *Server) waitListening(p *peer.Process, port int, off int64) error {
	want := fmt.Sprintf("Server listening on 127.0.0.1 port %d", port)
	deadline := time.Now().Add(readyWait)
	for time.Now().Before(deadline) {
		log := s.logSince(off)
		if strings.Contains(log, want) {
			return nil
		}
		select {
		case <-p.Exited:
			log = s.logSince(off)
			if strings.Contains(log, "Address already in use") || strings.Contains(log, "Cannot bind") {
				return fmt.Errorf("%w: %d", errPortTaken, port)
			}
			return fmt.Errorf("sshd exited: %s", strings.TrimSpace(log))
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.Stop()
	return fmt.Errorf("sshd not listening on port %d after %v", port, readyWait)
}

// logSince returns the sshd log from byte off.
func (s *Server) logSince(off int64) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// Log returns everything sshd has logged so far.
func (s *Server) Log() string { return s.logSince(0) }

// cleanup stops everything Start created.
func (s *Server) cleanup() {
	s.Resume()
	s.Stop()
	if s.t.Failed() {
		log := s.Log()
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		s.t.Logf("sshd log (tail):\n%s", log)
	}
	s.removeDirs()
}

// removeDirs unmounts the tmpfs and removes the per-test directory.
func (s *Server) removeDirs() {
	if s.tmpfs {
		for i := 0; i < 50; i++ {
			if err := syscall.Unmount(s.DataDir, 0); err == nil || errors.Is(err, syscall.EINVAL) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := syscall.Unmount(s.DataDir, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
			syscall.Unmount(s.DataDir, syscall.MNT_DETACH)
		}
	}
	if s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			s.t.Logf("remove %s: %v", s.Dir, err)
		}
	}
}

// passwordHash is the SHA-512 crypt hash of Password, computed once.
var passwordHash = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("openssl", "passwd", "-6", "-salt", "ftpsgwsftptest", Password).Output()
	if err != nil {
		return "", fmt.Errorf("openssl passwd: %w", err)
	}
	return string(bytes.TrimSpace(out)), nil
})
