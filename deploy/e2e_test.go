package deploy

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// gatewayBinary builds cmd/ftpsgw once per test run.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "ftpsgw-deploy-test"); buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(buildDir, "ftpsgw")
		out, err := exec.Command(goTool, "build", "-o", buildBin, "../cmd/ftpsgw").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// syncBuffer is the shared concurrent-safe buffer.
type syncBuffer = testkit.Buffer

// start runs a process until the test ends, then stops it by its PID:
// SIGTERM, SIGKILL after 10 s.
func start(t *testing.T, name string, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		t.Logf("%s output:\n%s", filepath.Base(name), out)
	})
	return out
}

// freeRange finds n consecutive ports free on host.
func freeRange(t *testing.T, host string, n int) portRange {
	t.Helper()
	// Below the ephemeral ports (32768+), in deploy's own band 20000-24999.
	for base := 20000 + int(time.Now().UnixNano()%400)*10; base < 25000; base += 37 {
		ok := true
		for p := base; p < base+n && ok; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", host, p))
			if err != nil {
				ok = false
				continue
			}
			ln.Close()
		}
		if ok {
			return portRange{base, base + n - 1}
		}
	}
	t.Fatal("no free port range")
	return portRange{}
}

// gatewayEnv is a gateway behind HAProxy, both on loopback.
type gatewayEnv struct {
	dir, data      string
	gwAddr         string // the gateway's control listener
	proxyAddr      string // HAProxy's frontend
	gwLog          *syncBuffer
	user, password string
}

// startBehindHAProxy starts the real binary with a config shaped like
// examples/haproxy.hcl (PROXY headers trusted from 127.0.0.1 only) and
// HAProxy with deploy/haproxy/haproxy.cfg's defaults and backend options
// in front of it, HAProxy's frontend on proxyHost.
func startBehindHAProxy(t *testing.T, proxyHost string) *gatewayEnv {
	t.Helper()
	haproxy := testkit.RequireTool(t, "haproxy")
	testkit.RequireTool(t, "curl")
	bin := gatewayBinary(t)

	e := &gatewayEnv{dir: t.TempDir(), user: "alice", password: "s3cret-pw"}
	e.data = filepath.Join(e.dir, "data")
	if err := os.MkdirAll(filepath.Join(e.data, "alice"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.data, "alice", "hello.txt"), []byte("hello\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(e.password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	gwPort, metricsPort := testkit.FreePort(t, "127.0.0.1"), testkit.FreePort(t, "127.0.0.1")
	pasv := freeRange(t, "127.0.0.1", 10)
	e.gwAddr = fmt.Sprintf("127.0.0.1:%d", gwPort)
	cfg := fmt.Sprintf(`server {
  listen        = [%q]
  drain_timeout = "5s"
  idle_timeout  = "5m"
  proxy_protocol {
    trusted_cidrs = ["127.0.0.1/32"]
  }
}
tls {
  source    = "self_signed"
  state_dir = %q
}
passive {
  port_range     = "%s"
  public_address = "127.0.0.1"
}
metrics {
  listen = "127.0.0.1:%d"
}
log {
  level  = "info"
  format = "json"
}
backend "local" "files" {
  root = %q
}
user %q {
  password_hash = %q
  backend       = "files"
  home          = "/alice"
  permissions   = ["list", "download", "upload"]
}
`, e.gwAddr, filepath.Join(e.dir, "state"), pasv, metricsPort, e.data, e.user, hash)
	cfgPath := filepath.Join(e.dir, "ftpsgw.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.gwLog = start(t, bin, "serve", "-config", cfgPath)
	testkit.WaitFor(t, 30*time.Second, "the gateway", func() bool { return strings.Contains(e.gwLog.String(), "try: curl") })

	e.proxyAddr = fmt.Sprintf("%s:%d", proxyHost, testkit.FreePort(t, proxyHost))
	hcfg := filepath.Join(e.dir, "haproxy.cfg")
	if err := os.WriteFile(hcfg, []byte(testHAProxyConfig(t, e.proxyAddr, e.gwAddr, metricsPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, haproxy, "-f", hcfg, "-db")
	testkit.WaitFor(t, 30*time.Second, "HAProxy", func() bool {
		c, err := net.DialTimeout("tcp", e.proxyAddr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 4)
		_, err = io.ReadFull(c, b)
		return err == nil && string(b) == "220 "
	})
	return e
}

// testHAProxyConfig is deploy/haproxy/haproxy.cfg with a minimal global
// section, the frontend bound to proxyAddr and the servers replaced by one
// gateway: the timeouts, PROXY v2 and the /readyz health check are the
// example's own.
func testHAProxyConfig(t *testing.T, proxyAddr, gwAddr string, metricsPort int) string {
	t.Helper()
	var out strings.Builder
	out.WriteString("global\n    log stdout format raw local0 info\n\n")
	section := ""
	for _, l := range strings.Split(readFile(t, "haproxy/haproxy.cfg"), "\n") {
		trim := strings.TrimSpace(l)
		if l != "" && l[0] != ' ' && l[0] != '\t' && l[0] != '#' {
			section = strings.Fields(l)[0]
		}
		switch {
		case section == "global" || section == "":
			continue
		case strings.HasPrefix(trim, "bind "):
			l = "    bind " + proxyAddr
		case strings.HasPrefix(trim, "server "):
			if !strings.HasPrefix(trim, "server gw1 ") {
				continue
			}
			l = "    server gw1 " + gwAddr
		case strings.HasPrefix(trim, "default-server "):
			l = strings.Replace(l, "port 9121", fmt.Sprintf("port %d", metricsPort), 1)
			if !strings.Contains(l, fmt.Sprintf("port %d", metricsPort)) {
				t.Fatalf("haproxy.cfg: default-server without port 9121: %q", trim)
			}
		}
		out.WriteString(l + "\n")
	}
	return out.String()
}

func (e *gatewayEnv) curl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	base := []string{"-sS", "--ssl-reqd", "-k", "--max-time", "30", "-u", e.user + ":" + e.password, "--interface", "127.0.0.2"}
	out, err := exec.Command("curl", append(base, args...)...).CombinedOutput()
	return string(out), err
}

// TestHAProxyEndToEnd: a client at 127.0.0.2 reaches the gateway through
// HAProxy (PROXY v2); its passive data connections go straight to the
// gateway, which accepts them only because the PROXY header told it the
// client is 127.0.0.2 (HAProxy itself connects from 127.0.0.1).
func TestHAProxyEndToEnd(t *testing.T) {
	e := startBehindHAProxy(t, "127.0.0.1")
	url := "ftp://" + e.proxyAddr + "/"

	out, err := e.curl(t, url)
	if err != nil || !strings.Contains(out, "hello.txt") {
		t.Fatalf("list through HAProxy: %v\n%s", err, out)
	}
	up := filepath.Join(e.dir, "up.txt")
	if err := os.WriteFile(up, []byte("uploaded through haproxy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := e.curl(t, "-T", up, url+"up.txt"); err != nil {
		t.Fatalf("upload through HAProxy: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(e.data, "alice", "up.txt")); err != nil || string(b) != "uploaded through haproxy\n" {
		t.Fatalf("uploaded file: %q, %v", b, err)
	}
	if out, err := e.curl(t, "--disable-epsv", url); err != nil || !strings.Contains(out, "up.txt") {
		t.Fatalf("list with PASV through HAProxy: %v\n%s", err, out)
	}
	// The gateway saw the client, not HAProxy.
	if log := e.gwLog.String(); !strings.Contains(log, `"remote_addr":"127.0.0.2"`) {
		t.Errorf("gateway log has no session from 127.0.0.2")
	}
	if strings.Contains(e.gwLog.String(), "foreign address dropped") {
		t.Errorf("a data connection was dropped")
	}
}

// TestHAProxyUntrustedDirect: with proxy_protocol configured, a client that
// bypasses HAProxy is closed before it gets a banner, and so is a trusted
// address that sends no valid PROXY header.
func TestHAProxyUntrustedDirect(t *testing.T) {
	e := startBehindHAProxy(t, "127.0.0.1")
	for _, tc := range []struct {
		name, from, send string
	}{
		{"untrusted source", "127.0.0.2", ""},
		{"trusted source without header", "127.0.0.1", "USER alice\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tc.from)}, Timeout: 5 * time.Second}
			c, err := d.Dial("tcp", e.gwAddr)
			if err != nil {
				return // refused outright is fine too
			}
			defer c.Close()
			if tc.send != "" {
				c.Write([]byte(tc.send))
			}
			c.SetDeadline(time.Now().Add(8 * time.Second))
			b, err := io.ReadAll(c)
			if len(b) > 0 || (err != nil && !isReset(err)) {
				t.Errorf("direct connection from %s: read %q, %v; want closed without a byte", tc.from, b, err)
			}
		})
	}
	if out, err := exec.Command("curl", "-sS", "--ssl-reqd", "-k", "--max-time", "10", "-u", e.user+":"+e.password,
		"--interface", "127.0.0.2", "ftp://"+e.gwAddr+"/").CombinedOutput(); err == nil {
		t.Errorf("curl straight to the gateway from an untrusted address succeeded:\n%s", out)
	}
	if !strings.Contains(e.gwLog.String(), "untrusted_proxy") {
		t.Error("gateway did not log the untrusted connection")
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || err == io.EOF)
}

// TestHAProxySeparateHost is the topology of examples/haproxy.hcl: HAProxy
// on another address than the gateway, PASV announcing the gateway's own
// public_address, the data connection going straight to it (curl told to
// use PASV's address).
// The gateway must bind its passive listener to its own address, not to
// the PROXY header's destination (HAProxy's address, 127.0.0.3 here).
func TestHAProxySeparateHost(t *testing.T) {
	e := startBehindHAProxy(t, "127.0.0.3")
	out, err := e.curl(t, "--disable-epsv", "--no-ftp-skip-pasv-ip", "ftp://"+e.proxyAddr+"/")
	if err != nil || !strings.Contains(out, "hello.txt") {
		t.Fatalf("list through HAProxy on another address: %v\n%s", err, out)
	}
}
