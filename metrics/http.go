package metrics

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Timeouts of the metrics listener. Scrapes are small; anything slower is
// a stuck or hostile client.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 8 << 10
	scrapeTimeout     = 20 * time.Second // promhttp gathering budget, < writeTimeout
	readyTimeout      = 5 * time.Second  // all readiness checks together
	maxPasswordBytes  = 1024
)

// httpState is the listener side of Metrics.
type httpState struct {
	authUser [sha256.Size]byte // SHA-256 of the user name; compared in constant time
	authPass [sha256.Size]byte
	auth     bool
	tlsCert  *tls.Certificate

	mu     sync.Mutex
	server *http.Server
	closed bool
}

func (h *httpState) load(cfg Config) error {
	if cfg.BasicAuthUser != "" || cfg.BasicAuthPasswordFile != "" {
		if cfg.BasicAuthUser == "" || cfg.BasicAuthPasswordFile == "" {
			return errors.New("metrics: basic auth needs both a user and a password file")
		}
		pw, err := readSecretLine(cfg.BasicAuthPasswordFile)
		if err != nil {
			return fmt.Errorf("metrics: basic auth password file: %w", err)
		}
		h.auth = true
		h.authUser = sha256.Sum256([]byte(cfg.BasicAuthUser))
		h.authPass = sha256.Sum256([]byte(pw))
	}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
			return errors.New("metrics: TLS needs both a certificate and a key file")
		}
		if err := checkPrivate(cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("metrics: TLS key file: %w", err)
		}
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("metrics: TLS key pair: %w", err)
		}
		h.tlsCert = &cert
	}
	return nil
}

// checkPrivate refuses a secret file that others may read or write.
func checkPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return fmt.Errorf("%s is accessible to others (mode %v); chmod o-rwx", path, fi.Mode().Perm())
	}
	return nil
}

// readSecretLine returns the first line of a private file, without its
// line ending. An empty password is refused.
func readSecretLine(path string) (string, error) {
	if err := checkPrivate(path); err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, maxPasswordBytes)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("%s: empty password", path)
	}
	return line, nil
}

// readyCheck is one named readiness condition.
type readyCheck struct {
	name string
	fn   func(context.Context) error
}

// AddReadyCheck registers a readiness condition for /readyz, such as
// "listeners", "certificates" or "backend:files". fn must honour ctx; it is
// called on every /readyz request, concurrently with the other checks. A
// second check with the same name replaces the first.
func (m *Metrics) AddReadyCheck(name string, fn func(ctx context.Context) error) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	for i := range m.ready {
		if m.ready[i].name == name {
			m.ready[i].fn = fn
			return
		}
	}
	m.ready = append(m.ready, readyCheck{name: name, fn: fn})
}

// checkResult is one readiness check's outcome.
type checkResult struct {
	name string
	err  error
}

// runChecks runs every readiness check concurrently under one deadline and
// returns their outcomes sorted by name. Failures are logged with their
// error; backend checks also set ftpsgw_backend_up.
func (m *Metrics) runChecks(ctx context.Context) []checkResult {
	m.readyMu.Lock()
	checks := append([]readyCheck(nil), m.ready...)
	m.readyMu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	out := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = checkResult{name: c.name, err: runCheck(ctx, c.fn)}
		}()
	}
	wg.Wait()
	for _, r := range out {
		if r.err != nil {
			m.logger.Warn("readiness check failed", "check", r.name, "error", r.err)
		}
		if name, ok := strings.CutPrefix(r.name, "backend:"); ok {
			m.setBackendUp(name, r.err == nil)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// errClass names the kind of a failed check's error from a fixed set, so
// /readyz says why without echoing error text (addresses, paths).
func errClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, backend.ErrUnavailable):
		return "unreachable"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, backend.ErrNoSpace):
		return "no space"
	case errors.Is(err, fs.ErrNotExist):
		return "not found"
	}
	return "failed"
}

// readyBody renders /readyz: "ok" or "not ready: NAMES", then one line per
// check, "NAME up" or "NAME down: CLASS".
func readyBody(results []checkResult) (string, bool) {
	var failed []string
	var lines strings.Builder
	for _, r := range results {
		if r.err != nil {
			failed = append(failed, r.name)
			fmt.Fprintf(&lines, "%s down: %s\n", r.name, errClass(r.err))
			continue
		}
		fmt.Fprintf(&lines, "%s up\n", r.name)
	}
	if len(failed) > 0 {
		return "not ready: " + strings.Join(failed, " ") + "\n" + lines.String(), false
	}
	return "ok\n" + lines.String(), true
}

// runCheck calls fn, turning a panic into an error and a check that ignores
// its context into a timeout (its goroutine is left to finish on its own).
func runCheck(ctx context.Context, fn func(context.Context) error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("check panicked: %v", r)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Handler returns the HTTP handler of the metrics listener: /metrics (the
// private registry), /healthz (200 while the process runs) and /readyz (200
// when every readiness check passes, else 503 listing the failing names).
// With basic auth configured, /metrics and /readyz require it; /healthz
// never does, so liveness probes need no secret.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.requireAuth(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            hclogAdapter{m},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             scrapeTimeout,
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.Handle("GET /readyz", m.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readyBody(m.runChecks(r.Context()))
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		plain(w, code, body)
	})))
	return mux
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// requireAuth enforces basic auth when configured. User and password are
// compared as SHA-256 digests in constant time, so neither their content
// nor their length leaks through timing.
func (m *Metrics) requireAuth(next http.Handler) http.Handler {
	if !m.http.auth {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		u := sha256.Sum256([]byte(user))
		p := sha256.Sum256([]byte(pass))
		userOK := subtle.ConstantTimeCompare(u[:], m.http.authUser[:])
		passOK := subtle.ConstantTimeCompare(p[:], m.http.authPass[:])
		if !ok || userOK&passOK != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="ftpsgw metrics", charset="UTF-8"`)
			plain(w, http.StatusUnauthorized, "unauthorized\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Serve serves Handler on ln (over TLS when configured) until Shutdown,
// like http.Server.Serve: it returns http.ErrServerClosed after Shutdown,
// and closes ln.
func (m *Metrics) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           m.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          m.logger.StandardLogger(&hclogStdOpts),
	}
	if m.http.tlsCert != nil {
		srv.TLSConfig = &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{*m.http.tlsCert},
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	m.http.mu.Lock()
	if m.http.closed {
		m.http.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	if m.http.server != nil {
		m.http.mu.Unlock()
		ln.Close()
		return errors.New("metrics: Serve called twice")
	}
	m.http.server = srv
	m.http.mu.Unlock()
	return srv.Serve(ln)
}

// Shutdown stops the listener gracefully: no new connections, in-flight
// scrapes finish until ctx ends. Serve calls after Shutdown fail at once.
func (m *Metrics) Shutdown(ctx context.Context) error {
	m.http.mu.Lock()
	m.http.closed = true
	srv := m.http.server
	m.http.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}
