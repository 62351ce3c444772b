package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// doctorPKI is like ixNewPKI with a certificate valid for 90 days, so
// that doctor's expiry check (more than 14 days left) passes.
func doctorPKI(t *testing.T) *ixPKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ftpsgw doctor test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := &ixPKI{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"),
		Pool: x509.NewCertPool()}
	p.Pool.AddCert(caCert)
	for path, b := range map[string]*pem.Block{
		p.CA: {Type: "CERTIFICATE", Bytes: caDER}, p.Cert: {Type: "CERTIFICATE", Bytes: leafDER},
		p.Key: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// runDoctorCmd runs `ftpsgw doctor args...` in-process and returns the
// exit code and the report; with -json among args it decodes the report.
func runDoctorCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run(append([]string{"doctor"}, args...), nil, &out, &errOut)
	t.Logf("doctor exit %d after %s:\n%s%s", code, time.Since(start).Round(time.Millisecond), out.String(), errOut.String())
	return code, out.String()
}

// doctorLines maps each check's name to its mark (✓ ✗ –) in a text
// report.
func doctorLines(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := map[string]string{}
	re := regexp.MustCompile(`^(✓|✗|–) (\S+(?: \S+)*?)\s{2,}`)
	for _, l := range strings.Split(out, "\n") {
		if m := re.FindStringSubmatch(l + "  "); m != nil {
			lines[m[2]] = m[1]
		}
	}
	return lines
}

// writePassword writes pw to a 0600 file.
func writePassword(t *testing.T, pw string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// passiveRange reads the passive port_range of a gateway's config.
func passiveRange(t *testing.T, g *gatewayProc) string {
	t.Helper()
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`port_range = "(\d+-\d+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no port_range in %s", b)
	}
	return string(m[1])
}

// TestDoctorAgainstFtpsgw runs every check against the real binary: all
// pass, but OCSP stapling, which the test certificate does not have.
func TestDoctorAgainstFtpsgw(t *testing.T) {
	p := doctorPKI(t)
	g := ixStart(t, p, "10s", "", "alice")
	pw := writePassword(t, ixPassword)
	code, out := runDoctorCmd(t, "-ca", p.CA, "-expect-range", passiveRange(t, g), "-scan-passive", "5",
		"-password-file", pw, "ftps://alice@127.0.0.1:"+g.port())
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	lines := doctorLines(t, out)
	for _, name := range []string{"connect", "auth tls", "tls versions", "certificate chain", "certificate name",
		"certificate expiry", "plain login refused", "ccc refused", "login", "feat", "clear data refused",
		"data tls binding", "pasv address", "epsv", "passive port range", "mlsd", "passive scan", "round trip",
		"clock skew", "timings"} {
		if lines[name] != "✓" {
			t.Errorf("%s: %q, want ✓", name, lines[name])
		}
	}
	if lines["ocsp stapling"] != "–" {
		t.Errorf("ocsp stapling: %q, want –", lines["ocsp stapling"])
	}
	if !strings.Contains(out, "sha256 matches (HASH)") {
		t.Errorf("round trip did not use HASH")
	}
	entries, _ := os.ReadDir(filepath.Join(g.root, "alice"))
	for _, e := range entries {
		t.Errorf("doctor left %s behind", e.Name())
	}
}

// TestDoctorJSONWithoutPassword: without a password only the checks that
// need no login run, the rest are skipped, and -json says so.
func TestDoctorJSONWithoutPassword(t *testing.T) {
	p := doctorPKI(t)
	g := ixStart(t, p, "10s", "", "alice")
	t.Setenv("FTPS_PASSWORD", "")
	code, out := runDoctorCmd(t, "-ca", p.CA, "-json", "ftps://alice@127.0.0.1:"+g.port())
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	var rep doctorReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	got := map[string]checkStatus{}
	for _, c := range rep.Checks {
		got[c.Name] = c.Status
	}
	if !rep.OK || got["plain login refused"] != statusPass || got["tls versions"] != statusPass ||
		got["ccc refused"] != statusPass || got["login"] != statusSkip || got["round trip"] != statusSkip {
		t.Errorf("report %+v", rep)
	}
}

// TestDoctorUntrustedCertificate: without -ca the test CA is unknown, the
// chain check fails and no password is sent.
func TestDoctorUntrustedCertificate(t *testing.T) {
	p := doctorPKI(t)
	g := ixStart(t, p, "10s", "", "alice")
	code, out := runDoctorCmd(t, "-password-file", writePassword(t, ixPassword), "ftps://alice@127.0.0.1:"+g.port())
	lines := doctorLines(t, out)
	if code != 1 || lines["certificate chain"] != "✗" || lines["login"] != "–" || lines["certificate name"] != "✓" {
		t.Errorf("exit %d, lines %v", code, lines)
	}
}

// TestDoctorPassiveRangeOutside: the firewall (-expect-range) opens ports
// the server's passive range is outside of; and a server announcing a
// passive address where nothing listens.
func TestDoctorPassiveRangeOutside(t *testing.T) {
	p := doctorPKI(t)
	g := ixStart(t, p, "10s", "", "alice")
	code, out := runDoctorCmd(t, "-ca", p.CA, "-expect-range", "1000-1100", "-scan-passive", "3",
		"-password-file", writePassword(t, ixPassword), "ftps://alice@127.0.0.1:"+g.port())
	lines := doctorLines(t, out)
	if code != 1 || lines["passive port range"] != "✗" || lines["passive scan"] != "✗" || lines["pasv address"] != "✓" {
		t.Errorf("exit %d, lines %v", code, lines)
	}
	if !strings.Contains(out, "fix: make the server's passive range match") {
		t.Errorf("no fix for the passive range")
	}
}

// TestDoctorPassiveUnreachable: pure-ftpd announces (-P) an address where
// nothing listens for its passive connections, like a server behind a
// firewall that does not open the passive range.
func TestDoctorPassiveUnreachable(t *testing.T) {
	p := doctorPKI(t)
	s := startWeakPureFTPd(t, p, "-P", "127.0.0.9")
	code, out := runDoctorCmd(t, "-ca", p.CA, "-scan-passive", "2", "-no-reuse-check",
		"-password-file", writePassword(t, pureDoctorPassword), "ftps://"+pureDoctorUser+"@"+s)
	lines := doctorLines(t, out)
	if code != 1 || lines["pasv address"] != "✗" || lines["passive scan"] != "✗" || lines["epsv"] != "✓" || lines["data tls binding"] != "–" {
		t.Errorf("exit %d, lines %v", code, lines)
	}
}

// TestDoctorWeakPureFTPd: pure-ftpd in -Y 1 mode lets a login through in
// clear, and it never ties data connections to their control connection;
// doctor reports exactly those weaknesses, and clear data (which -Y 1
// also allows).
func TestDoctorWeakPureFTPd(t *testing.T) {
	p := doctorPKI(t)
	s := startWeakPureFTPd(t, p)
	code, out := runDoctorCmd(t, "-ca", p.CA, "-password-file", writePassword(t, pureDoctorPassword),
		"ftps://"+pureDoctorUser+"@"+s)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	lines := doctorLines(t, out)
	want := map[string]string{"plain login refused": "✗", "data tls binding": "✗", "clear data refused": "✗"}
	for name, mark := range lines {
		if w := want[name]; w != "" && mark != w || w == "" && mark == "✗" {
			t.Errorf("%s: %s", name, mark)
		}
	}
	for name, mark := range want {
		if lines[name] != mark {
			t.Errorf("%s: %q, want %s", name, lines[name], mark)
		}
	}
}

const (
	pureDoctorUser     = "doctor"
	pureDoctorPassword = "doctor-test-pw"
	// pureDoctorLow-pureDoctorHigh is the band of the pure-ftpd these
	// tests run, in blocks of pureDoctorBlock ports: a control port, then
	// its passive range. It is the top of cmd's band (26000-27999), above
	// the passive ranges the gateway tests pick (26000-27899 and a few).
	pureDoctorLow   = 27904
	pureDoctorHigh  = 27999
	pureDoctorBlock = 32
)

// startWeakPureFTPd runs pure-ftpd on 127.0.0.1 with TLS optional (-Y 1),
// p's certificate and one virtual user, plus extra arguments, and stops
// it (and its per-connection processes) in t.Cleanup. It returns the
// control address. Without pure-ftpd or root the test is skipped, on CI
// it fails.
func startWeakPureFTPd(t *testing.T, p *ixPKI, extra ...string) string {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/pure-ftpd", "/usr/bin/pure-pw", "/usr/bin/openssl"} {
		if _, err := os.Stat(bin); err != nil {
			doctorSkipOrFail(t, "%s not installed: %v", bin, err)
		}
	}
	if os.Geteuid() != 0 {
		doctorSkipOrFail(t, "pure-ftpd with virtual users needs root")
	}
	dir := pureDoctorDir(t, p)
	for try := 0; ; try++ {
		base := pureDoctorLow + mrand.IntN((pureDoctorHigh-pureDoctorLow+1)/pureDoctorBlock)*pureDoctorBlock
		addr := fmt.Sprintf("127.0.0.1:%d", base)
		if ln, err := net.Listen("tcp", addr); err != nil {
			if try > 20 {
				t.Fatalf("no free pure-ftpd port block: %v", err)
			}
			continue
		} else {
			ln.Close()
		}
		args := append([]string{"-S", fmt.Sprintf("127.0.0.1,%d", base),
			"-p", fmt.Sprintf("%d:%d", base+1, base+pureDoctorBlock-1),
			"-l", "puredb:" + filepath.Join(dir, "users.pdb"), "-E", "-A", "-H", "-Y", "1",
			"-2", filepath.Join(dir, "pure.pem"), "-c", "10", "-C", "10"}, extra...)
		cmd := exec.Command("/usr/sbin/pure-ftpd", args...)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start pure-ftpd: %v", err)
		}
		t.Cleanup(func() { stopGroup(cmd) })
		if waitGreeting(addr) {
			return addr
		}
		stopGroup(cmd)
		if try > 5 {
			t.Fatalf("pure-ftpd did not greet on %s:\n%s", addr, out.String())
		}
	}
}

// pureDoctorDir creates pure-ftpd's directory (not under /tmp, whose
// parents the chrooted user cannot walk): the PEM file with key and
// certificate, the user database, and the user's home owned by nobody.
func pureDoctorDir(t *testing.T, p *ixPKI) string {
	t.Helper()
	dir, err := os.MkdirTemp("/srv", "ftpsgw-doctor-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(p.Key)
	cert, _ := os.ReadFile(p.Cert)
	if err := os.WriteFile(filepath.Join(dir, "pure.pem"), append(key, cert...), 0o600); err != nil {
		t.Fatal(err)
	}
	// A SHA-512 crypt hash: pure-pw's own argon2id costs seconds per login.
	hash, err := exec.Command("openssl", "passwd", "-6", "-salt", "ftpsgwdoctor", pureDoctorPassword).Output()
	if err != nil {
		t.Fatalf("openssl passwd: %v", err)
	}
	line := fmt.Sprintf("%s:%s:65534:65534::%s/./%s\n", pureDoctorUser, strings.TrimSpace(string(hash)), home, strings.Repeat(":", 12))
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/bin/pure-pw", "mkdb", filepath.Join(dir, "users.pdb"), "-f", passwd).CombinedOutput(); err != nil {
		t.Fatalf("pure-pw mkdb: %v: %s", err, out)
	}
	return dir
}

// waitGreeting waits up to 10 s for a 220 on addr.
func waitGreeting(addr string) bool {
	for range 100 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 3)
			_, err := c.Read(b)
			c.Close()
			if err == nil && string(b) == "220" {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// stopGroup ends a process started with Setpgid and everything it forked.
func stopGroup(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // per-connection children left behind
}

// doctorSkipOrFail skips, or fails on CI, where the real peers must run.
func doctorSkipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// TestDoctorUsage: mistakes on the command line are exit 2, before any
// connection; a password in the URL is refused (it would show in ps).
func TestDoctorUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"ftp://u@127.0.0.1:21"},
		{"ftps://127.0.0.1:21"},
		{"ftps://u:secret@127.0.0.1:21"},
		{"ftps://u@127.0.0.1:99999"},
		{"-expect-range", "10-5", "ftps://u@127.0.0.1:21"},
		{"-scan-passive", "-1", "ftps://u@127.0.0.1:21"},
		{"-password-file", "/nonexistent", "ftps://u@127.0.0.1:21"},
		{"ftps://u@127.0.0.1:21", "-json"},
		{"-password", "x", "ftps://u@127.0.0.1:21"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"doctor"}, args...), nil, &out, &errOut); code != 2 || out.Len() > 0 {
			t.Errorf("doctor %q: exit %d, stdout %q", args, code, out.String())
		}
		if strings.Contains(errOut.String(), "secret") {
			t.Errorf("doctor %q echoed the password: %s", args, errOut.String())
		}
	}
}
