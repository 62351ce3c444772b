package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumDOM loads u in headless Chromium and returns the rendered DOM
// and the browser's console output (CSP violations land there).
func chromiumDOM(t *testing.T, bin, u string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--enable-logging=stderr", "--v=0", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=1000", "--dump-dom", u)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out), stderr.String()
}

func findChromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return requireTool(t, "chromium")
}

var bytesRE = regexp.MustCompile(`<span class="bytes">(\d+)</span>`)

// TestAdminSessionsPageChromium: the /sessions page, rendered by headless
// Chromium during a real upload, shows the user, the transfer and a byte
// count that moves; it passes its own CSP; its kick form needs the CSRF
// token and gives the FTP client 421.
func TestAdminSessionsPageChromium(t *testing.T) {
	chrome := findChromium(t)
	g, base, _ := adminGateway(t)
	id, up := startSlowUpload(t, g, base)
	login := base + "/sessions/login?token=" + url.QueryEscape(adminTestToken)

	dom1, console := chromiumDOM(t, chrome, login)
	for _, want := range []string{"ftpsgw sessions", ">alice<", "upload /big.bin", `class="kick"`, "127.0.0.1", "TLS"} {
		if !strings.Contains(dom1, want) {
			t.Errorf("DOM lacks %q:\n%s", want, dom1)
		}
	}
	if strings.Contains(console, "Content Security Policy") || strings.Contains(console, "Refused to") {
		t.Errorf("CSP violation in the page:\n%s", console)
	}
	if shot := os.Getenv("FTPSGW_SCREENSHOT"); shot != "" {
		screenshot(t, chrome, login, shot)
	}
	time.Sleep(700 * time.Millisecond)
	dom2, _ := chromiumDOM(t, chrome, login)
	m1, m2 := bytesRE.FindStringSubmatch(dom1), bytesRE.FindStringSubmatch(dom2)
	if m1 == nil || m2 == nil {
		t.Fatalf("no byte count in the DOM")
	}
	b1, _ := strconv.Atoi(m1[1])
	b2, _ := strconv.Atoi(m2[1])
	if b2 <= b1 {
		t.Errorf("byte count did not move: %d then %d", b1, b2)
	}

	// The same exchange with a plain client: cookie, page, CSRF, kick.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		cookie = c
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d cookie %+v, want 303 and an HttpOnly SameSite=Strict cookie", resp.StatusCode, cookie)
	}
	req, _ := http.NewRequest("GET", base+"/sessions", nil)
	req.AddCookie(cookie)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "script-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	kick := func(token string) int {
		form := url.Values{"csrf": {token}, "id": {id}}
		req, _ := http.NewRequest("POST", base+"/sessions/kick", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := kick("forged"); code != http.StatusForbidden {
		t.Errorf("kick with a wrong CSRF token: %d, want 403", code)
	}
	if code := kick(csrf[1]); code != http.StatusSeeOther {
		t.Fatalf("kick: %d, want 303", code)
	}
	if code, msg := up.ctl.cmd(""); code != 421 {
		t.Errorf("after the page's kick: %d %q, want 421", code, msg)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// screenshot writes a PNG of u to path (for the README).
func screenshot(t *testing.T, bin, u, path string) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--hide-scrollbars", "--window-size=1400,700", "--user-data-dir="+t.TempDir(),
		"--screenshot="+abs, u).CombinedOutput()
	if err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
}
