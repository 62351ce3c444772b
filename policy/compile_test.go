package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestCompileCollectsAllProblems: one config with many faults reports
// every one of them as a *ConfigError.
func TestCompileCollectsAllProblems(t *testing.T) {
	secretHash := "$argon2id$v=19$m=65536,t=3,p=2$c2VjcmV0c2FsdA$tooshort"
	cfg := Config{
		Groups: []GroupConfig{
			{Name: "g", Permissions: []string{"list", "fly"}},
			{Name: "g"},
			{Name: "h", Rules: []RuleConfig{r("/a**"), r("relative", "list")}},
		},
		Users: []UserConfig{
			{Name: "alice", PasswordHash: secretHash, Groups: []string{"nogroup"}},
			{Name: "alice", PasswordHash: cheapHash(t, "x")},
			{Name: "bob", Permissions: []string{"teleport"}, Rules: []RuleConfig{r("/x", "list"), r("/x", "list"), r("/y", "dance")}},
			{Name: "carol", PasswordHash: cheapHash(t, "x"), AllowFrom: []netip.Prefix{{}}, QuotaBytes: -1},
			{Name: "dave", CertOnly: true},
			{Name: "erin", PasswordHash: cheapHash(t, "x"), ClientCertSubject: "O=corp", Home: "rel/home"},
			{Name: "", PasswordHash: cheapHash(t, "x")},
		},
		Anonymous: &AnonymousConfig{Permissions: []string{"list", "upload", "delete"}},
		Network:   NetworkConfig{DenyFrom: []netip.Prefix{{}}},
		Defender:  DefenderConfig{MaxFailures: -1, Ban: -1},
		LDAP:      &LDAPConfig{URL: "ldap://ldap.example.com", BindDNTemplate: "uid=x,dc=example", CAFile: "/nonexistent/ca.pem"},
	}
	_, err := Compile(cfg)
	if err == nil {
		t.Fatal("Compile accepted a broken config")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("not joined: %v", err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		var ce *ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("not a *ConfigError: %T", e)
		}
		got = append(got, ce.Error())
	}
	text := strings.Join(got, "\n")
	want := []string{
		`group "g": permissions: unknown permission "fly"`,
		`group "g": duplicate group name`,
		`group "h": rule "/a**": "**" must be a whole segment`,
		`group "h": rule "relative": rule path must start with /`,
		`user "alice": groups: unknown group "nogroup"`,
		`user "alice": password_hash: argon2id hash must be`,
		`user "alice": duplicate user name`,
		`user "bob": permissions: unknown permission "teleport"`,
		`user "bob": password_hash: missing`,
		`user "bob": rule "/x": duplicate rule path`,
		`user "bob": rule "/y": permissions: unknown permission "dance"`,
		`user "carol": allow_from: invalid CIDR`,
		`user "carol": quota: must not be negative`,
		`user "dave": cert_only: needs client_cert_subject`,
		`user "erin": client_cert_subject: want`,
		`user "erin": home: must be a clean absolute path`,
		`user: empty name`,
		`anonymous: permissions: anonymous access is read-only; remove [upload delete]`,
		`network: deny_from: invalid CIDR`,
		`defender: max_failures: must not be negative`,
		`defender: ban: must not be negative`,
		`auth "ldap": url: ldap:// without start_tls`,
		`auth "ldap": bind_dn_template: must contain {user} exactly once`,
		`auth "ldap": ca_file: read CA file`,
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing problem %q", w)
		}
	}
	if strings.Contains(text, "c2VjcmV0c2FsdA") {
		t.Error("an error quotes the password hash")
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), text)
	}
}

func TestParsePerms(t *testing.T) {
	p, err := ParsePerms([]string{"list", "download", "upload"})
	if err != nil || p != PermList|PermDownload|PermUpload {
		t.Fatalf("got %v %v", p, err)
	}
	if p, _ := ParsePerms([]string{"*"}); p != PermAll || p.String() != "[*]" {
		t.Fatalf("* = %v", p)
	}
	if p, _ := ParsePerms(nil); p != PermNone || p.String() != "[]" {
		t.Fatalf("nil = %v", p)
	}
	if _, err := ParsePerms([]string{"List"}); err == nil {
		t.Fatal("case-insensitive names accepted")
	}
	for _, e := range permNames {
		q, err := ParsePerms(e.perm.Names())
		if err != nil || q != e.perm || e.perm.String() != "["+e.name+"]" {
			t.Errorf("%s round trip: %v %v %q", e.name, q, err, e.perm.String())
		}
	}
	if s := (PermList | PermRmdir).String(); s != "[list rmdir]" {
		t.Fatalf("String = %q", s)
	}
}

func TestCheckConn(t *testing.T) {
	p := mustCompile(t, Config{Network: NetworkConfig{
		AllowFrom: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"),
			netip.MustParsePrefix("::ffff:192.0.2.0/120")},
		DenyFrom: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")},
	}})
	cases := []struct {
		addr   string
		want   bool
		reason string
	}{
		{"10.1.2.3", true, "network:allow_from 10.0.0.0/8"},
		{"::ffff:10.1.2.3", true, "network:allow_from 10.0.0.0/8"},
		{"10.9.1.1", false, "network:deny_from 10.9.0.0/16"},
		{"::ffff:10.9.1.1", false, "network:deny_from 10.9.0.0/16"},
		{"192.0.2.7", true, "network:allow_from 192.0.2.0/24"},
		{"11.0.0.1", false, "network:not in allow_from"},
		{"2001:db8::1", true, ""},
		{"2001:db9::1", false, ""},
		{"fe80::1%eth0", false, ""},
	}
	for _, c := range cases {
		d := p.CheckConn(netip.MustParseAddr(c.addr))
		if d.Allowed != c.want || (c.reason != "" && d.Reason != c.reason) {
			t.Errorf("%s: %+v, want %v %q", c.addr, d, c.want, c.reason)
		}
	}
	open := mustCompile(t, Config{Network: NetworkConfig{DenyFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}}})
	if !open.CheckConn(netip.MustParseAddr("127.0.0.1")).Allowed || open.CheckConn(netip.MustParseAddr("::ffff:127.0.0.3")).Allowed {
		t.Fatal("empty allow list: deny only")
	}
	if n := testing.AllocsPerRun(100, func() { p.CheckConn(netip.MustParseAddr("::ffff:10.1.2.3")) }); n != 0 {
		t.Fatalf("CheckConn allocates %v", n)
	}
}

func TestExplain(t *testing.T) {
	cfg := decideConfig(t)
	cfg.Network = NetworkConfig{DenyFrom: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	cfg.Users[0].AllowFrom = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	p := mustCompile(t, cfg)
	ex := p.Explain("alice", PermDownload, "/docs/a.txt", netip.Addr{})
	s := ex.String()
	for _, w := range []string{"rule:/docs/*.txt (user alice)", "rule:/docs/** (user alice)", "<- most specific", "verdict: allowed (rule:/docs/*.txt (user alice))"} {
		if !strings.Contains(s, w) {
			t.Errorf("explanation lacks %q:\n%s", w, s)
		}
	}
	if strings.Count(s, "<- most specific") != 1 {
		t.Errorf("one rule should win:\n%s", s)
	}
	if d := p.Decide(fileID("alice"), PermDownload, "/docs/a.txt"); ex.Decision != d {
		t.Errorf("Explain %+v != Decide %+v", ex.Decision, d)
	}
	ex = p.Explain("alice", PermList, "/hide/inside/x", netip.Addr{})
	if !ex.Decision.Hidden || !strings.Contains(ex.String(), "ancestor of the path is hidden by rule:/hide (user alice)") {
		t.Errorf("hidden ancestor:\n%s", ex)
	}
	ex = p.Explain("alice", PermList, "/", netip.MustParseAddr("192.0.2.1"))
	if ex.Decision.Allowed || ex.Decision.Reason != "network:deny_from 192.0.2.0/24" {
		t.Errorf("network deny:\n%s", ex)
	}
	ex = p.Explain("alice", PermList, "/", netip.MustParseAddr("172.16.0.1"))
	if ex.Decision.Allowed || !strings.Contains(ex.Decision.Reason, "allow_from") {
		t.Errorf("user allow_from:\n%s", ex)
	}
	ex = p.Explain("bob", PermUpload, "/x", netip.Addr{})
	if !ex.Decision.Allowed || !strings.Contains(ex.String(), "no rule matches: union of lists user [], group readers [list download], group writers [upload mkdir]") {
		t.Errorf("union:\n%s", ex)
	}
	ex = p.Explain("nobody", PermList, "/", netip.Addr{})
	if ex.Decision.Allowed || !strings.Contains(ex.String(), "ExplainIdentity") {
		t.Errorf("unknown:\n%s", ex)
	}
	ex = p.ExplainIdentity(&Identity{User: "l", Source: "ldap", Groups: []string{"writers"}}, PermUpload, "/drop/x", netip.Addr{})
	if !ex.Decision.Allowed || !strings.Contains(ex.String(), "rule:/drop/** (group writers)") {
		t.Errorf("ldap:\n%s", ex)
	}
}
