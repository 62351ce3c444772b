package hooks

import (
	"context"
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
// input, its placeholders as literal single arguments (a hostile file name
// included), an environment without the gateway's own, and a failing exit
// is retried.
func TestCommandHook(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	script := filepath.Join(dir, "hook.sh")
	// Fails on its first run, then appends stdin and its environment.
	os.WriteFile(script, []byte(`#!/bin/sh
if [ ! -e "$0.ran" ]; then : > "$0.ran"; exit 3; fi
printf '%s\n' "$#" "$2" "$3" > "$1.args"
env >> "$1.env"
cat >> "$1"
echo >> "$1"
`), 0o755)
	t.Setenv("FTPSGW_SECRET_FOR_TEST", "must-not-leak")
	d := New([]Hook{{Name: "c", Events: []string{"delete"}, Command: []string{script, out, "{path}", "user={user} {nope}"},
		Timeout: 5 * time.Second}}, nil)
	defer d.Close()
	const hostile = "/a b/x; rm -rf / $(touch pwned) 'q\" `id`.txt"
	d.Emit(Event{Event: "delete", User: "alice", Path: hostile, Result: "ok"})
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
	if err := json.Unmarshal(b, &e); err != nil || e.Event != "delete" || e.Path != hostile || e.Version != SchemaVersion {
		t.Fatalf("command got %q (%v)", b, err)
	}
	args, _ := os.ReadFile(out + ".args")
	if want := "3\n" + hostile + "\nuser=alice {nope}\n"; string(args) != want {
		t.Errorf("command arguments %q, want %q", args, want)
	}
	if _, err := os.Stat("pwned"); err == nil {
		t.Error("a file name ran as a command")
	}
	if env, _ := os.ReadFile(out + ".env"); strings.Contains(string(env), "must-not-leak") {
		t.Error("the gateway's environment reached the command")
	}
	if d.Dropped() != 0 {
		t.Errorf("dropped %d", d.Dropped())
	}
}

func TestUnknownPlaceholders(t *testing.T) {
	got := UnknownPlaceholders([]string{"--path={path}", "{sha256}", "{nope} {staged_file} {nope}", "{Path}", "{x_1}"})
	if strings.Join(got, ",") != "{nope},{x_1}" {
		t.Errorf("UnknownPlaceholders = %v", got)
	}
}

// TestScreen: veto hooks are asked in order, once each and synchronously,
// with the result "pending"; the first refusal (a non-2xx status, or a
// failure to ask) ends the round with that hook's quarantine; a veto hook
// gets no asynchronous upload event, but its other events still arrive.
func TestScreen(t *testing.T) {
	var first, second, async atomic.Int32
	status := atomic.Int32{}
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e Event
		json.NewDecoder(r.Body).Decode(&e)
		switch {
		case r.URL.Path == "/first" && e.Result == "pending":
			first.Add(1)
			w.WriteHeader(int(status.Load()))
		case r.URL.Path == "/second" && e.Result == "pending":
			second.Add(1)
		default:
			async.Add(1)
		}
	}))
	defer srv.Close()
	d := New([]Hook{
		{Name: "plain", Events: []string{"upload"}, URL: srv.URL + "/async"},
		{Name: "first", Events: []string{"upload", "delete"}, URL: srv.URL + "/first", Veto: true, Quarantine: "/q1"},
		{Name: "second", Events: []string{"upload"}, URL: srv.URL + "/second", Veto: true},
	}, nil)
	defer d.Close()
	if !d.Screens() {
		t.Fatal("Screens() = false with veto hooks")
	}
	if v := d.Screen(context.Background(), Event{Path: "/a"}); !v.Publish || first.Load() != 1 || second.Load() != 1 {
		t.Fatalf("accepted round: %+v, asked %d/%d", v, first.Load(), second.Load())
	}
	status.Store(406)
	v := d.Screen(context.Background(), Event{Path: "/b"})
	if v.Publish || v.Hook != "first" || v.Quarantine != "/q1" || !strings.Contains(v.Reason, "406") || second.Load() != 1 {
		t.Fatalf("refused round: %+v, second asked %d times", v, second.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v := d.Screen(ctx, Event{Path: "/c"}); v.Publish {
		t.Fatal("a round that could not ask published")
	}
	// Asynchronous events: the plain hook's upload and the veto hook's
	// delete; not the veto hooks' uploads.
	d.Emit(Event{Event: "upload"})
	d.Emit(Event{Event: "delete"})
	for i := 0; async.Load() < 2; i++ {
		if i > 200 {
			t.Fatalf("%d asynchronous deliveries, want 2", async.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if async.Load() != 2 || first.Load() != 2 || second.Load() != 1 {
		t.Errorf("async %d, first %d, second %d; want 2, 2, 1", async.Load(), first.Load(), second.Load())
	}
	plain := New([]Hook{{Name: "plain", Events: []string{"upload"}, URL: srv.URL}}, nil)
	defer plain.Close()
	if plain.Screens() {
		t.Error("Screens() = true without a veto hook")
	}
}
