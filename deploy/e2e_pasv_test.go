package deploy

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// TestHAProxyForwardsPassiveRange: HAProxy on its own address forwards the
// control port and the whole passive range to the gateway, both with
// send-proxy-v2. EPSV (curl's default, whose reply names no address) then
// works through HAProxy: each data connection arrives from HAProxy with a
// PROXY header naming the client, which must match the control client.
func TestHAProxyForwardsPassiveRange(t *testing.T) {
	haproxy := testkit.RequireTool(t, "haproxy")
	curl := testkit.RequireTool(t, "curl")
	bin := gatewayBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "alice"), 0o750)
	os.WriteFile(filepath.Join(data, "alice", "hello.txt"), []byte("hello\n"), 0o640)
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw-1"), bcrypt.MinCost)

	const proxyHost = "127.0.0.3"
	gwPort, ctlPort, metricsPort := testkit.FreePort(t, "127.0.0.1"), testkit.FreePort(t, proxyHost), testkit.FreePort(t, "127.0.0.1")
	pasv := freeRange(t, proxyHost, 10)
	cfg := fmt.Sprintf(`server {
  listen = ["127.0.0.1:%d"]
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
  public_address = %q
}
metrics {
  listen = "127.0.0.1:%d"
}
log {
  level = "debug"
}
backend "local" "files" {
  root = %q
}
user "alice" {
  password_hash = %q
  home          = "/alice"
  permissions   = ["list", "download", "upload"]
}
`, gwPort, filepath.Join(dir, "state"), pasv, proxyHost, metricsPort, data, hash)
	cfgPath := filepath.Join(dir, "ftpsgw.hcl")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	gwLog := start(t, bin, "serve", "-config", cfgPath)
	testkit.WaitFor(t, 30*time.Second, "the gateway", func() bool { return strings.Contains(gwLog.String(), "try: curl") })

	hcfg := fmt.Sprintf(`global
    log stdout format raw local0 info
defaults
    mode tcp
    timeout connect 5s
    timeout client 10m
    timeout server 10m
frontend ftp
    bind %[1]s:%[2]d
    default_backend gw
backend gw
    server gw1 127.0.0.1:%[3]d send-proxy-v2
frontend ftp_passive
    bind %[1]s:%[4]d-%[5]d
    default_backend gw_passive
backend gw_passive
    # no port: the data connection goes to the port it came in on
    server gw1 127.0.0.1 send-proxy-v2
`, proxyHost, ctlPort, gwPort, pasv.lo, pasv.hi)
	hpath := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(hpath, []byte(hcfg), 0o600)
	if out, err := exec.Command(haproxy, "-c", "-f", hpath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	start(t, haproxy, "-f", hpath, "-db")
	testkit.WaitFor(t, 30*time.Second, "HAProxy", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("%s:%d", proxyHost, ctlPort), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	url := fmt.Sprintf("ftp://%s:%d/", proxyHost, ctlPort)
	os.WriteFile(filepath.Join(dir, "up.txt"), []byte("through haproxy"), 0o600)
	curlAs := func(args ...string) (string, error) {
		base := []string{"-sS", "--ssl-reqd", "-k", "--max-time", "30", "-u", "alice:pw-1", "--interface", "127.0.0.2"}
		out, err := exec.Command(curl, append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	for _, mode := range [][]string{nil, {"--disable-epsv"}} { // EPSV, then PASV
		if out, err := curlAs(append(mode, url)...); err != nil || !strings.Contains(out, "hello.txt") {
			t.Fatalf("list through HAProxy %v: %v\n%s\ngateway:\n%s", mode, err, out, gwLog.String())
		}
	}
	if out, err := curlAs("-T", filepath.Join(dir, "up.txt"), url+"up.txt"); err != nil {
		t.Fatalf("upload through HAProxy: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(data, "alice", "up.txt")); string(got) != "through haproxy" {
		t.Fatalf("uploaded %q", got)
	}
	if strings.Contains(gwLog.String(), "foreign address dropped") || strings.Contains(gwLog.String(), "data connection dropped") {
		t.Errorf("data connections were dropped:\n%s", gwLog.String())
	}
}
