package main

// Helpers for the real-client interop suite (interop_test.go): a private
// CA the clients verify against, a 50-file tree, gateway configs with one
// user per client and TLS version, a bounded command runner, the gateway's
// JSON log, and a raw crypto/tls FTP client for the ticket-binding cases.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ixPassword is every interop user's password; ixHash its bcrypt hash,
// computed once.
const ixPassword = "interop-pw"

var ixHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(ixPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// ixPKI is a throwaway CA and a server certificate for 127.0.0.1 and
// localhost, written as PEM files the clients and the gateway read.
type ixPKI struct {
	CA, Cert, Key string // paths
	Pool          *x509.CertPool
}

func ixNewPKI(t *testing.T) *ixPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ftpsgw interop test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	p := &ixPKI{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"),
		Pool: x509.NewCertPool()}
	p.Pool.AddCert(caCert)
	write := func(path, typ string, der []byte, mode os.FileMode) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(p.CA, "CERTIFICATE", caDER, 0o644)
	write(p.Cert, "CERTIFICATE", leafDER, 0o644)
	write(p.Key, "EC PRIVATE KEY", keyDER, 0o600)
	return p
}

// ixGatewayConfig is a startBinary template: the PKI's certificate, a
// passive range of 64 ports in cmd's band (26000-27999), room for many
// parallel sessions from one address, and one user per name, each with
// its own home "/<name>". tlsExtra goes inside the tls block.
func ixGatewayConfig(p *ixPKI, dataTimeout, tlsExtra string, users ...string) string {
	lo := ixPassiveBlock()
	var b strings.Builder
	fmt.Fprintf(&b, `server {
  listen              = ["127.0.0.1:%%[1]s"]
  drain_timeout       = "2s"
  data_timeout        = %q
  max_sessions        = 400
  max_sessions_per_ip = 200
}
tls {
  source    = "file"
  cert_file = %q
  key_file  = %q
%s
}
passive {
  port_range = "%d-%d"
}
metrics {
  listen = "127.0.0.1:%%[2]s"
}
backend "local" "files" {
  root = "%%[3]s/data"
}
`, dataTimeout, p.Cert, p.Key, tlsExtra, lo, lo+63)
	for _, u := range users {
		fmt.Fprintf(&b, "user %q {\n  password_hash = %q\n  home          = %q\n  permissions   = [\"*\"]\n}\n", u, ixHash(), "/"+u)
	}
	return b.String()
}

// ixPassiveBlock returns the first port of a 64-port block in cmd's band,
// a different block for each gateway of this process (the interop tests
// run in parallel), starting at a random one.
func ixPassiveBlock() int {
	ixBlocks.Lock()
	defer ixBlocks.Unlock()
	if ixBlocks.next == 0 {
		ixBlocks.next = 1 + mrand.IntN(ixBlockCount)
	}
	ixBlocks.next++
	return 26000 + (ixBlocks.next%ixBlockCount)*64
}

const ixBlockCount = 1900 / 64

var ixBlocks struct {
	sync.Mutex
	next int
}

// ixStart starts the real binary with ixGatewayConfig and creates each
// user's home directory.
func ixStart(t *testing.T, p *ixPKI, dataTimeout, tlsExtra string, users ...string) *gatewayProc {
	t.Helper()
	g := startBinary(t, ixGatewayConfig(p, dataTimeout, tlsExtra, users...))
	for _, u := range users {
		if err := os.MkdirAll(filepath.Join(g.root, u), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (g *gatewayProc) port() string {
	_, port, _ := net.SplitHostPort(g.ctl)
	return port
}

// ixTree is the payload every client moves: one 1 MiB file and a tree of
// 50 files (one empty) in 10 directories three levels deep.
type ixTree struct {
	Dir    string            // holds single.bin and tree/
	Single string            // sha256 of single.bin
	Sums   map[string]string // tree: relative path -> sha256
}

func ixMakeTree(t *testing.T) *ixTree {
	t.Helper()
	dir := t.TempDir()
	x := &ixTree{Dir: dir, Sums: map[string]string{}}
	single := make([]byte, 1<<20+17)
	rand.Read(single)
	if err := os.WriteFile(filepath.Join(dir, "single.bin"), single, 0o644); err != nil {
		t.Fatal(err)
	}
	x.Single = ixSum(single)
	for i := range 50 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%5), fmt.Sprintf("s%d", i%2), fmt.Sprintf("f%02d.dat", i))
		b := make([]byte, (i*i*397)%70001) // 0 .. ~70 KB, f00 empty
		rand.Read(b)
		p := filepath.Join(dir, "tree", rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		x.Sums[rel] = ixSum(b)
	}
	return x
}

// Files returns the tree's relative paths, sorted.
func (x *ixTree) Files() []string {
	var out []string
	for rel := range x.Sums {
		out = append(out, rel)
	}
	sort.Strings(out)
	return out
}

func ixSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func ixFileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return ""
	}
	return ixSum(b)
}

// ixCompareTree reports every file of want that is missing or differs
// under root, and every extra file there.
func ixCompareTree(t *testing.T, what, root string, want map[string]string) {
	t.Helper()
	if _, err := os.Stat(root); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	got := sumTree(t, root)
	bad := 0
	for rel, sum := range want {
		switch g, ok := got[rel]; {
		case !ok:
			bad++
			if bad <= 5 {
				t.Errorf("%s: %s missing", what, rel)
			}
		case g != sum:
			bad++
			if bad <= 5 {
				t.Errorf("%s: %s differs (sha256 %s, want %s)", what, rel, g[:12], sum[:12])
			}
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			bad++
			if bad <= 5 {
				t.Errorf("%s: unexpected file %s", what, rel)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d files wrong", what, bad, len(want))
	}
}

// ixVerify checks the standard outcome of a client's run in work (a copy
// of the payload's layout): single.bin uploaded to the user's home and
// downloaded back as got.bin; tree/ uploaded to <home>/tree and mirrored
// back into back/. Each part can be left out.
func ixVerify(t *testing.T, g *gatewayProc, user string, x *ixTree, work string, upSingle, downSingle, upTree, downTree bool) {
	t.Helper()
	home := filepath.Join(g.root, user)
	if upSingle {
		if got := ixFileSum(t, filepath.Join(home, "single.bin")); got != x.Single {
			t.Errorf("uploaded single.bin on the gateway's disk: sha256 %.12s, want %.12s", got, x.Single)
		}
	}
	if downSingle {
		if got := ixFileSum(t, filepath.Join(work, "got.bin")); got != x.Single {
			t.Errorf("downloaded got.bin: sha256 %.12s, want %.12s", got, x.Single)
		}
	}
	if upTree {
		ixCompareTree(t, "tree on the gateway's disk", filepath.Join(home, "tree"), x.Sums)
	}
	if downTree {
		ixCompareTree(t, "tree downloaded back", filepath.Join(work, "back"), x.Sums)
	}
}

// ixSeed puts the payload into the user's home on the gateway's disk, for
// download-only clients.
func ixSeed(t *testing.T, g *gatewayProc, user string, x *ixTree) {
	t.Helper()
	home := filepath.Join(g.root, user)
	b, err := os.ReadFile(filepath.Join(x.Dir, "single.bin"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, "single.bin"), b, 0o644)
	for rel := range x.Sums {
		b, err := os.ReadFile(filepath.Join(x.Dir, "tree", rel))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(home, "tree", rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ixWork is a fresh working directory with a copy of single.bin and
// tree/ (clients read them; downloads land beside them).
func ixWork(t *testing.T, x *ixTree) string {
	t.Helper()
	w := t.TempDir()
	b, err := os.ReadFile(filepath.Join(x.Dir, "single.bin"))
	if err == nil {
		err = os.WriteFile(filepath.Join(w, "single.bin"), b, 0o644)
	}
	if err == nil {
		err = os.CopyFS(filepath.Join(w, "tree"), os.DirFS(filepath.Join(x.Dir, "tree")))
	}
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// ixRun runs a client with a deadline and returns its combined output
// and exit error; it does not fail the test.
func ixRun(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return string(out), err
}

// ixMust is ixRun that fails the test (not fatally) on an error and
// reports whether the client succeeded.
func ixMust(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) (string, bool) {
	t.Helper()
	out, err := ixRun(t, timeout, dir, env, name, args...)
	if err != nil {
		t.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(ixRedact(args), " "), err, ixTail(out, 4000))
		return out, false
	}
	return out, true
}

func ixRedact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, ixPassword, "***")
	}
	return out
}

func ixTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ixLogLine is one JSON line of the gateway's log.
type ixLogLine map[string]any

func (l ixLogLine) str(k string) string { s, _ := l[k].(string); return s }

// values is every value of the line, "key=value" joined by spaces.
func (l ixLogLine) values() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v ", k, l[k])
	}
	return strings.TrimSpace(b.String())
}

// msg is the line's message (hclog's JSON spells the key "@message").
func (l ixLogLine) msg() string {
	if m := l.str("@message"); m != "" {
		return m
	}
	return l.str("msg")
}

// logLines parses the gateway's JSON log so far.
func (g *gatewayProc) logLines() []ixLogLine {
	var out []ixLogLine
	sc := bufio.NewScanner(strings.NewReader(g.out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l ixLogLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// userLines returns the log lines of user whose message starts with one
// of prefixes.
func (g *gatewayProc) userLines(user string, prefixes ...string) []ixLogLine {
	var out []ixLogLine
	for _, l := range g.logLines() {
		if l.str("user") != user {
			continue
		}
		for _, m := range prefixes {
			if strings.HasPrefix(l.msg(), m) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// ixCheckTLS checks from the gateway's log that user's logins and
// transfers ran on TLS version want ("TLS1.2", "TLS1.3"), that at least
// minTransfers transfers succeeded, and that no data connection of the
// user was refused or failed its handshake.
func ixCheckTLS(t *testing.T, g *gatewayProc, user, want string, minTransfers int) {
	t.Helper()
	ixCheckTransfers(t, g, user, want, minTransfers)
	if bad := g.refusals(user); len(bad) > 0 {
		t.Errorf("gateway log: %d data connections of %s refused, first: %v", len(bad), user, bad[0])
	}
}

// ixCleanNoResume reports whether a refusal line is the clean refusal of
// a data connection that offered no ticket to resume.
func ixCleanNoResume(l ixLogLine) bool {
	return l.str("binding") == "no_resume" || strings.Contains(l.str("error"), "did not resume a session ticket")
}

// ixCheckTransfers is ixCheckTLS without the refusal check.
func ixCheckTransfers(t *testing.T, g *gatewayProc, user, want string, minTransfers int) {
	t.Helper()
	logins := g.userLines(user, "login ok")
	if len(logins) == 0 {
		t.Errorf("gateway log: no login of %s", user)
	}
	for _, l := range logins {
		if v := l.str("tls_version"); v != want {
			t.Errorf("gateway log: %s logged in on %s, want %s", user, v, want)
			break
		}
	}
	ok := 0
	for _, l := range g.userLines(user, "transfer") {
		if l.str("result") != "ok" {
			continue
		}
		ok++
		if v := l.str("tls_version"); v != want {
			t.Errorf("gateway log: %s transfer of %s on %s, want %s", user, l.str("path"), v, want)
			break
		}
	}
	if ok < minTransfers {
		t.Errorf("gateway log: %d successful transfers of %s, want at least %d", ok, user, minTransfers)
	}
}

// refusals returns the log lines of user's data connections that were
// refused, dropped (a passive port goes on accepting after one) or failed
// their handshake.
func (g *gatewayProc) refusals(user string) []ixLogLine {
	return g.userLines(user, "data connection refused", "data connection dropped", "data tls handshake failed")
}

// ixTLSName maps a version to the gateway log's spelling.
func ixTLSName(v uint16) string {
	if v == tls.VersionTLS12 {
		return "TLS1.2"
	}
	return "TLS1.3"
}

// ixParallel runs each case as a subtest, at most n at a time, without
// t.Parallel (whose limit is GOMAXPROCS, 2 here, while these subtests
// mostly wait on real clients). testing.T.Run may be called from several
// goroutines at once.
func ixParallel(t *testing.T, n int, names []string, run func(t *testing.T, name string)) {
	t.Helper()
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(name, func(t *testing.T) { run(t, name) })
		}()
	}
	wg.Wait()
}

// ---- a raw crypto/tls FTP client, for exact control over tickets ----

// ixClientTLS is a client config that verifies the gateway's certificate
// and keeps tickets in cache (nil: none, every handshake is fresh).
func ixClientTLS(p *ixPKI, maxVer uint16, cache tls.ClientSessionCache) *tls.Config {
	return &tls.Config{RootCAs: p.Pool, ServerName: "127.0.0.1", MaxVersion: maxVer, ClientSessionCache: cache}
}

// ixDial connects from src, upgrades with AUTH TLS using conf, sets PBSZ
// and PROT P and logs in.
func ixDial(t *testing.T, g *gatewayProc, src, user string, conf *tls.Config) *ftpc {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", g.ctl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &ftpc{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.want(220, "")
	c.want(234, "AUTH TLS")
	tc := tls.Client(conn, conf)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.want(200, "PBSZ 0")
	c.want(200, "PROT P")
	c.want(331, "USER "+user)
	c.want(230, "PASS "+ixPassword)
	c.want(200, "NOOP") // by now the TLS 1.3 tickets have been read into the cache
	return c
}

// ixDataResult is what one data command saw.
type ixDataResult struct {
	Prelim, Final int    // reply codes: 150, then 226 or 522
	FinalText     string // text of the final reply
	DidResume     bool   // the data handshake resumed (client's view)
	Body          string // what came over the data connection
}

// ixData runs verb (e.g. "NLST") over an EPSV data connection dialled
// from src with conf.
func ixData(t *testing.T, c *ftpc, src string, conf *tls.Config, verb string) ixDataResult {
	t.Helper()
	var r ixDataResult
	code, msg := c.cmd("EPSV")
	if code != 229 {
		t.Fatalf("EPSV: %d %s", code, msg)
	}
	var port int
	if i := strings.Index(msg, "|||"); i < 0 {
		t.Fatalf("EPSV reply %q", msg)
	} else {
		fmt.Sscanf(msg[i+3:], "%d", &port)
	}
	r.Prelim, _ = c.cmd(verb)
	if r.Prelim != 150 && r.Prelim != 125 {
		r.Final = r.Prelim
		return r
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	raw, err := d.Dial("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err == nil {
		raw.SetDeadline(time.Now().Add(15 * time.Second))
		tc := tls.Client(raw, conf)
		if err = tc.Handshake(); err == nil {
			r.DidResume = tc.ConnectionState().DidResume
			b, rerr := io.ReadAll(tc)
			r.Body = string(b)
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				err = rerr
			}
		}
		raw.Close()
	}
	if err != nil {
		t.Logf("data connection (client side): %v", err)
	}
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	r.Final, r.FinalText = c.cmd("")
	return r
}
