package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// fakeUpstream stands for the gateway's check against the storage: it
// knows one password per user and counts the checks.
type fakeUpstream struct {
	pw    map[string]string
	down  bool
	calls int
}

func (f *fakeUpstream) check(_ context.Context, backend, user, password string) error {
	f.calls++
	if backend != "mainframe" {
		return fmt.Errorf("asked backend %q", backend)
	}
	if f.down {
		return errors.New("connection refused")
	}
	if want, ok := f.pw[user]; !ok || want != password {
		return fmt.Errorf("upstream said 530: %w", fs.ErrPermission)
	}
	return nil
}

func upstreamPolicy(t *testing.T, uc UpstreamConfig) *Policy {
	t.Helper()
	return mustCompile(t, Config{
		Groups: []GroupConfig{{Name: "partners", Permissions: []string{"list", "download"},
			Rules: []RuleConfig{{Path: "/in/**", Permissions: []string{"list", "upload"}}}}},
		Users:    []UserConfig{{Name: "local", PasswordHash: cheapHash(t, "local-pw"), Backend: "files"}},
		Upstream: &uc,
	})
}

func TestUpstreamProvider(t *testing.T) {
	up := &fakeUpstream{pw: map[string]string{"ann": "ann-pw", "local": "upstream-pw"}}
	p := upstreamPolicy(t, UpstreamConfig{Backend: "mainframe", Home: "/{user}", Groups: []string{"partners"}})
	login := func(user, pw string) (*Identity, error) {
		return p.Authenticate(context.Background(), LoginRequest{User: user, Password: pw, Client: loopback, Upstream: up.check})
	}

	id, err := login("ann", "ann-pw")
	if err != nil {
		t.Fatal(err)
	}
	if id.Source != "upstream" || id.Backend != "mainframe" || id.Home != "/ann" || len(id.Groups) != 1 {
		t.Fatalf("identity = %+v", id)
	}
	// The groups' permissions and rules apply.
	if !p.Decide(id, PermDownload, "/x").Allowed || p.Decide(id, PermUpload, "/x").Allowed ||
		!p.Decide(id, PermUpload, "/in/f").Allowed {
		t.Error("upstream user does not get its groups' permissions and rules")
	}

	// Wrong and unknown are the same answer.
	for _, tc := range [][2]string{{"ann", "wrong"}, {"nobody", "x"}} {
		if _, err := login(tc[0], tc[1]); authReason(err) != ReasonBadPassword {
			t.Errorf("%s/%s: %v, want %s", tc[0], tc[1], err, ReasonBadPassword)
		}
	}
	// A file user is never checked upstream, even with the upstream's
	// password for the same name.
	calls := up.calls
	if _, err := login("local", "upstream-pw"); authReason(err) != ReasonBadPassword || up.calls != calls {
		t.Errorf("file user with the upstream password: %v (upstream asked %d times)", err, up.calls-calls)
	}

	// A success is cached: the upstream is asked once, and a different
	// password misses the cache.
	calls = up.calls
	if _, err := login("ann", "ann-pw"); err != nil || up.calls != calls {
		t.Errorf("cached login: %v, upstream asked %d times", err, up.calls-calls)
	}
	for k := range p.upstream.cache.m {
		if strings.Contains(string(k[:]), "ann-pw") {
			t.Fatal("cache key holds the password")
		}
	}
	up.down = true
	if _, err := login("ann", "other"); authReason(err) != ReasonUnavailable {
		t.Errorf("upstream down: %v, want %s", err, ReasonUnavailable)
	}
	p.upstream.cache.now = func() time.Time { return time.Now().Add(time.Minute) }
	if _, err := login("ann", "ann-pw"); authReason(err) != ReasonUnavailable {
		t.Errorf("expired cache entry used: %v", err)
	}

	// Without the gateway's check nothing logs in upstream.
	if _, err := p.Authenticate(context.Background(), LoginRequest{User: "bob", Password: "x", Client: loopback}); authReason(err) != ReasonUnavailable {
		t.Errorf("no authenticator: %v", err)
	}
}

func TestUpstreamConfigErrors(t *testing.T) {
	hash := cheapHash(t, "pw")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no backend", Config{Upstream: &UpstreamConfig{}}, "backend"},
		{"unknown group", Config{Upstream: &UpstreamConfig{Backend: "b", Groups: []string{"ghost"}}}, "ghost"},
		{"bad home", Config{Upstream: &UpstreamConfig{Backend: "b", Home: "x/../y"}}, "home"},
		{"long cache", Config{Upstream: &UpstreamConfig{Backend: "b", CacheTTL: 2 * time.Hour}}, "cache_ttl"},
		{"with ldap", Config{Upstream: &UpstreamConfig{Backend: "b"},
			LDAP: &LDAPConfig{URL: "ldaps://l", BindDNTemplate: "uid={user},dc=x", DefaultBackend: "b"}}, "only one of"},
	} {
		tc.cfg.Users = []UserConfig{{Name: "u", PasswordHash: hash, Backend: "b"}}
		if _, err := Compile(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}
