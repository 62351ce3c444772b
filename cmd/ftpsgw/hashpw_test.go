package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/policy"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// login compiles a one-user policy with hash and tries password.
func login(t *testing.T, hash, password string) error {
	t.Helper()
	p, err := policy.Compile(policy.Config{Users: []policy.UserConfig{{
		Name: "u", PasswordHash: hash, Backend: "files", Permissions: []string{"list"},
	}}})
	if err != nil {
		t.Fatalf("compile with the printed hash: %v", err)
	}
	_, err = p.Authenticate(t.Context(), policy.LoginRequest{User: "u", Password: password, Client: mustAddr("192.0.2.1")})
	return err
}

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, in := range []string{"correct horse battery staple\n", "no-newline", "crlf\r\n", "first line\nsecond line\n"} {
		var out, errOut bytes.Buffer
		if code := run([]string{"hash-password"}, strings.NewReader(in), &out, &errOut); code != 0 {
			t.Fatalf("%q: exit %d: %s", in, code, errOut.String())
		}
		hash := strings.TrimSuffix(out.String(), "\n")
		if strings.Contains(hash, "\n") || !strings.HasPrefix(hash, "$argon2id$") {
			t.Fatalf("stdout is not one argon2id hash: %q", out.String())
		}
		pw, _, _ := strings.Cut(in, "\n")
		pw = strings.TrimSuffix(pw, "\r")
		if strings.Contains(out.String()+errOut.String(), pw) {
			t.Error("the password was echoed")
		}
		if err := login(t, hash, pw); err != nil {
			t.Errorf("%q: the printed hash does not verify: %v", in, err)
		}
		if err := login(t, hash, pw+"x"); err == nil {
			t.Errorf("%q: a wrong password verified", in)
		}
	}
}

func TestHashPasswordRefusesEmpty(t *testing.T) {
	for _, in := range []string{"", "\n", strings.Repeat("x", 2000) + "\n"} {
		var out, errOut bytes.Buffer
		if code := run([]string{"hash-password"}, strings.NewReader(in), &out, &errOut); code != 1 || out.Len() != 0 {
			t.Errorf("%.10q: exit %d, stdout %q", in, code, out.String())
		}
	}
}
