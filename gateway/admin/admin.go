package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/policy"
)

// ReloadResult is the outcome of a config reload.
type ReloadResult struct {
	OK       bool     `json:"ok"`
	Error    string   `json:"error,omitempty"`
	Problems []string `json:"problems,omitempty"` // "file:line: message"
}

// BackendHealth is one readiness probe's result.
type BackendHealth struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Ban is one ban in force.
type Ban struct {
	Client   string    `json:"client"`
	Until    time.Time `json:"until"`
	Offences int       `json:"offences"`
}

// Ops is what the admin API acts on; cmd/ftpsgw wires it to the daemon.
type Ops struct {
	Sessions func() []gateway.SessionInfo
	Kick     func(id string) bool
	Bans     func() []policy.Ban
	Unban    func(netip.Addr) bool
	Reload   func() ReloadResult
	Drain    func()
	Backends func(ctx context.Context) []BackendHealth
}

// Handler serves the admin API and the sessions page.
type Handler struct {
	digest [32]byte // SHA-256 of the token; zero: no token is accepted
	// certs: a verified client certificate authenticates a request (the
	// listener verifies it against the admin client CA).
	certs  bool
	ops    Ops
	log    hclog.Logger
	mux    *http.ServeMux
	logins webLogins
}

// New returns a handler accepting the token whose SHA-256 is digest.
func New(digest [32]byte, ops Ops, log hclog.Logger) *Handler {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	h := &Handler{digest: digest, ops: ops, log: log, mux: http.NewServeMux()}
	h.routes()
	return h
}

// ParseTokenSHA256 decodes a hex SHA-256 digest.
func ParseTokenSHA256(s string) ([32]byte, error) {
	var d [32]byte
	s = strings.TrimSpace(s)
	if len(s) != 64 {
		return d, errors.New("want 64 hex digits")
	}
	for i := range 32 {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return d, errors.New("want 64 hex digits")
		}
		d[i] = hi<<4 | lo
	}
	return d, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// TrustClientCertificates makes a verified client certificate
// authenticate a request, as the bearer token does: mutual TLS. The
// listener must verify certificates against the operators' CA
// (tls.VerifyClientCertIfGiven or stricter, with ClientCAs).
func (h *Handler) TrustClientCertificates() { h.certs = true }

// authOK reports whether r carries the token or, with
// TrustClientCertificates, a verified client certificate.
func (h *Handler) authOK(r *http.Request) bool {
	return h.tokenOK(bearer(r)) || h.certOK(r)
}

// certOK reports a verified client certificate on r, when trusted.
func (h *Handler) certOK(r *http.Request) bool {
	return h.certs && r.TLS != nil && len(r.TLS.VerifiedChains) > 0
}

// tokenOK compares the SHA-256 of tok with the configured digest in
// constant time.
func (h *Handler) tokenOK(tok string) bool {
	if tok == "" || h.digest == ([32]byte{}) {
		return false
	}
	d := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(d[:], h.digest[:]) == 1
}

// methods maps an HTTP method to its handler on one route.
type methods = map[string]http.HandlerFunc

// api serves pattern behind authentication, with one handler per method.
func (h *Handler) api(pattern string, ms methods) {
	allow := make([]string, 0, len(ms))
	for k := range ms {
		allow = append(allow, k)
	}
	slices.Sort(allow)
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		// Authentication first: without the token, nothing about the
		// API (not even which methods exist) is revealed.
		if !h.authOK(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ftpsgw"`)
			writeErr(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		fn, ok := ms[r.Method]
		if !ok {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeErr(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		fn(w, r)
	})
}

func (h *Handler) routes() {
	h.api("/api/v1/sessions", methods{"GET": h.getSessions})
	h.api("/api/v1/sessions/{id}", methods{"DELETE": h.deleteSession})
	h.api("/api/v1/bans", methods{"GET": h.getBans})
	h.api("/api/v1/bans/{addr}", methods{"DELETE": h.deleteBan})
	h.api("/api/v1/reload", methods{"POST": h.postReload})
	h.api("/api/v1/drain", methods{"POST": h.postDrain})
	h.api("/api/v1/backends", methods{"GET": h.getBackends})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !h.authOK(r) {
			writeErr(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		writeErr(w, http.StatusNotFound, "not found")
	})
	h.pageRoutes()
}

// bearer returns the request's bearer token, if any.
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// ServeHTTP logs one audit line per request and dispatches it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	sw.Header().Set("Cache-Control", "no-store")
	sw.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(sw, r)
	// r.URL.Path only: a query string could carry a login token.
	h.log.Info("admin request", "method", r.Method, "path", r.URL.Path, "status", sw.code,
		"remote_addr", r.RemoteAddr, "authenticated", sw.code != http.StatusUnauthorized, "client_cert", certName(r),
		"duration", time.Since(start).Round(time.Microsecond).String())
}

// certName is the subject of r's verified client certificate, or "".
func certName(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.String()
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeErr sends a stable error body: {"error": "..."}.
func writeErr(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (h *Handler) getSessions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"sessions": h.ops.Sessions()})
}

func (h *Handler) deleteSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.ops.Kick(id) {
		writeErr(w, http.StatusNotFound, "no such session")
		return
	}
	h.log.Warn("session kicked", "conn_id", id, "remote_addr", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"kicked": id})
}

func (h *Handler) bans() []Ban {
	out := []Ban{}
	for _, b := range h.ops.Bans() {
		out = append(out, Ban{Client: b.Client.String(), Until: b.Until.UTC(), Offences: b.Offences})
	}
	return out
}

func (h *Handler) getBans(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"bans": h.bans()})
}

func (h *Handler) deleteBan(w http.ResponseWriter, r *http.Request) {
	a, err := netip.ParseAddr(r.PathValue("addr"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "bad address")
		return
	}
	if !h.ops.Unban(a) {
		writeErr(w, http.StatusNotFound, "no such ban")
		return
	}
	h.log.Warn("ban lifted", "client", a.String(), "remote_addr", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"unbanned": a.String()})
}

func (h *Handler) postReload(w http.ResponseWriter, r *http.Request) {
	res := h.ops.Reload()
	code := http.StatusOK
	if !res.OK {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, res)
}

func (h *Handler) postDrain(w http.ResponseWriter, r *http.Request) {
	h.ops.Drain()
	writeJSON(w, http.StatusAccepted, map[string]any{"draining": true})
}

func (h *Handler) getBackends(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"backends": h.ops.Backends(r.Context())})
}
