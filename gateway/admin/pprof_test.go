package admin

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProfiling: without EnableProfiling there are no profiles; with it
// they need the token, a CPU profile and a heap profile come back as the
// gzipped protobuf pprof reads, text on ?debug=1, bad arguments get 400
// and unknown profiles 404.
func TestProfiling(t *testing.T) {
	var logs strings.Builder
	get := func(h *Handler, path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const tok = "secret-token-123456"
	off := testHandler(t, &logs)
	if w := get(off, "/debug/pprof/heap", tok); w.Code != 404 {
		t.Errorf("heap without EnableProfiling: %d", w.Code)
	}
	h := testHandler(t, &logs)
	h.EnableProfiling()
	for _, tc := range []struct {
		path, token string
		code        int
	}{
		{"/debug/pprof/heap", "", 401},
		{"/debug/pprof/profile?seconds=1", "wrong", 401},
		{"/debug/pprof/profile?seconds=0", tok, 400},
		{"/debug/pprof/profile?seconds=61", tok, 400},
		{"/debug/pprof/nope", tok, 404},
		{"/debug/pprof/cmdline", tok, 404},
	} {
		if w := get(h, tc.path, tc.token); w.Code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, w.Code, tc.code)
		}
	}
	isProfile := func(name string, w *httptest.ResponseRecorder) {
		t.Helper()
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", name, w.Code, w.Body)
		}
		zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
		if err != nil {
			t.Fatalf("%s: not gzip: %v", name, err)
		}
		if b, err := io.ReadAll(zr); err != nil || len(b) == 0 {
			t.Fatalf("%s: empty or corrupt profile: %v", name, err)
		}
	}
	isProfile("cpu", get(h, "/debug/pprof/profile?seconds=1", tok))
	isProfile("heap", get(h, "/debug/pprof/heap?gc=1", tok))
	if w := get(h, "/debug/pprof/goroutine?debug=1", tok); w.Code != 200 || !strings.Contains(w.Body.String(), "goroutine profile:") {
		t.Errorf("goroutine text: %d %.80s", w.Code, w.Body)
	}
	if w := get(h, "/debug/pprof/profile?seconds=x", tok); w.Code != http.StatusBadRequest {
		t.Errorf("seconds=x: %d", w.Code)
	}
}
