package policy

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func bcryptHash(t *testing.T, pw, prefix string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(b[4:])
}

func authReason(err error) string {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	if err == nil {
		return ""
	}
	return "not an AuthError: " + err.Error()
}

var (
	loopback = netip.MustParseAddr("127.0.0.1")
	tenNet   = netip.MustParsePrefix("10.0.0.0/8")
)

func authPolicy(t *testing.T) *Policy {
	return mustCompile(t, Config{
		Groups: []GroupConfig{{Name: "readers", Permissions: []string{"list", "download"}}},
		Users: []UserConfig{
			{Name: "argon", PasswordHash: cheapHash(t, "s3cret-argon"), Groups: []string{"readers"}, Backend: "files", Home: "/argon"},
			{Name: "bc2a", PasswordHash: bcryptHash(t, "s3cret-bcrypt", "$2a$")},
			{Name: "bc2b", PasswordHash: bcryptHash(t, "s3cret-bcrypt", "$2b$")},
			{Name: "bc2y", PasswordHash: bcryptHash(t, "s3cret-bcrypt", "$2y$")},
			{Name: "long", PasswordHash: bcryptHash(t, strings.Repeat("x", 72), "$2b$")},
			{Name: "net", PasswordHash: cheapHash(t, "pw"), AllowFrom: []netip.Prefix{tenNet}},
			{Name: "certpw", PasswordHash: cheapHash(t, "pw"), ClientCertSubject: "CN=certpw"},
			{Name: "certdns", ClientCertSubject: "DNS:host.example.com", CertOnly: true},
			{Name: "certmail", ClientCertSubject: "email:ops@example.com", CertOnly: true},
		},
		Anonymous: &AnonymousConfig{Backend: "pub", Permissions: []string{"list", "download"}},
	})
}

func TestAuthenticateHashes(t *testing.T) {
	p := authPolicy(t)
	ctx := context.Background()
	cases := []struct {
		user, pw string
		reason   string // "" : success
	}{
		{"argon", "s3cret-argon", ""},
		{"argon", "s3cret-argoN", ReasonBadPassword},
		{"argon", "", ReasonBadPassword},
		{"bc2a", "s3cret-bcrypt", ""},
		{"bc2b", "s3cret-bcrypt", ""},
		{"bc2y", "s3cret-bcrypt", ""},
		{"bc2b", "s3cret-bcryp", ReasonBadPassword},
		{"bc2b", "", ReasonBadPassword},
		{"long", strings.Repeat("x", 72), ""},
		{"long", strings.Repeat("x", 73), ReasonBadPassword}, // no silent truncation
		{"nobody", "whatever", ReasonUnknownUser},
		{"nobody", "", ReasonBadPassword},
		{"argon", strings.Repeat("p", maxPasswordLen+1), ReasonBadPassword},
		{"anonymous", "guest@example.com", ""},
		{"ftp", "", ""},
	}
	for _, c := range cases {
		id, err := p.Authenticate(ctx, LoginRequest{User: c.user, Password: c.pw, Client: loopback})
		if got := authReason(err); got != c.reason {
			t.Errorf("%s/%q: reason %q, want %q", c.user, c.pw, got, c.reason)
		}
		if err != nil && c.pw != "" && strings.Contains(err.Error(), c.pw) {
			t.Errorf("%s: error text contains the password: %v", c.user, err)
		}
		if (err == nil) != (id != nil) {
			t.Errorf("%s: id %v with err %v", c.user, id, err)
		}
	}
	id, err := p.Authenticate(ctx, LoginRequest{User: "argon", Password: "s3cret-argon", Client: loopback})
	if err != nil {
		t.Fatal(err)
	}
	if id.Source != "file" || id.Backend != "files" || id.Home != "/argon" || len(id.Groups) != 1 || id.Groups[0] != "readers" {
		t.Fatalf("identity %+v", id)
	}
	id, err = p.Authenticate(ctx, LoginRequest{User: "anonymous", Password: "x", Client: loopback})
	if err != nil || id.Source != "anonymous" || id.Backend != "pub" || id.Home != "/" {
		t.Fatalf("anonymous: %+v %v", id, err)
	}
}

// TestAuthenticateUnknownUserHashes checks timing parity structurally:
// an unknown user runs exactly one verification, against a dummy hash of
// the default cost, like a known user does.
func TestAuthenticateUnknownUserHashes(t *testing.T) {
	p := authPolicy(t)
	if d := p.dummy; d.kind != hashArgon2id || d.memory != argonMemoryKiB || d.time != argonTime ||
		d.threads != argonThreads || len(d.key) != argonKeyLen {
		t.Fatalf("dummy hash is not of the default cost: %+v", d)
	}
	before := p.hashRuns.Load()
	_, err := p.Authenticate(context.Background(), LoginRequest{User: "nobody", Password: "guess", Client: loopback})
	if authReason(err) != ReasonUnknownUser {
		t.Fatalf("got %v", err)
	}
	if n := p.hashRuns.Load() - before; n != 1 {
		t.Fatalf("unknown user ran %d verifications, want 1", n)
	}
	before = p.hashRuns.Load()
	_, _ = p.Authenticate(context.Background(), LoginRequest{User: "argon", Password: "guess", Client: loopback})
	if n := p.hashRuns.Load() - before; n != 1 {
		t.Fatalf("known user ran %d verifications, want 1", n)
	}
}

func TestAuthenticateAllowFrom(t *testing.T) {
	p := authPolicy(t)
	cases := []struct {
		pw, from string
		reason   string
	}{
		{"pw", "10.1.2.3", ""},
		{"pw", "::ffff:10.1.2.3", ""},
		{"pw", "192.168.1.1", ReasonDeniedNetwork},
		{"pw", "::1", ReasonDeniedNetwork},
		{"wrong", "192.168.1.1", ReasonDeniedNetwork},
		{"wrong", "10.1.2.3", ReasonBadPassword},
	}
	for _, c := range cases {
		_, err := p.Authenticate(context.Background(), LoginRequest{User: "net", Password: c.pw, Client: netip.MustParseAddr(c.from)})
		if got := authReason(err); got != c.reason {
			t.Errorf("from %s pw %q: %q, want %q", c.from, c.pw, got, c.reason)
		}
	}
}

func TestAuthenticateCertificates(t *testing.T) {
	p := authPolicy(t)
	cn := &x509.Certificate{Subject: pkix.Name{CommonName: "certpw"}}
	cnOther := &x509.Certificate{Subject: pkix.Name{CommonName: "certpw2"}}
	dns := &x509.Certificate{Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"other", "HOST.example.com"}}
	mail := &x509.Certificate{EmailAddresses: []string{"ops@example.com"}}
	cases := []struct {
		user, pw string
		certs    []*x509.Certificate
		reason   string
	}{
		{"certpw", "pw", []*x509.Certificate{cn}, ""},
		{"certpw", "wrong", []*x509.Certificate{cn}, ReasonBadPassword},
		{"certpw", "pw", nil, ReasonCertificate},
		{"certpw", "pw", []*x509.Certificate{cnOther}, ReasonCertificate},
		{"certdns", "", []*x509.Certificate{dns}, ""},
		{"certdns", "ignored", []*x509.Certificate{dns}, ""},
		{"certdns", "", []*x509.Certificate{cn}, ReasonCertificate},
		{"certdns", "", nil, ReasonCertificate},
		{"certmail", "", []*x509.Certificate{mail}, ""},
		{"certmail", "", []*x509.Certificate{dns}, ReasonCertificate},
	}
	for _, c := range cases {
		_, err := p.Authenticate(context.Background(), LoginRequest{User: c.user, Password: c.pw, Client: loopback, PeerCertificates: c.certs})
		if got := authReason(err); got != c.reason {
			t.Errorf("%s %q: %q, want %q", c.user, c.pw, got, c.reason)
		}
	}
}

func TestAuthenticateHashSlotsHonourContext(t *testing.T) {
	p := authPolicy(t)
	for range cap(p.hashSlots) {
		p.hashSlots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Authenticate(ctx, LoginRequest{User: "argon", Password: "s3cret-argon", Client: loopback})
	if authReason(err) != ReasonUnavailable {
		t.Fatalf("got %v", err)
	}
}

func TestHashPassword(t *testing.T) {
	if _, err := HashPassword(""); err == nil {
		t.Fatal("empty password hashed")
	}
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q", h)
	}
	ph, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !ph.verify("correct horse") || ph.verify("correct horsE") {
		t.Fatal("round trip failed")
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("salt not random")
	}
}

func TestParseHashRejects(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=65536,t=0,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=2$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaA",
		"$2b$04$short", "$2x$04$" + strings.Repeat("a", 53), "$1$abc$def",
	} {
		if _, err := parseHash(h); err == nil {
			t.Errorf("parseHash(%q) accepted", h)
		}
	}
}

// TestVerifiedPasswordCache: a file user's right password is hashed once
// and then found verified (until the TTL, a reload or a ban); a wrong
// password always costs a full hash; allow_from is checked every time;
// the cache key holds no password.
func TestVerifiedPasswordCache(t *testing.T) {
	p := authPolicy(t)
	ctx := context.Background()
	login := func(user, pw, from string) (int64, error) {
		before := p.hashRuns.Load()
		_, err := p.Authenticate(ctx, LoginRequest{User: user, Password: pw, Client: netip.MustParseAddr(from)})
		return p.hashRuns.Load() - before, err
	}
	if n, err := login("argon", "s3cret-argon", "127.0.0.1"); err != nil || n != 1 {
		t.Fatalf("first login: %d hashes, %v", n, err)
	}
	if n, err := login("argon", "s3cret-argon", "127.0.0.1"); err != nil || n != 0 {
		t.Fatalf("second login: %d hashes, %v; want 0 (verified)", n, err)
	}
	for k := range p.verified.m {
		if strings.Contains(string(k[:]), "s3cret-argon") {
			t.Fatal("cache key holds the password")
		}
	}
	if n, err := login("argon", "wrong", "127.0.0.1"); authReason(err) != ReasonBadPassword || n != 1 {
		t.Fatalf("wrong password: %d hashes, %v", n, err)
	}
	// A cached password does not get past allow_from.
	if _, err := login("net", "pw", "10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	if n, err := login("net", "pw", "192.0.2.1"); authReason(err) != ReasonDeniedNetwork || n != 0 {
		t.Fatalf("cached password from a denied network: %d hashes, %v", n, err)
	}
	// A ban forgets everything.
	p.ForgetVerified()
	if n, _ := login("argon", "s3cret-argon", "127.0.0.1"); n != 1 {
		t.Fatalf("after ForgetVerified: %d hashes, want 1", n)
	}
	// The TTL ends it.
	p.verified.now = func() time.Time { return time.Now().Add(verifiedTTL + time.Second) }
	if n, _ := login("argon", "s3cret-argon", "127.0.0.1"); n != 1 {
		t.Fatalf("after the TTL: %d hashes, want 1", n)
	}
	// A new snapshot (a reload, a changed hash) starts empty.
	q := authPolicy(t)
	before := q.hashRuns.Load()
	q.Authenticate(ctx, LoginRequest{User: "argon", Password: "s3cret-argon", Client: loopback})
	if q.hashRuns.Load()-before != 1 {
		t.Fatal("a new snapshot shares the old one's cache")
	}
}
