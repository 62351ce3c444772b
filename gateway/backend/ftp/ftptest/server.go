package ftptest

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
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

	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest/peer"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

const (
	// User is the account the test servers let in.
	User = "ftpsgwftp"
	// Password is User's password.
	Password = "ftpsgw-ftp-test-password"
	// VsftpdCache is where .ci/upstream-ftp.sh extracts the vsftpd binary;
	// $FTPSGW_VSFTPD overrides it.
	VsftpdCache = "/var/cache/ftpsgw/vsftpd/root/usr/sbin/vsftpd"

	pureFTPdPath = "/usr/sbin/pure-ftpd"
	purePwPath   = "/usr/bin/pure-pw"
	// baseDir holds the per-test directories (not /tmp: chroots and the
	// test user must be able to walk its parents).
	baseDir  = "/srv/ftpsgw-ftp-test"
	portLow  = 29000 // this package's port band
	portHigh = 29999
	// block is the ports one server takes: its control port, then its
	// passive range.
	block = 200
	// readyWait bounds how long a server may take to greet or to exit.
	readyWait = 10 * time.Second
)

// Kind is an FTP server implementation.
type Kind int

// The servers Start can run.
const (
	Vsftpd Kind = iota
	PureFTPd
)

func (k Kind) String() string {
	if k == PureFTPd {
		return "pure-ftpd"
	}
	return "vsftpd"
}

// Options say which server Start runs and how. The zero value is a plain
// vsftpd on the ordinary disk.
type Options struct {
	Server Kind
	// TLS is "" (plain), "explicit" or "implicit" (vsftpd only). With TLS
	// the server forces it for logins and data and requires data
	// connections to resume the control connection's session.
	TLS string
	// QuotaMB gives the user a quota of that many MiB (pure-ftpd only):
	// an upload beyond it is refused with 552.
	QuotaMB int
	// SmallDisk, when set ("1m"), mounts a tmpfs of that size on DataDir.
	SmallDisk string
	// IdleTimeout closes sessions idle that long (vsftpd only; whole
	// seconds, at least 1).
	IdleTimeout time.Duration
	// DenyEPSV makes vsftpd refuse EPSV (cmds_denied), so clients must
	// fall back to PASV.
	DenyEPSV bool
	// PasvAddress is the address vsftpd announces in PASV replies instead
	// of its own (it never listens there).
	PasvAddress string
}

// Server is one running FTP server. Its exported fields do not change
// after Start.
type Server struct {
	// Addr is "127.0.0.1:Port".
	Addr string
	// Port is the control port, kept across Stop and Restart.
	Port int
	// Opts are the options the server was started with.
	Opts Options
	// Dir is the per-test directory holding config, certificates, logs
	// and DataDir.
	Dir string
	// DataDir is the on-disk directory the user sees as "/".
	DataDir string
	// PasswordFile holds Password (mode 0600).
	PasswordFile string
	// CAFile is the PEM certificate of the CA that signed the server's
	// certificate (TLS only).
	CAFile string
	// Fingerprint is "SHA256:" and the hex SHA-256 of the server's
	// certificate (TLS only).
	Fingerprint string
	// LogPath is vsftpd's log, with every command and reply
	// (log_ftp_protocol=YES); pure-ftpd logs to syslog only.
	LogPath string

	t          testing.TB
	uid, gid   int
	pasvLo     int
	configPath string
	outPath    string
	tmpfs      bool

	mu    sync.Mutex   // guards Port and Addr while restarting
	procs peer.Forking // the listener and its per-connection processes
}

// VsftpdPath returns the vsftpd binary the tests run.
func VsftpdPath() string {
	if p := os.Getenv("FTPSGW_VSFTPD"); p != "" {
		return p
	}
	return VsftpdCache
}

// binary returns the server program for k.
func binary(k Kind) string {
	if k == PureFTPd {
		return pureFTPdPath
	}
	return VsftpdPath()
}

// Start runs a private FTP server for the test and stops it in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := os.Stat(binary(opts.Server)); err != nil {
		testkit.SkipOrFail(t, "%s not installed (run .ci/upstream-ftp.sh): %v", opts.Server, err)
	}
	if os.Geteuid() != 0 {
		testkit.SkipOrFail(t, "ftptest needs root (useradd, chroot, mount)")
	}
	if opts.TLS == "implicit" && opts.Server != Vsftpd || opts.QuotaMB > 0 && opts.Server != PureFTPd {
		t.Fatalf("ftptest: options %+v not supported by %s", opts, opts.Server)
	}
	ids, err := ensureUser()
	if err != nil {
		t.Fatalf("test user: %v", err)
	}
	s := &Server{t: t, Opts: opts, uid: ids[0], gid: ids[1]}
	if err := s.layout(); err != nil {
		s.removeDirs()
		t.Fatalf("ftp test directory: %v", err)
	}
	t.Cleanup(s.cleanup)
	if err := s.prepare(); err != nil {
		t.Fatalf("%s set-up: %v", opts.Server, err)
	}
	if err := s.firstStart(); err != nil {
		t.Fatalf("start %s: %v", opts.Server, err)
	}
	return s
}

// layout creates the per-test directory, DataDir owned by the user and
// the password file.
func (s *Server) layout() error {
	if err := os.MkdirAll(baseDir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(baseDir, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(baseDir, "t")
	if err != nil {
		return err
	}
	s.Dir = dir
	s.DataDir = filepath.Join(dir, "data")
	for _, d := range []string{dir, s.DataDir, filepath.Join(dir, "empty")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	if s.Opts.SmallDisk != "" {
		opt := fmt.Sprintf("size=%s,mode=0755,uid=%d,gid=%d", s.Opts.SmallDisk, s.uid, s.gid)
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opt, "tmpfs", s.DataDir).CombinedOutput(); err != nil {
			return fmt.Errorf("mount tmpfs: %v: %s", err, out)
		}
		s.tmpfs = true
	}
	if err := os.Chown(s.DataDir, s.uid, s.gid); err != nil {
		return err
	}
	s.PasswordFile = filepath.Join(dir, "password")
	return os.WriteFile(s.PasswordFile, []byte(Password+"\n"), 0o600)
}

// prepare writes the certificates and the user database.
func (s *Server) prepare() error {
	s.configPath = filepath.Join(s.Dir, "server.conf")
	s.outPath = filepath.Join(s.Dir, "server.out")
	s.LogPath = filepath.Join(s.Dir, "vsftpd.log")
	if s.Opts.TLS != "" {
		if err := s.writeCerts(); err != nil {
			return err
		}
	}
	if s.Opts.Server == PureFTPd {
		return s.writePureDB()
	}
	return nil
}

// pickBlock returns a random block start whose control port is free now.
func pickBlock() (int, error) {
	blocks := (portHigh - portLow + 1) / block
	for range 50 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(blocks)))
		if err != nil {
			return 0, err
		}
		port := portLow + int(n.Int64())*block
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port in the band")
}

var errPortTaken = errors.New("port taken")

// firstStart starts the server in a free block, trying another block if
// the one picked is taken meanwhile.
func (s *Server) firstStart() error {
	var lastErr error
	for range 10 {
		port, err := pickBlock()
		if err != nil {
			return err
		}
		s.pasvLo = port + 1
		if err := s.startOn(port); err != nil {
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

// startOn starts the listener on port and waits for its greeting.
func (s *Server) startOn(port int) error {
	cmd, err := s.command(port)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(s.outPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p, err := peer.Start(cmd)
	if err != nil {
		return err
	}
	if err := s.waitGreeting(p, port); err != nil {
		return err
	}
	s.mu.Lock()
	s.procs.Set(p)
	s.Port = port
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.mu.Unlock()
	return nil
}

// waitGreeting polls the port until the server greets with 220, or fails
// when the server exits (a bind failure is errPortTaken).
func (s *Server) waitGreeting(p *peer.Process, port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(readyWait)
	for time.Now().Before(deadline) {
		if s.greets(addr) {
			return nil
		}
		select {
		case <-p.Exited:
			b, _ := os.ReadFile(s.outPath)
			msg := strings.TrimSpace(string(b))
			if strings.Contains(msg, "bind") || strings.Contains(msg, "in use") {
				return fmt.Errorf("%w: %d: %s", errPortTaken, port, msg)
			}
			return fmt.Errorf("%s exited: %s", s.Opts.Server, msg)
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.Stop()
	return fmt.Errorf("%s not greeting on port %d after %v", s.Opts.Server, port, readyWait)
}

// greets reports whether a server at addr answers 220.
func (s *Server) greets(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if s.Opts.TLS == "implicit" {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if tc.Handshake() != nil {
			return false
		}
		c = tc
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "220")
}

// Log returns vsftpd's log so far ("" for pure-ftpd).
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// cleanup stops everything Start created.
func (s *Server) cleanup() {
	s.Resume()
	s.Stop()
	if s.t.Failed() {
		for _, f := range []string{s.LogPath, s.outPath} {
			b, _ := os.ReadFile(f)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			if len(b) > 0 {
				s.t.Logf("%s (tail):\n%s", filepath.Base(f), b)
			}
		}
	}
	s.removeDirs()
}

// removeDirs unmounts the tmpfs and removes the per-test directory.
func (s *Server) removeDirs() {
	if s.tmpfs {
		for range 50 {
			if err := syscall.Unmount(s.DataDir, 0); err == nil || errors.Is(err, syscall.EINVAL) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Unmount(s.DataDir, syscall.MNT_DETACH)
	}
	if s.Dir != "" {
		// Undo what a test's fault hooks may have left (chmod 000).
		filepath.WalkDir(s.Dir, func(p string, d os.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(s.Dir); err != nil {
			s.t.Logf("remove %s: %v", s.Dir, err)
		}
	}
}
