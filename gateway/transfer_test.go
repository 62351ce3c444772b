package gateway

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

func TestUploadDownloadRoundTrip(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	c.put("big.bin", data)
	if got := c.get("big.bin"); !bytes.Equal(got, data) {
		t.Fatalf("round trip: got %d bytes, want %d", len(got), len(data))
	}
	// PASV as well as EPSV.
	addr := c.pasv()
	dc := c.openData(addr, "127.0.0.1")
	c.send("RETR big.bin")
	if code, _ := c.read(); code != 150 {
		t.Fatal("no 150")
	}
	tc, err := c.tlsData(dc)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(tc)
	if code, _ := c.read(); code != 226 || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("PASV RETR: %d, %d bytes", code, buf.Len())
	}
	if e.obs.get("xfer:upload:ok") != 1 || e.obs.get("xfer:download:ok") != 2 {
		t.Errorf("transfers observed: %v", e.obs.counts)
	}
}

func TestManyTransfersOneSession(t *testing.T) {
	// TLS 1.3 clients use each ticket once: every data connection must
	// mint a new bound ticket for the next one.
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	for i := range 120 {
		name := fmt.Sprintf("f%03d", i)
		c.put(name, []byte(name))
		if got := string(c.get(name)); got != name {
			t.Fatalf("%s: got %q", name, got)
		}
	}
}

func TestListingsFormats(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/a.txt", "12345")
	os.Mkdir(filepath.Join(e.root, "alice/sub"), 0o755)
	c := e.dial()
	c.login("alice", alicePW)
	list, code, _ := c.transfer("LIST", nil)
	if code != 226 {
		t.Fatalf("LIST: %d", code)
	}
	// Listings stream in the storage's order; sort for the comparison.
	lines := strings.Split(strings.TrimRight(string(list), "\r\n"), "\r\n")
	slices.SortFunc(lines, func(a, b string) int {
		return strings.Compare(a[strings.LastIndexByte(a, ' '):], b[strings.LastIndexByte(b, ' '):])
	})
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "-rw") || !strings.HasSuffix(lines[0], " a.txt") ||
		!strings.HasPrefix(lines[1], "d") || !strings.HasSuffix(lines[1], " sub") {
		t.Errorf("LIST lines: %q", lines)
	}
	if _, code, _ := c.transfer("LIST -la", nil); code != 226 {
		t.Errorf("LIST -la: %d", code)
	}
	nlst, _, _ := c.transfer("NLST", nil)
	names := strings.Split(strings.TrimSuffix(string(nlst), "\r\n"), "\r\n")
	slices.Sort(names)
	if !strings.HasSuffix(string(nlst), "\r\n") || !slices.Equal(names, []string{"a.txt", "sub"}) {
		t.Errorf("NLST: %q", nlst)
	}
	mlsd, _, _ := c.transfer("MLSD", nil)
	if !strings.Contains(string(mlsd), "type=file;size=5;") || !strings.Contains(string(mlsd), "type=dir;") {
		t.Errorf("MLSD: %q", mlsd)
	}
	if _, code, _ := c.transfer("MLSD a.txt", nil); code != 550 {
		t.Errorf("MLSD of a file: %d", code)
	}
	if _, code, _ := c.transfer("LIST nothere", nil); code != 550 {
		t.Errorf("LIST missing: %d", code)
	}
	if one, _, _ := c.transfer("LIST a.txt", nil); !strings.HasSuffix(strings.TrimSpace(string(one)), " a.txt") {
		t.Errorf("LIST of a file: %q", one)
	}
}

func TestTypeAConvertsLineEnds(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/unix.txt", "x\ny\n")
	c := e.dial()
	c.login("alice", alicePW)
	c.expect(200, "TYPE A")
	if got := string(c.get("unix.txt")); got != "x\r\ny\r\n" {
		t.Errorf("ASCII download: %q", got)
	}
	c.put("dos.txt", []byte("a\r\nb\r\n"))
	if got := e.file("alice/dos.txt"); got != "a\nb\n" {
		t.Errorf("ASCII upload stored %q", got)
	}
	c.expect(200, "TYPE I")
	if got := string(c.get("unix.txt")); got != "x\ny\n" {
		t.Errorf("binary download: %q", got)
	}
}

func TestRESTResumesBothWays(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/r.txt", "0123456789")
	c := e.dial()
	c.login("alice", alicePW)
	c.rest = 4
	if got := string(c.get("r.txt")); got != "456789" {
		t.Errorf("REST RETR: %q", got)
	}
	// REST stays in effect across the EPSV before the RETR, and is spent
	// by it.
	c.expect(350, "REST 4")
	if got := string(c.get("r.txt")); got != "456789" {
		t.Errorf("REST lost across EPSV: %q", got)
	}
	if got := string(c.get("r.txt")); got != "0123456789" {
		t.Errorf("REST leaked past its RETR: %q", got)
	}
	e.writeFile("alice/part.bin", "abcdeXXXX")
	c.rest = 5
	c.put("part.bin", []byte("fgh"))
	if got := e.file("alice/part.bin"); got != "abcdefgh" {
		t.Errorf("REST STOR: %q", got)
	}
	c.rest = 100
	if _, code, _ := c.transfer("RETR r.txt", nil); code != 554 {
		t.Errorf("REST beyond end: %d", code)
	}
	if _, code, _ := c.transfer("APPE r.txt", []byte("AB")); code != 226 || e.file("alice/r.txt") != "0123456789AB" {
		t.Errorf("APPE: %d %q", code, e.file("alice/r.txt"))
	}
}

func TestSTOUCreatesUniqueFile(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	addr := c.epsv()
	dc := c.openData(addr, "127.0.0.1")
	c.send("STOU")
	code, msg := c.read()
	if code != 150 || !strings.HasPrefix(msg, "FILE: stou-") {
		t.Fatalf("STOU: %d %q", code, msg)
	}
	name := strings.TrimPrefix(msg, "FILE: ")
	tc, _ := c.tlsData(dc)
	tc.Write([]byte("unique"))
	tc.Close()
	if code, _ := c.read(); code != 226 {
		t.Fatalf("STOU end: %d", code)
	}
	if got := e.file("alice/" + name); got != "unique" {
		t.Errorf("STOU file %s: %q", name, got)
	}
}

func TestProtClearRefusedUnderRequireAll(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.banner()
	c.authTLS()
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT C")
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	c.epsv()
	c.expect(521, "LIST")
	if e.obs.get("data:prot_c") != 1 {
		t.Errorf("prot_c refusals: %d", e.obs.get("data:prot_c"))
	}

	// tls.require = "login": clear data after an encrypted login works.
	e2 := newEnv(t, func(c *Config) { c.AllowClearData = true })
	e2.writeFile("alice/clear.txt", "in the clear")
	c2 := e2.dial()
	c2.banner()
	c2.authTLS()
	c2.expect(200, "PBSZ 0")
	c2.expect(200, "PROT C")
	c2.expect(331, "USER alice")
	c2.expect(230, "PASS %s", alicePW)
	addr := c2.epsv()
	dc := c2.openData(addr, "127.0.0.1")
	c2.send("RETR clear.txt")
	if code, _ := c2.read(); code != 150 {
		t.Fatal("no 150")
	}
	var b bytes.Buffer
	b.ReadFrom(dc)
	if code, _ := c2.read(); code != 226 || b.String() != "in the clear" {
		t.Errorf("clear RETR: %d %q", code, b.String())
	}
}

func TestDataFromForeignIPDropped(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/x.txt", "payload")
	c := e.dial()
	c.login("alice", alicePW)
	addr := c.epsv()
	thief := c.openData(addr, "127.0.0.2")
	c.send("RETR x.txt")
	if code, _ := c.read(); code != 150 {
		t.Fatal("no 150")
	}
	// The thief is dropped before any TLS: it reads EOF, never a ServerHello.
	thief.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := thief.Read(make([]byte, 10)); err == nil {
		t.Fatalf("thief got %d bytes", n)
	}
	// The real client still gets its file.
	dc := c.openData(addr, "127.0.0.1")
	tc, err := c.tlsData(dc)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(tc)
	if code, _ := c.read(); code != 226 || b.String() != "payload" {
		t.Fatalf("after thief: %d %q", code, b.String())
	}
	if e.obs.get("data:wrong_ip") != 1 {
		t.Errorf("wrong_ip count %d", e.obs.get("data:wrong_ip"))
	}

	// Only a foreign peer: the transfer fails with 425 after data_timeout.
	addr = c.epsv()
	thief = c.openData(addr, "127.0.0.2")
	defer thief.Close()
	c.send("RETR x.txt")
	c.read()
	if code, _ := c.read(); code != 425 {
		t.Errorf("only foreign peer: %d", code)
	}
}

func TestDataWithoutResumptionRefused(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/x.txt", "payload")
	c := e.dial()
	c.login("alice", alicePW)
	c.noResume = true
	if _, code, _ := c.transfer("RETR x.txt", nil); code != 522 {
		t.Fatalf("fresh data handshake: %d, want 522", code)
	}
	if e.obs.get("data:no_session_reuse") != 1 {
		t.Errorf("no_session_reuse count %d", e.obs.get("data:no_session_reuse"))
	}
	c.noResume = false
	if got := string(c.get("x.txt")); got != "payload" {
		t.Errorf("session unusable after 522: %q", got)
	}

	// observe: accepted, counted.
	e2 := newEnv(t, func(c *Config) { c.SessionReuse = ReuseObserve })
	e2.writeFile("alice/x.txt", "payload")
	c2 := e2.dial()
	c2.login("alice", alicePW)
	c2.noResume = true
	if got, code, _ := c2.transfer("RETR x.txt", nil); code != 226 || string(got) != "payload" {
		t.Fatalf("observe mode: %d %q", code, got)
	}
	if e2.obs.unbound() != 1 {
		t.Errorf("observed count %d", e2.obs.unbound())
	}
}

// TestOtherSessionsTicket: a data connection that presents a ticket of
// another FTP session of the same user from the same address is bound
// under session_binding = "user" (the default) and refused under
// "session". The other bindings are in binding_e2e_test.go.
func TestOtherSessionsTicket(t *testing.T) {
	for _, binding := range []string{tlsmgr.BindingUser, tlsmgr.BindingSession} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(binding+"/"+tls.VersionName(ver), func(t *testing.T) {
				e := newEnvTLS(t, tlsmgr.Config{Source: tlsmgr.SourceSelfSigned, SessionBinding: binding}, shortData)
				e.writeFile("alice/x.txt", "payload")
				a := e.dial()
				a.tlsCfg.MaxVersion = ver
				a.login("alice", alicePW)
				a.get("x.txt") // a's cache now holds tickets of a's session
				b := e.dial()
				b.tlsCfg.MaxVersion = ver
				b.login("alice", alicePW)
				b.tlsCfg = a.tlsCfg // b's data connection presents a's ticket
				want := map[string]int{tlsmgr.BindingUser: 226, tlsmgr.BindingSession: 522}[binding]
				if _, code, _ := b.transfer("RETR x.txt", nil); code != want {
					t.Fatalf("sibling's ticket: %d, want %d", code, want)
				}
			})
		}
	}
}

func TestPassiveRangeAndExhaustion(t *testing.T) {
	// A tiny range: two ports.
	e2 := newEnv(t, func(c *Config) { c.PassivePortMax = c.PassivePortMin + 1 })
	lo := e2.cfg.PassivePortMin - 7
	a, b, c := e2.dial(), e2.dial(), e2.dial()
	for _, cl := range []*ftpc{a, b, c} {
		cl.login("alice", alicePW)
	}
	seen := map[string]bool{}
	for _, cl := range []*ftpc{a, b} {
		addr := cl.epsv()
		_, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		if p < lo+7 || p > lo+8 {
			t.Fatalf("port %d outside range", p)
		}
		seen[port] = true
	}
	if len(seen) != 2 {
		t.Fatalf("ports reused: %v", seen)
	}
	c.expect(425, "EPSV")
	c.expect(425, "PASV")
	if e2.obs.get("pasv_exhausted") != 2 {
		t.Errorf("exhaustion count %d", e2.obs.get("pasv_exhausted"))
	}
	a.expect(225, "ABOR") // releases a's port
	c.epsv()
	// A finished transfer releases its port too.
	b.transfer("LIST", nil)
	a.epsv()
}

func TestActiveMode(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.expect(502, "PORT 127,0,0,1,200,10")
	c.expect(502, "EPRT |1|127.0.0.1|51210|")

	e2 := newEnv(t, func(c *Config) { c.ActiveEnabled = true })
	e2.writeFile("alice/x.txt", "active payload")
	c2 := e2.dial()
	c2.login("alice", alicePW)
	c2.expect(501, "PORT 127,0,0,2,200,10")    // another IP
	c2.expect(501, "EPRT |1|127.0.0.1|80|")    // privileged port
	c2.expect(501, "EPRT |1|10.0.0.1|51210|")  // another IP
	c2.expect(501, "PORT 1,2,3")               // syntax
	c2.expect(501, "EPRT |2|127.0.0.1|51210|") // protocol mismatch
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c2.expect(200, "EPRT |1|127.0.0.1|%d|", ln.Addr().(*net.TCPAddr).Port)
	c2.send("RETR x.txt")
	if code, _ := c2.read(); code != 150 {
		t.Fatal("no 150")
	}
	dc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	tc, err := c2.tlsData(dc)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(tc)
	if code, _ := c2.read(); code != 226 || b.String() != "active payload" {
		t.Fatalf("active RETR: %d %q", code, b.String())
	}
	c2.expect(200, "EPSV ALL")
	c2.expect(503, "PASV")
	c2.expect(503, "PORT 127,0,0,1,200,10")
}

func TestABORStopsDownload(t *testing.T) {
	e := newEnv(t)
	big := bytes.Repeat([]byte("z"), 64<<20)
	e.writeFile("alice/huge.bin", string(big))
	c := e.dial()
	c.login("alice", alicePW)
	tc, _ := c.begin("RETR huge.bin")
	tc.Read(make([]byte, 1024))
	c.send("ABOR")
	if code, _ := c.read(); code != 426 {
		t.Errorf("first reply to ABOR: %d, want 426", code)
	}
	if code, _ := c.read(); code != 226 {
		t.Errorf("second reply to ABOR: %d, want 226", code)
	}
	c.expect(200, "NOOP")
	if e.obs.get("xfer:download:aborted") != 1 {
		t.Errorf("aborted downloads %d", e.obs.get("xfer:download:aborted"))
	}
}

// TestABORDuringDataHandshake: a client that connects the data channel
// and never starts TLS does not hold ABOR until the handshake timeout;
// the connection is closed at once and the session goes on.
func TestABORDuringDataHandshake(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/f.txt", "data")
	c := e.dial()
	c.login("alice", alicePW)
	dc := c.openData(c.epsv(), "127.0.0.1")
	defer dc.Close()
	c.send("RETR f.txt")
	if code, _ := c.read(); code != 150 {
		t.Fatalf("RETR: %d, want 150", code)
	}
	time.Sleep(100 * time.Millisecond) // the gateway is in the handshake, waiting for a ClientHello
	start := time.Now()
	c.send("ABOR")
	if code, _ := c.read(); code != 426 {
		t.Errorf("first reply to ABOR: %d, want 426", code)
	}
	if code, _ := c.read(); code != 226 {
		t.Errorf("second reply to ABOR: %d, want 226", code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ABOR answered after %v: it waited for the handshake timeout", d)
	}
	dc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := dc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("data connection not closed by ABOR: %v", err)
	}
	if got := string(c.get("f.txt")); got != "data" {
		t.Errorf("download after ABOR: %q", got)
	}
}

func TestAbortedUploadKeepsOldFile(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/keep.txt", "the original")
	c := e.dial()
	c.login("alice", alicePW)
	tc, _ := c.begin("STOR keep.txt")
	tc.Write([]byte("partial garbage"))
	time.Sleep(100 * time.Millisecond)
	c.send("ABOR")
	if code, _ := c.read(); code != 426 {
		t.Errorf("ABOR first reply %d", code)
	}
	if code, _ := c.read(); code != 226 {
		t.Errorf("ABOR second reply %d", code)
	}
	if got := e.file("alice/keep.txt"); got != "the original" {
		t.Errorf("aborted upload changed the file: %q", got)
	}
	entries, _ := os.ReadDir(filepath.Join(e.root, "alice"))
	if len(entries) != 1 {
		t.Errorf("leftovers after abort: %v", entries)
	}
	// A broken data connection (RST mid-upload) also keeps the old file.
	tc, dc := c.begin("STOR keep.txt")
	tc.Write([]byte("more garbage"))
	dc.(*net.TCPConn).SetLinger(0)
	dc.Close()
	if code, _ := c.read(); code == 226 {
		t.Errorf("an upload cut by RST was reported complete")
	}
	if got := e.file("alice/keep.txt"); got != "the original" {
		t.Errorf("failed upload changed the file: %q", got)
	}
}

func TestReadOnlyUserChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/doc.txt", "read me")
	c := e.dial()
	c.login("bob", bobPW)
	if got := string(c.get("doc.txt")); got != "read me" {
		t.Fatalf("bob download: %q", got)
	}
	if l, code, _ := c.transfer("NLST", nil); code != 226 || string(l) != "doc.txt\r\n" {
		t.Fatalf("bob list: %d %q", code, l)
	}
	for _, cmd := range []string{"MKD d", "RMD d", "DELE doc.txt", "RNFR doc.txt"} {
		c.expect(550, "%s", cmd)
	}
	for _, cmd := range []string{"STOR doc.txt", "STOR new.txt", "APPE doc.txt", "STOU"} {
		if _, code, _ := c.transfer(cmd, []byte("x")); code != 550 {
			t.Errorf("%s: %d, want 550", cmd, code)
		}
	}
	c.expect(550, "MFMT 20200101000000 doc.txt")
	entries, _ := os.ReadDir(filepath.Join(e.root, "alice"))
	if len(entries) != 1 || e.file("alice/doc.txt") != "read me" {
		t.Errorf("disk changed: %v %q", entries, e.file("alice/doc.txt"))
	}
	if e.obs.get("denied:upload")+e.obs.get("denied:overwrite") == 0 {
		t.Errorf("denials not observed: %v", e.obs.counts)
	}
}

func TestHiddenSubtreeAndDropBox(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.login("carol", carolPW)
	for _, verb := range []string{"LIST", "NLST", "MLSD"} {
		l, code, _ := c.transfer(verb, nil)
		if code != 226 || strings.Contains(string(l), "secret") || !strings.Contains(string(l), "pub") {
			t.Errorf("%s /: %d %q", verb, code, l)
		}
	}
	for _, cmd := range []string{"CWD secret", "CWD /secret/", "SIZE secret/plans.txt", "MLST secret", "MDTM secret/plans.txt"} {
		c.expect(550, "%s", cmd)
	}
	if _, code, msg := c.transfer("RETR secret/plans.txt", nil); code != 550 || !strings.Contains(msg, "No such file") {
		t.Errorf("RETR hidden: %d %q", code, msg)
	}
	if _, code, _ := c.transfer("LIST secret", nil); code != 550 {
		t.Errorf("LIST hidden: %d", code)
	}
	// Drop box: upload a new file, but no overwrite and no download there.
	c.put("incoming/report.csv", []byte("a,b"))
	if e.file("carol/incoming/report.csv") != "a,b" {
		t.Fatal("drop box upload missing")
	}
	if _, code, _ := c.transfer("STOR incoming/report.csv", []byte("overwrite")); code != 550 {
		t.Errorf("overwrite in drop box: %d", code)
	}
	if _, code, _ := c.transfer("RETR incoming/report.csv", nil); code != 550 {
		t.Errorf("download from drop box: %d", code)
	}
	if _, code, _ := c.transfer("STOR pub/new.txt", []byte("x")); code != 550 {
		t.Errorf("upload outside drop box: %d", code)
	}
	if e.file("carol/incoming/report.csv") != "a,b" || e.file("carol/secret/plans.txt") != "hidden" {
		t.Error("disk changed")
	}
}

func TestHostilePathsStayInHome(t *testing.T) {
	e := newEnv(t)
	e.writeFile("carol/pub/readme.txt", "carol's")
	e.writeFile("outside.txt", "root level")
	if err := os.Symlink(filepath.Join(e.root, "carol"), filepath.Join(e.root, "alice/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(e.root, "alice/etc")); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.login("alice", alicePW)
	for _, p := range []string{
		"../outside.txt", "/../outside.txt", "../../outside.txt", "//..//outside.txt",
		"../carol/pub/readme.txt", "/../../carol/pub/readme.txt", "a/../../outside.txt",
		"link/pub/readme.txt", "etc/passwd", "etc/hostname", "./../outside.txt",
		strings.Repeat("a/", 600) + "x", strings.Repeat("n", 300),
	} {
		if got, code, _ := c.transfer("RETR "+p, nil); code == 226 || code == 150 {
			t.Errorf("RETR %q escaped: %d %q", p, code, got)
		}
		if code, _ := c.cmd("SIZE %s", p); code == 213 {
			t.Errorf("SIZE %q escaped", p)
		}
	}
	for _, p := range []string{"../escape.txt", "link/pub/planted.txt", "etc/planted"} {
		c.transfer("STOR "+p, []byte("planted"))
	}
	if _, err := os.Stat(filepath.Join(e.root, "escape.txt")); err == nil {
		t.Error("STOR ../ escaped")
	}
	if _, err := os.Stat(filepath.Join(e.root, "carol/pub/planted.txt")); err == nil {
		t.Error("STOR through symlink escaped")
	}
	c.expect(250, "CWD ../../..")
	if msg := c.expect(257, "PWD"); !strings.HasPrefix(msg, `"/"`) {
		t.Errorf("PWD after climbing: %q", msg)
	}
}

func TestPassiveAnnouncedAddress(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.PublicAddress = mustAddr("192.0.2.10")
		c.AddressFor = []AddressFor{{Network: netip.MustParsePrefix("127.0.0.2/32"), Address: mustAddr("10.1.2.3")}}
	})
	c := e.dial()
	c.login("alice", alicePW)
	if msg := c.expect(227, "PASV"); !strings.Contains(msg, "(192,0,2,10,") {
		t.Errorf("public_address not announced: %q", msg)
	}
	d := e.dialFrom("127.0.0.2")
	d.login("alice", alicePW)
	if msg := d.expect(227, "PASV"); !strings.Contains(msg, "(10,1,2,3,") {
		t.Errorf("address_for not announced: %q", msg)
	}
	// Without either, the control connection's local address.
	e2 := newEnv(t)
	c2 := e2.dial()
	c2.login("alice", alicePW)
	if msg := c2.expect(227, "PASV"); !strings.Contains(msg, "(127,0,0,1,") {
		t.Errorf("local address not announced: %q", msg)
	}
}

func TestUnusedPassivePortExpires(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.PassivePortMax = c.PassivePortMin // one port
		c.DataTimeout = 2 * time.Second
	})
	a, b := e.dial(), e.dial()
	a.login("alice", alicePW)
	b.login("bob", bobPW)
	a.epsv() // and then nothing
	b.expect(425, "EPSV")
	waitFor(t, func() bool { return e.srv.pasv.InUse() == 0 })
	b.epsv()
	// a's late transfer command finds its port gone.
	a.send("LIST")
	if code, _ := a.read(); code != 150 {
		t.Fatalf("LIST: %d", code)
	}
	if code, _ := a.read(); code != 425 {
		t.Errorf("transfer on an expired passive port: %d, want 425", code)
	}
}

// TestTruncatedUploadDiscarded: a man in the middle who cuts the TCP
// stream mid-upload produces the same io.EOF in crypto/tls as a finished
// upload; without the client's close_notify the upload must be discarded.
func TestTruncatedUploadDiscarded(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/keep.txt", "the whole original")
	c := e.dial()
	c.login("alice", alicePW)
	for _, name := range []string{"keep.txt", "new.txt"} {
		tc, dc := c.begin(fmt.Sprintf("STOR %s", name))
		tc.Write([]byte("the first half"))
		dc.(*net.TCPConn).CloseWrite() // FIN, no close_notify
		if code, msg := c.read(); code != 426 {
			t.Errorf("truncated STOR %s: %d %q, want 426", name, code, msg)
		}
		dc.Close()
	}
	if got := e.file("alice/keep.txt"); got != "the whole original" {
		t.Errorf("truncated upload replaced the file: %q", got)
	}
	if got := e.file("alice/new.txt"); !strings.HasPrefix(got, "<") {
		t.Errorf("truncated upload created a file: %q", got)
	}
	// The same upload closed properly is stored.
	c.put("new.txt", []byte("complete"))
	if e.file("alice/new.txt") != "complete" {
		t.Error("clean upload missing")
	}
}
