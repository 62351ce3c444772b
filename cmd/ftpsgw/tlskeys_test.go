package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// TestTLSBindingKeys: session_binding, reuse_exempt_from,
// close_notify_exempt_from, client_crl_file and strict_sni reach the
// gateway and tlsmgr configs, and bad values are reported with their line.
func TestTLSBindingKeys(t *testing.T) {
	dir := t.TempDir()
	ca := writeFile(t, dir, "ca.pem", testCertPEM(t), 0o644)
	crl := writeFile(t, dir, "ca.crl", testCertPEM(t), 0o644)
	path := writeFile(t, dir, "c.hcl", fmt.Sprintf(`tls {
  source                   = "self_signed"
  state_dir                = %q
  session_binding          = "session"
  reuse_exempt_from        = ["10.20.0.0/16", "192.0.2.7"]
  close_notify_exempt_from = ["198.51.100.0/24"]
  client_ca_file           = %q
  client_crl_file          = %q
  strict_sni               = true
}
backend "local" "f" { root = %q }
user "a" { password_hash = %q }
`, dir, ca, crl, dir, demoHash), 0o644)
	s, probs := loadConfig(path)
	if probs.errors() != 0 {
		var b bytes.Buffer
		probs.print(&b)
		t.Fatal(b.String())
	}
	if s.tls.SessionBinding != tlsmgr.BindingSession || !s.tls.StrictSNI || s.tls.ClientCRLFile != crl {
		t.Errorf("tls config: %+v", s.tls)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("192.0.2.7/32")}
	if fmt.Sprint(s.gw.ReuseExemptFrom) != fmt.Sprint(want) ||
		fmt.Sprint(s.gw.CloseNotifyExemptFrom) != "[198.51.100.0/24]" {
		t.Errorf("exemptions: %v %v", s.gw.ReuseExemptFrom, s.gw.CloseNotifyExemptFrom)
	}

	bad := writeFile(t, dir, "bad.hcl", fmt.Sprintf(`tls {
  source            = "self_signed"
  state_dir         = %q
  session_binding   = "ip"
  reuse_exempt_from = ["10.20.0.0/33"]
  client_crl_file   = %q
}
backend "local" "f" { root = %q }
user "a" { password_hash = %q }
`, dir, crl, dir, demoHash), 0o644)
	code, out := checkConfig(t, bad)
	for _, want := range []string{`bad.hcl:4`, `session_binding "ip"`, `bad.hcl:5`, `reuse_exempt_from`, `bad.hcl:6`, `client_crl_file needs client_ca_file`} {
		if code == 0 || !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("check-config output lacks %q (exit %d):\n%s", want, code, out)
		}
	}
}
