package admin

// page.go: the /sessions page. A browser gets a cookie by presenting the
// token once (POST /sessions/login, or GET /sessions/login?token= for a
// one-time login link); the cookie names a server-side login that holds a
// CSRF token, which the kick form must carry.

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"
)

const (
	cookieName  = "ftpsgw_admin"
	loginTTL    = 8 * time.Hour
	maxLogins   = 64
	refreshSecs = 2
)

// pageStyle and pageScript are inline; the CSP names their hashes.
const pageStyle = `body{font:14px system-ui,sans-serif;margin:1em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}.bad{color:#b00}.ok{color:#070}progress{width:8em}`

const pageScript = `document.querySelectorAll("form.kick").forEach(function(f){f.addEventListener("submit",function(e){if(!confirm("Close session "+f.elements.id.value+"?")){e.preventDefault()}})})`

func cspHash(s string) string {
	d := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(d[:]) + "'"
}

var csp = "default-src 'none'; style-src " + cspHash(pageStyle) + "; script-src " + cspHash(pageScript) +
	"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// webLogins are the browser logins; guarded by mu.
type webLogins struct {
	mu sync.Mutex
	m  map[string]webLogin // cookie value -> login
}

type webLogin struct {
	csrf    string
	expires time.Time
}

func randToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (l *webLogins) add() (cookie string, wl webLogin) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]webLogin)
	}
	now := time.Now()
	for k, v := range l.m {
		if now.After(v.expires) || len(l.m) >= maxLogins {
			delete(l.m, k)
		}
	}
	cookie, wl = randToken(), webLogin{csrf: randToken(), expires: now.Add(loginTTL)}
	l.m[cookie] = wl
	return cookie, wl
}

func (l *webLogins) get(r *http.Request) (webLogin, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return webLogin{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	wl, ok := l.m[c.Value]
	if !ok || time.Now().After(wl.expires) {
		return webLogin{}, false
	}
	return wl, true
}

func (h *Handler) pageRoutes() {
	h.mux.HandleFunc("GET /sessions/login", h.loginPage)
	h.mux.HandleFunc("POST /sessions/login", h.loginPage)
	h.mux.HandleFunc("GET /sessions", h.sessionsPage)
	h.mux.HandleFunc("POST /sessions/kick", h.kickForm)
}

// loginPage exchanges the token (form field or one-time ?token=) for a
// cookie; without a token it shows the login form.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	tok := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		tok = r.PostFormValue("token")
	}
	if tok == "" && !h.certOK(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		loginTmpl.Execute(w, nil)
		return
	}
	if !h.tokenOK(tok) && !h.certOK(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		loginTmpl.Execute(w, map[string]bool{"Failed": true})
		return
	}
	cookie, _ := h.logins.add()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: cookie, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(loginTTL.Seconds())})
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

type pageData struct {
	Now      string
	Refresh  int
	CSRF     string
	Sessions []pageSession
	Bans     []Ban
	Backends []BackendHealth
	Style    template.CSS
	Script   template.JS
	Kicked   string
}

type pageSession struct {
	ID, User, Client, TLS, Cwd, Last, Idle string
	Xfer                                   bool
	Dir, Path, Bytes, Rate                 string
	BytesN                                 int64
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	wl, ok := h.logins.get(r)
	if !ok {
		http.Redirect(w, r, "/sessions/login", http.StatusSeeOther)
		return
	}
	d := pageData{Now: time.Now().UTC().Format(time.RFC3339), Refresh: refreshSecs, CSRF: wl.csrf,
		Bans: h.bans(), Backends: h.ops.Backends(r.Context()),
		Style: template.CSS(pageStyle), Script: template.JS(pageScript), Kicked: r.URL.Query().Get("kicked")}
	for _, s := range h.ops.Sessions() {
		ps := pageSession{ID: s.ID, User: s.User, Client: s.Client, Cwd: s.Cwd, Last: s.LastCommand,
			Idle: fmt.Sprintf("%.0fs", s.IdleSeconds)}
		if s.TLSVersion != "" {
			ps.TLS = s.TLSVersion + " " + s.TLSCipher
		}
		if x := s.Transfer; x != nil {
			ps.Xfer, ps.Dir, ps.Path, ps.BytesN = true, x.Direction, x.Path, x.Bytes
			ps.Bytes = fmt.Sprintf("%d", x.Bytes)
			ps.Rate = fmt.Sprintf("%.1f KiB/s", x.BytesPerSec/1024)
		}
		d.Sessions = append(d.Sessions, ps)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, d); err != nil {
		h.log.Warn("sessions page render failed", "error", err)
	}
}

// kickForm closes a session from the page; it needs the login cookie and
// the login's CSRF token.
func (h *Handler) kickForm(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	wl, ok := h.logins.get(r)
	if !ok {
		writeErr(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(wl.csrf)) != 1 {
		writeErr(w, http.StatusForbidden, "bad csrf token")
		return
	}
	id := r.PostFormValue("id")
	if !h.ops.Kick(id) {
		writeErr(w, http.StatusNotFound, "no such session")
		return
	}
	h.log.Warn("session kicked", "conn_id", id, "remote_addr", r.RemoteAddr, "via", "page")
	http.Redirect(w, r, "/sessions?kicked="+id, http.StatusSeeOther)
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>ftpsgw admin login</title></head><body>
{{if .}}<p>Wrong token.</p>{{end}}
<form method="post" action="/sessions/login"><label>Token <input type="password" name="token" autocomplete="off"></label> <button>Log in</button></form>
</body></html>`))

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="{{.Refresh}}">
<title>ftpsgw sessions</title><style>{{.Style}}</style></head><body>
<h1>ftpsgw sessions</h1><p>{{.Now}}{{if .Kicked}} · closed session {{.Kicked}}{{end}}</p>
<h2>Sessions ({{len .Sessions}})</h2>
<table id="sessions"><tr><th>ID</th><th>User</th><th>Client</th><th>TLS</th><th>Directory</th><th>Last command</th><th>Idle</th><th>Transfer</th><th></th></tr>
{{range .Sessions}}<tr class="session" data-id="{{.ID}}"><td>{{.ID}}</td><td class="user">{{.User}}</td><td>{{.Client}}</td><td>{{.TLS}}</td><td>{{.Cwd}}</td><td>{{.Last}}</td><td>{{.Idle}}</td>
<td class="transfer">{{if .Xfer}}{{.Dir}} {{.Path}}: <span class="bytes">{{.Bytes}}</span> bytes, {{.Rate}} <progress></progress>{{end}}</td>
<td><form class="kick" method="post" action="/sessions/kick"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button>Kick</button></form></td></tr>
{{end}}</table>
<h2>Bans ({{len .Bans}})</h2>
<table id="bans"><tr><th>Client</th><th>Until</th><th>Offences</th></tr>
{{range .Bans}}<tr><td>{{.Client}}</td><td>{{.Until.Format "2006-01-02 15:04:05Z07:00"}}</td><td>{{.Offences}}</td></tr>{{end}}</table>
<h2>Backends</h2>
<table id="backends"><tr><th>Check</th><th>Health</th></tr>
{{range .Backends}}<tr><td>{{.Name}}</td>{{if .OK}}<td class="ok">ok</td>{{else}}<td class="bad">{{.Error}}</td>{{end}}</tr>{{end}}</table>
<script>{{.Script}}</script>
</body></html>`))
