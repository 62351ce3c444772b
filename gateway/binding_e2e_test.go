package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jlaffaye/ftp"

	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// logTo sends the gateway's log to buf as well as to the test log.
func logTo(t *testing.T, buf *lockedBuffer) func(*Config) {
	return func(c *Config) {
		c.Logger = hclog.New(&hclog.LoggerOptions{Output: io.MultiWriter(testWriter{t}, buf), Level: hclog.Debug})
	}
}

func shortData(c *Config) { c.DataTimeout = time.Second }

// TestCurlParallel: curl -Z keeps one TLS session cache across its
// parallel control connections, so data connections present tickets of
// sibling sessions; with the default user binding they are bound.
//
// curl 7.88 uses each TLS 1.3 ticket once and keeps one per server. A
// download reads its new ticket at once; an upload reads it only at its
// close. So sequential uploads on one connection chain their tickets and
// pass under "required", parallel downloads pass, but parallel uploads
// find the one slot empty while a sibling upload holds its ticket: those
// data connections offer no ticket at all (no_resume, never other_session)
// and are refused; exempting the client's network serves them.
func TestCurlParallel(t *testing.T) {
	curl := requirePeer(t, "curl")
	dir := t.TempDir()
	var names []string
	want := map[string][]byte{}
	for i := range 8 {
		name := fmt.Sprintf("p%d.bin", i)
		b := make([]byte, 300<<10+i)
		rand.Read(b)
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		names, want[name] = append(names, name), b
	}
	base := []string{"--ssl-reqd", "-k", "-sS", "-u", "alice:" + alicePW}
	upload := func(e *env) []string {
		return append(base, "-Z", "--parallel-max", "4", "-T", "{"+strings.Join(names, ",")+"}", e.url(""))
	}
	check := func(e *env, prefix string, names []string) {
		t.Helper()
		for _, n := range names {
			if !bytes.Equal([]byte(e.file("alice/"+prefix+n)), want[n]) {
				t.Errorf("uploaded %s%s differs", prefix, n)
			}
		}
	}

	// The default data_timeout (3s in tests): curl 7.88 sometimes waits a
	// second before it connects to a passive port it used before.
	var logs lockedBuffer
	e := newEnv(t, logTo(t, &logs))
	// Sequential uploads on one control connection: each resumed upload
	// hands curl the ticket for the next one.
	seq := append(base, "--ftp-create-dirs", "-T", "{"+strings.Join(names[:5], ",")+"}", e.url("seq/"))
	if out, err := run(t, dir, curl, seq...); err != nil {
		t.Fatalf("curl sequential uploads: %v\n%s", err, out)
	}
	check(e, "seq/", names[:5])
	for n, b := range want {
		e.writeFile("alice/"+n, string(b))
	}
	down := append(base, "-Z", "--parallel-max", "4")
	for _, n := range names {
		down = append(down, "-o", "back-"+n, e.url(n))
	}
	if out, err := run(t, dir, curl, down...); err != nil {
		t.Fatalf("curl -Z download: %v\n%s", err, out)
	}
	for n, b := range want {
		if got, _ := os.ReadFile(filepath.Join(dir, "back-"+n)); !bytes.Equal(got, b) {
			t.Errorf("downloaded %s differs", n)
		}
	}
	if n := e.obs.get("data:" + string(DataNoReuse)); n != 0 {
		t.Fatalf("%d data connections refused in sequential uploads and parallel downloads", n)
	}
	// Parallel uploads under "required": only no_resume refusals.
	out, err := run(t, dir, curl, upload(e)...)
	refused := e.obs.get("data:" + string(DataNoReuse))
	t.Logf("curl -Z upload under required: %v, %d of 8 data connections refused", err, refused)
	if l := logs.String(); strings.Count(l, "binding=no_resume") != refused ||
		strings.Contains(l, "binding=other_") {
		t.Errorf("parallel uploads refused for another reason than no_resume:\n%s", out)
	}

	ex := newEnv(t, func(c *Config) { c.ReuseExemptFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	if out, err := run(t, dir, curl, upload(ex)...); err != nil {
		t.Fatalf("curl -Z upload, exempt: %v\n%s", err, out)
	}
	check(ex, "", names)
	if n := ex.obs.get("xfer:upload:ok"); n != 8 {
		t.Errorf("exempt: %d uploads ok, want 8", n)
	}
}

// TestCurlTLS12ResumesOnlyBySessionID documents a limitation: curl 7.88
// sends no session_ticket extension on TLS 1.2 and resumes only by session
// id, which Go's TLS server cannot do (crypto/tls keeps no server session
// cache and answers a full handshake with an empty session id, so curl's
// data ClientHello then carries none either). Under "required" its data
// connection is refused and the log says why and what to do; exempting
// the client's network serves it.
func TestCurlTLS12ResumesOnlyBySessionID(t *testing.T) {
	curl := requirePeer(t, "curl")
	var logs lockedBuffer
	e := newEnv(t, logTo(t, &logs), shortData)
	e.writeFile("alice/x.txt", "x")
	args := []string{"--ssl-reqd", "-k", "-sS", "-v", "--tls-max", "1.2", "-u", "alice:" + alicePW, e.url("x.txt")}
	// The gateway drops the refused data connection and goes on accepting
	// until data_timeout before it would answer 522. curl gives up first:
	// after the 150 ("transfer closed with 1 bytes remaining", exit 18),
	// or, when its handshake on the data connection ran before it sent
	// RETR, at the reset (it then falls back to PASV and stops on the
	// reply to SIZE, exit 13). Either way the file does not arrive. In the
	// second way curl may quit before the gateway has judged (or even
	// started) that handshake, so no refusal is counted: every attempt
	// must fail, and within three one must be refused and counted.
	for attempt := 1; ; attempt++ {
		out, err := run(t, t.TempDir(), curl, args...)
		if err == nil || strings.HasSuffix(out, "x") {
			t.Fatalf("curl on TLS 1.2 under required: want a failed transfer, got %v\n%s", err, out)
		}
		refused := func() bool { return e.obs.get("data:"+string(DataNoReuse)) >= 1 }
		deadline := time.Now().Add(3 * time.Second)
		for !refused() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if refused() {
			break
		}
		if attempt == 3 {
			t.Fatalf("no refused data connection counted after %d failed curl runs", attempt)
		}
	}
	if l := logs.String(); !strings.Contains(l, "resumes only by session id") || !strings.Contains(l, "use TLS 1.3 or exempt it") ||
		!strings.Contains(l, "binding=no_resume") {
		t.Errorf("no session id hint in the log:\n%s", l)
	}

	ex := newEnv(t, func(c *Config) { c.ReuseExemptFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	ex.writeFile("alice/x.txt", "x")
	args[len(args)-1] = ex.url("x.txt")
	if out, err := run(t, t.TempDir(), curl, args...); err != nil || !strings.HasSuffix(out, "x") {
		t.Fatalf("curl on TLS 1.2, exempt: %v\n%s", err, out)
	}
	if n := ex.obs.get("unbound:" + string(UnboundNoResume)); n != 1 {
		t.Errorf("exempt unbound data connections counted %d, want 1", n)
	}
}

// TestPythonFtplibExempt: Python's stock ftplib never resumes; it is
// refused under "required" and served from an exempt network, while the
// session-reuse subclass is bound either way.
func TestPythonFtplibExempt(t *testing.T) {
	py := requirePeer(t, "python3")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "client.py"), []byte(ftplibScript), 0o644)
	for _, exempt := range []bool{false, true} {
		e := newEnv(t, shortData, func(c *Config) {
			if exempt {
				c.ReuseExemptFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
			}
		})
		e.writeFile("alice/py.txt", "x")
		host, port, _ := net.SplitHostPort(e.addr)
		for _, ver := range []string{"1.3", "1.2"} {
			out, err := run(t, dir, py, "client.py", host, port, "alice", alicePW, "0", ver)
			if ok := err == nil && strings.Contains(out, "STORED"); ok != exempt {
				t.Errorf("stock ftplib TLS %s, exempt %v: %v\n%s", ver, exempt, err, out)
			}
			out, err = run(t, dir, py, "client.py", host, port, "alice", alicePW, "1", ver)
			if err != nil || !strings.Contains(out, "STORED") {
				t.Errorf("ftplib with session= TLS %s: %v\n%s", ver, err, out)
			}
		}
		if got := e.obs.unbound() > 0; got != exempt {
			t.Errorf("exempt %v: unbound accepted %d", exempt, e.obs.unbound())
		}
	}
}

// TestGoClientsShareCache simulates rclone: two parallel jlaffaye/ftp
// connections of one user share one tls.Config and ClientSessionCache, so
// each one's data connections present whichever ticket is newest.
func TestGoClientsShareCache(t *testing.T) {
	e := newEnv(t)
	conf := &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ftp.Dial(e.addr, ftp.DialWithExplicitTLS(conf), ftp.DialWithTimeout(10*time.Second))
			if err != nil {
				errs <- err
				return
			}
			defer c.Quit()
			if err := c.Login("alice", alicePW); err != nil {
				errs <- err
				return
			}
			for i := range 6 {
				name := fmt.Sprintf("w%d-%d.txt", w, i)
				body := strings.Repeat(name, 1000)
				if err := c.Stor(name, strings.NewReader(body)); err != nil {
					errs <- fmt.Errorf("STOR %s: %w", name, err)
					return
				}
				r, err := c.Retr(name)
				if err != nil {
					errs <- fmt.Errorf("RETR %s: %w", name, err)
					return
				}
				b, _ := io.ReadAll(r)
				r.Close()
				if string(b) != body {
					errs <- fmt.Errorf("RETR %s: %d bytes", name, len(b))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.obs.get("data:" + string(DataNoReuse)); n != 0 {
		t.Errorf("%d data connections refused", n)
	}
}

// TestForeignTicketsRefused: a data connection that presents a ticket of
// another user (same address), of the same user at another address, or
// none at all is dropped, the port goes on accepting until data_timeout,
// and the transfer gets 522; unless the client's network is exempt.
func TestForeignTicketsRefused(t *testing.T) {
	for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(ver), func(t *testing.T) {
			var logs lockedBuffer
			e := newEnv(t, logTo(t, &logs), func(c *Config) { c.DataTimeout = 500 * time.Millisecond })
			e.writeFile("alice/x.txt", "payload")
			minter := func(src, user, pw string) *tls.Config {
				m := e.dialFrom(src)
				m.tlsCfg.MaxVersion = ver
				m.login(user, pw)
				return m.tlsCfg
			}
			for _, tc := range []struct {
				name   string
				cfg    *tls.Config
				reason UnboundReason
			}{
				{"other user", minter("127.0.0.1", "bob", bobPW), UnboundOtherUser},
				{"other address", minter("127.0.0.2", "alice", alicePW), UnboundOtherAddress},
				{"fresh", &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", MaxVersion: ver}, UnboundNoResume},
			} {
				a := e.dial()
				a.tlsCfg.MaxVersion = ver
				a.login("alice", alicePW)
				own := a.tlsCfg
				a.tlsCfg = tc.cfg
				if _, code, _ := a.transfer("RETR x.txt", nil); code != 522 {
					t.Errorf("%s: %d, want 522", tc.name, code)
				}
				if !strings.Contains(logs.String(), "binding="+string(tc.reason)) {
					t.Errorf("%s: no binding=%s in the log", tc.name, tc.reason)
				}
				a.tlsCfg = own
				if got := string(a.get("x.txt")); got != "payload" {
					t.Errorf("%s: session unusable after 522: %q", tc.name, got)
				}
			}
			if n := e.obs.get("data:" + string(DataNoReuse)); n != 3 {
				t.Errorf("refused %d, want 3", n)
			}
		})
	}
}

// TestUnclosedUpload: an upload whose TLS stream ends without close_notify
// gets the specific 426 in both TLS versions, also when the client only
// writes (under TLS 1.3 it is sent no ticket it would leave unread, so its
// close is a FIN, not a reset that loses the tail); from an exempt network
// it is kept, logged and counted.
func TestUnclosedUpload(t *testing.T) {
	data := make([]byte, 5_000_000)
	rand.Read(data)
	for _, exempt := range []bool{false, true} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(fmt.Sprintf("%s/exempt=%v", tls.VersionName(ver), exempt), func(t *testing.T) {
				e := newEnv(t, func(c *Config) {
					if exempt {
						c.CloseNotifyExemptFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
					}
				})
				c := e.dial()
				c.tlsCfg.MaxVersion = ver
				c.login("alice", alicePW)
				tc, dc := c.begin("STOR big.bin")
				if _, err := tc.Write(data); err != nil {
					t.Fatal(err)
				}
				dc.Close() // no close_notify, nothing read
				code, msg := c.read()
				switch {
				case exempt && code != 226:
					t.Fatalf("exempt: %d %q, want 226", code, msg)
				case !exempt && (code != 426 || !strings.Contains(msg, "close_notify")):
					t.Fatalf("%d %q, want the close_notify 426", code, msg)
				}
				if exempt && (!bytes.Equal([]byte(e.file("alice/big.bin")), data) || e.obs.get("unclosed_kept") != 1) {
					t.Fatalf("exempt upload: %d bytes stored, counted %d", len(e.file("alice/big.bin")), e.obs.get("unclosed_kept"))
				}
			})
		}
	}
}

// noReadUpload is an FTPS client that uploads over a fresh TLS handshake,
// never reads on the data connection and closes it without close_notify
// (like ftp-ssl); it prints the final reply.
const noReadUpload = `
import ftplib, ssl, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx, timeout=20)
f.connect(host, port)
f.auth()
f.login(user, pw)
f.prot_p()
conn = f.transfercmd("STOR noread.bin")
conn.sendall(b"z" * 5000000)
conn.close()  # no unwrap: no close_notify, and nothing read
try:
    print("REPLY", f.voidresp())
except ftplib.all_errors as e:
    print("REPLY", e)
`

// TestUnclosedUploadNoReadClient: a client that never reads on its upload
// connection and ends it without close_notify gets the close_notify 426
// under TLS 1.3 too: it is sent no ticket it would leave unread (which
// would turn its close into a reset and cut the upload).
func TestUnclosedUploadNoReadClient(t *testing.T) {
	py := requirePeer(t, "python3")
	e := newEnv(t, func(c *Config) { c.ReuseExemptFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "noread.py"), []byte(noReadUpload), 0o644)
	host, port, _ := net.SplitHostPort(e.addr)
	for i := range 3 {
		out, err := run(t, dir, py, "noread.py", host, port, "alice", alicePW)
		if err != nil || !strings.Contains(out, "426 Upload not closed with TLS close_notify") {
			t.Fatalf("run %d: want the close_notify 426, got %v\n%s", i, err, out)
		}
	}
	if got := e.file("alice/noread.bin"); !strings.HasPrefix(got, "<") {
		t.Errorf("unclosed upload stored %d bytes", len(got))
	}
}

// TestALPN: the gateway offers "ftp" and refuses a ClientHello that offers
// ALPN without it, on the control and the data connection; clients
// without ALPN (curl, lftp, ftplib, jlaffaye/ftp: the e2e tests) connect.
func TestALPN(t *testing.T) {
	e := newEnv(t, shortData)
	for _, tc := range []struct {
		protos []string
		ok     bool
	}{{nil, true}, {[]string{"ftp"}, true}, {[]string{"http/1.1", "ftp"}, true}, {[]string{"http/1.1"}, false}, {[]string{"h2", "http/1.1"}, false}} {
		c := e.dial()
		c.tlsCfg.NextProtos = tc.protos
		c.banner()
		c.expect(234, "AUTH TLS")
		tcn := tls.Client(c.conn, c.tlsCfg)
		err := tcn.Handshake()
		if (err == nil) != tc.ok {
			t.Errorf("ALPN %q: handshake error %v, want ok %v", tc.protos, err, tc.ok)
			continue
		}
		if err == nil && tc.protos != nil && tcn.ConnectionState().NegotiatedProtocol != "ftp" {
			t.Errorf("ALPN %q: negotiated %q", tc.protos, tcn.ConnectionState().NegotiatedProtocol)
		}
	}
	// A data connection offering h2 only fails its handshake.
	c := e.dial()
	c.login("alice", alicePW)
	dc := c.openData(c.epsv(), "127.0.0.1")
	c.send("LIST")
	if code, _ := c.read(); code != 150 {
		t.Fatalf("LIST: %d", code)
	}
	cfg := c.tlsCfg.Clone()
	cfg.NextProtos = []string{"h2"}
	if err := tls.Client(dc, cfg).Handshake(); err == nil {
		t.Error("data connection offering h2 accepted")
	}
	dc.Close()
	c.read()
	if n := e.obs.get("data:" + string(DataTLSFailed)); n != 1 {
		t.Errorf("tls_failed %d, want 1", n)
	}
}

// TestOpenSSLALPNRefused drives openssl s_client -starttls ftp with ALPN
// http/1.1 (what a cross-protocol attack through a browser looks like) and
// without ALPN.
func TestOpenSSLALPNRefused(t *testing.T) {
	openssl := requirePeer(t, "openssl")
	e := newEnvTLS(t, tlsmgr.Config{Source: tlsmgr.SourceSelfSigned})
	for _, alpn := range []string{"", "http/1.1"} {
		args := []string{"s_client", "-connect", e.addr, "-starttls", "ftp", "-brief"}
		if alpn != "" {
			args = append(args, "-alpn", alpn)
		}
		out, err := runStdin(t, "QUIT\r\n", openssl, args...)
		if ok := err == nil && strings.Contains(out, "CONNECTION ESTABLISHED"); ok != (alpn == "") {
			t.Errorf("openssl -alpn %q: %v\n%s", alpn, err, out)
		}
	}
}

// runStdin runs a client with input on its standard input and a time limit.
func runStdin(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
