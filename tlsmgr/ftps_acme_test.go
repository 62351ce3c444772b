package tlsmgr_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jlaffaye/ftp"
	"golang.org/x/crypto/bcrypt"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/local"
	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// TestACMECertificateServesFTPS obtains a certificate from a real Pebble
// and serves a verified FTPS session (control and data) with it.
func TestACMECertificateServesFTPS(t *testing.T) {
	cfg, roots := tlsmgr.PebbleForTest(t, "ftp.gw.test")
	logger := hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	m, err := tlsmgr.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	root := t.TempDir()
	opener, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	pol, err := policy.Compile(policy.Config{Users: []policy.UserConfig{{Name: "u", PasswordHash: string(h),
		Backend: "files", Home: "/", Permissions: []string{"*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gateway.New(gateway.Config{TLS: m, Policy: func() *policy.Policy { return pol },
		Backends: map[string]backend.Opener{"files": opener}, PassivePortMin: 28000, PassivePortMax: 28099})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	// Verified against Pebble's roots, for the ACME name: no InsecureSkipVerify.
	conf := &tls.Config{RootCAs: roots, ServerName: "ftp.gw.test", ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	c, err := ftp.Dial(ln.Addr().String(), ftp.DialWithExplicitTLS(conf), ftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("FTPS with the ACME certificate: %v", err)
	}
	defer c.Quit()
	if err := c.Login("u", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("acme.txt", strings.NewReader("issued by pebble")); err != nil {
		t.Fatal(err)
	}
	r, err := c.Retr("acme.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "issued by pebble" {
		t.Fatalf("RETR: %q", b)
	}
	if got, _ := os.ReadFile(root + "/acme.txt"); string(got) != "issued by pebble" {
		t.Fatalf("on disk: %q", got)
	}
}
