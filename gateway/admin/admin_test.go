package admin

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/policy"
)

func testHandler(t *testing.T, logs *strings.Builder) *Handler {
	ops := Ops{
		Sessions: func() []gateway.SessionInfo { return []gateway.SessionInfo{{ID: "1-a", User: "alice"}} },
		Kick:     func(id string) bool { return id == "1-a" },
		Bans:     func() []policy.Ban { return nil },
		Unban:    func(netip.Addr) bool { return false },
		Reload:   func() ReloadResult { return ReloadResult{Problems: []string{"f.hcl:3: bad"}} },
		Drain:    func() {},
		Backends: func(context.Context) []BackendHealth { return nil },
	}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, JSONFormat: true})
	return New(sha256.Sum256([]byte("secret-token-123456")), ops, log)
}

func TestAPIStatusCodes(t *testing.T) {
	var logs strings.Builder
	h := testHandler(t, &logs)
	tests := []struct {
		method, path, token string
		code                int
		body                string
	}{
		{"GET", "/api/v1/sessions", "", 401, `"error": "unauthorized"`},
		{"GET", "/api/v1/sessions", "secret-token-123456x", 401, `"error": "unauthorized"`},
		{"POST", "/api/v1/sessions", "", 401, `"unauthorized"`},
		{"POST", "/api/v1/sessions", "secret-token-123456", 405, `"method not allowed"`},
		{"GET", "/api/v1/sessions", "secret-token-123456", 200, `"alice"`},
		{"DELETE", "/api/v1/sessions/nope", "secret-token-123456", 404, `"no such session"`},
		{"DELETE", "/api/v1/sessions/1-a", "secret-token-123456", 200, `"kicked"`},
		{"DELETE", "/api/v1/bans/x", "secret-token-123456", 400, `"bad address"`},
		{"DELETE", "/api/v1/bans/10.0.0.1", "secret-token-123456", 404, `"no such ban"`},
		{"POST", "/api/v1/reload", "secret-token-123456", 422, `f.hcl:3: bad`},
		{"GET", "/api/v2/x", "secret-token-123456", 404, `"not found"`},
		{"GET", "/sessions", "", 303, ``},
		{"GET", "/sessions/login?token=wrong", "", 401, `Wrong token`},
		{"POST", "/sessions/kick", "", 401, `"unauthorized"`},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.token != "" {
			r.Header.Set("Authorization", "Bearer "+tc.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, w.Code, w.Body, tc.code, tc.body)
		}
	}
	if n := strings.Count(logs.String(), `"admin request"`); n != len(tests) {
		t.Errorf("%d audit lines for %d requests", n, len(tests))
	}
	if strings.Contains(logs.String(), "secret-token") || strings.Contains(logs.String(), "wrong") {
		t.Error("a token reached the log")
	}
}

func TestPageHeadersAndLogin(t *testing.T) {
	var logs strings.Builder
	h := testHandler(t, &logs)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/sessions/login?token=secret-token-123456", nil))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", w.Code)
	}
	c := w.Result().Cookies()[0]
	r := httptest.NewRequest("GET", "/sessions", nil)
	r.AddCookie(c)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	csp := w.Header().Get("Content-Security-Policy")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "alice") || !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("page: %d csp %q\n%s", w.Code, csp, w.Body)
	}
	if !strings.Contains(w.Body.String(), "<style>"+pageStyle+"</style>") || !strings.Contains(w.Body.String(), "<script>"+pageScript+"</script>") {
		t.Error("inline style or script is not byte-for-byte what the CSP hashes")
	}
}

func TestParseTokenSHA256(t *testing.T) {
	if _, err := ParseTokenSHA256(strings.Repeat("a", 64)); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 65)} {
		if _, err := ParseTokenSHA256(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
