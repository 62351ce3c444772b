package gateway

import (
	"bufio"
	"context"
	"io/fs"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// FuzzSession feeds arbitrary command sequences to a logged-in session
// over net.Pipe, on the in-memory backend. It checks that the session
// never panics, that every reply is well formed (the reader fails the
// test on anything else), and that nothing is ever created outside the
// user's home.
func FuzzSession(f *testing.F) {
	for _, seed := range []string{
		"PWD\nCWD ..\nCWD ../../etc\nMKD ../x\nMKD /a/../../b\nPWD",
		"MKD d\nCWD d\nRNFR .\nRNTO /../../z\nRMD /\nDELE ..",
		"PASV\nLIST -la ../..\nEPSV\nNLST /\nREST 5\nSTOR ../../f",
		"TYPE A\nMLST ..\nMLSD\nSIZE //..//x\nMDTM x\nMFMT 20200101000000 ../q",
		"HASH ../../etc/passwd\nOPTS HASH MD5\nXSHA256 a\nSTAT /\nSITE CHMOD 777 ..",
		"REIN\nUSER bob\nPASS x\nAUTH TLS\nPBSZ 0\nPROT C\nABOR\nQUIT",
		"RNFR a\nRNTO b\nAPPE ../a\nSTOU\nALLO 5\nMODE Z\nSTRU R\nHELP\nFEAT",
	} {
		f.Add(seed)
	}
	tm, err := tlsmgr.New(context.Background(), tlsmgr.Config{Source: tlsmgr.SourceSelfSigned, StateDir: f.TempDir()}, hclog.NewNullLogger())
	if err != nil {
		f.Fatal(err)
	}
	defer tm.Close()
	cfg := testPolicyConfig(&testing.T{})
	cfg.Users[2].Rules = append(cfg.Users[2].Rules, policy.RuleConfig{Path: "/hidden/**", Permissions: []string{}})
	pol, err := policy.Compile(cfg)
	if err != nil {
		f.Fatal(err)
	}
	mem := backendtest.NewMemOpener()
	var logs lockedBuffer
	lo := 10000 + rand.IntN(9900)
	srv, err := New(Config{TLS: tm, Policy: func() *policy.Policy { return pol },
		Backends:       map[string]backend.Opener{"files": mem},
		Logger:         hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn}),
		PassivePortMin: lo, PassivePortMax: lo + 40, DataTimeout: 100 * time.Millisecond,
		LoginTimeout: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	srv.ForTest().SetLoginFailDelay(0)

	// Each input comes from its own loopback address, so that failed
	// logins in one input never ban the address the next one uses.
	var next atomic.Uint32
	f.Fuzz(func(t *testing.T, script string) {
		n := next.Add(1)
		peer := net.IPv4(127, byte(n>>16), byte(n>>8), byte(n))
		cl, sv := net.Pipe()
		defer cl.Close()
		srv.accept(addrConn{sv, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 21},
			&net.TCPAddr{IP: peer, Port: 40000}}, false)
		c := &ftpc{t: t, conn: cl, r: bufio.NewReader(cl), tlsCfg: testClientTLS()}
		cl.SetDeadline(time.Now().Add(10 * time.Second))
		c.banner()
		c.authTLS()
		c.expect(200, "PBSZ 0")
		c.expect(200, "PROT P")
		c.expect(331, "USER alice")
		c.expect(230, "PASS %s", alicePW)
		c.conn.SetDeadline(time.Now().Add(10 * time.Second))
		lines := strings.Split(script, "\n")
		if len(lines) > 24 {
			lines = lines[:24]
		}
		for _, l := range lines {
			l = strings.Map(func(r rune) rune {
				if r == '\r' || r == '\n' {
					return -1
				}
				return r
			}, l)
			if len(l) > 512 || strings.HasPrefix(strings.ToUpper(l), "AUTH") {
				continue // AUTH again would hand the stream to a second TLS layer
			}
			c.send("%s", l)
			if code, msg := c.read(); code == 0 {
				if strings.Contains(msg, "EOF") || strings.Contains(msg, "closed") {
					break // the session ended (QUIT, too many failures)
				}
				t.Fatalf("no reply to %q: %s", l, msg)
			}
		}
		// Close the pipe itself: over net.Pipe, a TLS close_notify blocks
		// until the peer reads it, and a server that has already sent 221
		// is writing its own close_notify, so both would wait out the
		// 5 s alert deadline.
		cl.Close()
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("a session panicked:\n%s", logs.String())
		}
		root, err := mem.Open(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		entries, err := backend.ReadAll(context.Background(), root, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "alice" && e.Name() != "carol" {
				t.Fatalf("%q created outside the home (mode %v)", e.Name(), e.Mode()&fs.ModeType)
			}
		}
	})
}
