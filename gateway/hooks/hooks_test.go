package hooks

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryThenDeliver(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	d := New([]Hook{{Name: "h", Events: []string{"upload"}, URL: srv.URL, Secret: []byte("k")}}, nil)
	defer d.Close()
	d.Emit(Event{Event: "upload"})
	d.Emit(Event{Event: "login"}) // not subscribed
	for i := 0; calls.Load() < 3; i++ {
		if i > 200 {
			t.Fatalf("%d attempts", calls.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != 3 || d.Dropped() != 0 {
		t.Errorf("calls %d dropped %d, want 3 and 0", calls.Load(), d.Dropped())
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	d := New([]Hook{{Name: "h", Events: []string{"upload"}, URL: srv.URL, Timeout: time.Minute}}, nil)
	defer d.Close()
	start := time.Now()
	for range QueueSize + 10 {
		d.Emit(Event{Event: "upload"})
	}
	if time.Since(start) > time.Second {
		t.Error("Emit blocked")
	}
	if d.Dropped() < 9 {
		t.Errorf("dropped %d, want at least 9", d.Dropped())
	}
}

func TestSign(t *testing.T) {
	// RFC 4231 test case 2.
	got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	if got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Error(got)
	}
}

// TestCommandHook: a command hook gets the event's JSON on its standard
// input, an environment without the gateway's own, and a failing exit is
// retried.
func TestCommandHook(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	script := filepath.Join(dir, "hook.sh")
	// Fails on its first run, then appends stdin and its environment.
	os.WriteFile(script, []byte(`#!/bin/sh
if [ ! -e "$0.ran" ]; then : > "$0.ran"; exit 3; fi
cat >> "$1"
echo >> "$1"
env >> "$1.env"
`), 0o755)
	t.Setenv("FTPSGW_SECRET_FOR_TEST", "must-not-leak")
	d := New([]Hook{{Name: "c", Events: []string{"delete"}, Command: []string{script, out}, Timeout: 5 * time.Second}}, nil)
	defer d.Close()
	d.Emit(Event{Event: "delete", User: "alice", Path: "/x; rm -rf /", Result: "ok"})
	var b []byte
	for i := 0; ; i++ {
		b, _ = os.ReadFile(out)
		if len(b) > 0 {
			break
		}
		if i > 300 {
			t.Fatal("the command never delivered the event")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil || e.Event != "delete" || e.Path != "/x; rm -rf /" || e.Version != SchemaVersion {
		t.Fatalf("command got %q (%v)", b, err)
	}
	if env, _ := os.ReadFile(out + ".env"); strings.Contains(string(env), "must-not-leak") {
		t.Error("the gateway's environment reached the command")
	}
	if d.Dropped() != 0 {
		t.Errorf("dropped %d", d.Dropped())
	}
}
