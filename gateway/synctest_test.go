package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// addrConn gives a net.Pipe end TCP addresses, as the gateway expects.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c addrConn) LocalAddr() net.Addr  { return c.local }
func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// TestDefaultTimeoutsFakeClock runs the real default login_timeout (30 s)
// and idle_timeout (5 m) in a synctest bubble, over net.Pipe.
func TestDefaultTimeoutsFakeClock(t *testing.T) {
	tm, err := tlsmgr.New(context.Background(), tlsmgr.Config{Source: tlsmgr.SourceSelfSigned, StateDir: t.TempDir()}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	pol, err := policy.Compile(testPolicyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		srv, err := New(Config{TLS: tm, Policy: func() *policy.Policy { return pol },
			Backends: map[string]backend.Opener{"files": backendtest.NewMemOpener()}})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		dial := func() *ftpc {
			cl, sv := net.Pipe()
			client := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}
			server := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 21}
			srv.accept(addrConn{sv, server, client}, false)
			return &ftpc{t: t, conn: cl, r: bufio.NewReader(cl), tlsCfg: testClientTLS()}
		}

		// login_timeout counts from connect.
		c := dial()
		c.banner()
		start := time.Now()
		code, msg := c.read()
		if code != 421 || !strings.Contains(msg, "Login timeout") {
			t.Fatalf("login timeout: %d %q", code, msg)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("login timeout after %v, want 30s", d)
		}

		// idle_timeout: a command just before it keeps the session alive.
		c = dial()
		c.banner()
		c.authTLS()
		c.expect(331, "USER alice")
		c.expect(230, "PASS %s", alicePW)
		time.Sleep(5*time.Minute - time.Second)
		c.expect(200, "NOOP")
		start = time.Now()
		code, msg = c.read()
		if code != 421 || !strings.Contains(msg, "Idle timeout") {
			t.Fatalf("idle timeout: %d %q", code, msg)
		}
		if d := time.Since(start); d != 5*time.Minute {
			t.Errorf("idle timeout after %v, want 5m", d)
		}
		if _, err := c.r.ReadByte(); err != io.EOF && err == nil {
			t.Error("connection open after idle timeout")
		}
	})
}

func testClientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}
}
