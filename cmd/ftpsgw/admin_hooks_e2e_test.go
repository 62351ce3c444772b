package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/hooks"
)

// TestHooksDeliverSignedEvents: a real receiver gets the login, upload,
// download, mkdir, rename, delete, rmdir, failed login and ban events of
// the sessions with valid signatures and the streamed SHA-256, while a
// second hook whose receiver is down does not slow the session down.
func TestHooksDeliverSignedEvents(t *testing.T) {
	const secret = "hook-secret-0123456789"
	var mu sync.Mutex
	var got []hooks.Event
	bad := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Ftpsgw-Signature") != hooks.Sign([]byte(secret), body) {
			bad++
			w.WriteHeader(400)
			return
		}
		var e hooks.Event
		json.Unmarshal(body, &e)
		got = append(got, e)
	}))
	defer recv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close() // nothing listens there now

	files := t.TempDir()
	os.WriteFile(filepath.Join(files, "hook.secret"), []byte(secret+"\n"), 0o600)
	cfg := `server {
  listen = ["127.0.0.1:%[1]s"]
}
tls {
  source    = "self_signed"
  state_dir = "%[3]s/state"
}
metrics {
  listen = "127.0.0.1:%[2]s"
}
backend "local" "files" {
  root = "%[3]s/data"
}
defender {
  max_failures = 2
}
user "alice" {
  password_hash = "` + mustHash(t, "alice-pw") + `"
  permissions   = ["*"]
}
hook "ingest" {
  events      = ["upload", "download", "delete", "rename", "mkdir", "rmdir", "login", "login_failed", "ban"]
  url         = "` + recv.URL + `/in"
  secret_file = "FILES/hook.secret"
}
hook "down" {
  events      = ["upload"]
  url         = "` + downURL + `/in"
  secret_file = "FILES/hook.secret"
  timeout     = "2s"
}
`
	g := startBinary(t, strings.ReplaceAll(cfg, "FILES", files))
	c := g.dialFTP(t, "127.0.0.1")
	if err := c.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const n = 30
	for i := range n {
		if err := c.Stor(fmt.Sprintf("f%d.txt", i), strings.NewReader("hello")); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("%d uploads took %v with a receiver down", n, d)
	}
	r, err := c.Retr("f0.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	r.Close()
	for _, step := range []error{c.MakeDir("d"), c.Rename("f1.txt", "d/f1.txt"), c.Delete("f2.txt"), c.MakeDir("e"), c.RemoveDir("e")} {
		if step != nil {
			t.Fatal(step)
		}
	}
	c.Quit()
	// Two failed logins from another address: two login_failed, one ban.
	for range 2 {
		b := g.dialFTP(t, "127.0.0.2")
		if err := b.Login("alice", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
		b.Quit()
	}

	want := n + 2 + 5 + 3 // login, the uploads, one download, the changes, failures and the ban
	for i := 0; ; i++ {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k >= want {
			break
		}
		if i > 200 {
			t.Fatalf("receiver got %d events, want %d", k, want)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if _, body := g.scrape(t); !strings.Contains(body, "ftpsgw_hook_events_dropped_total") {
		t.Error("no ftpsgw_hook_events_dropped_total metric")
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 {
		t.Errorf("%d events with a bad signature", bad)
	}
	counts := map[string]int{}
	for _, e := range got {
		counts[e.Event]++
		// Failed logins and bans name no user: the name is the client's.
		if e.Version != hooks.SchemaVersion || e.Time.IsZero() || (e.User != "alice" && e.Event != "ban" && e.Event != "login_failed") {
			t.Errorf("event %+v", e)
		}
		switch e.Event {
		case "rename":
			if e.Path != "/f1.txt" || e.To != "/d/f1.txt" || e.Session == "" || e.Client != "127.0.0.1" {
				t.Errorf("rename event %+v", e)
			}
		case "delete", "mkdir", "rmdir":
			if want := map[string]string{"delete": "/f2.txt", "mkdir": "/", "rmdir": "/e"}[e.Event]; !strings.HasPrefix(e.Path, want) || e.Result != "ok" {
				t.Errorf("%s event %+v", e.Event, e)
			}
		case "ban":
			if e.Client != "127.0.0.2" {
				t.Errorf("ban event %+v", e)
			}
		}
		if e.Event == "upload" && (e.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" ||
			e.Size != 5 || e.Session == "" || e.Client != "127.0.0.1" || e.Backend != "files" || e.Result != "ok" ||
			!strings.HasPrefix(e.Path, "/f")) {
			t.Errorf("upload event %+v", e)
		}
	}
	if counts["login"] != 1 || counts["upload"] != n || counts["download"] != 1 || counts["mkdir"] != 2 ||
		counts["rename"] != 1 || counts["delete"] != 1 || counts["rmdir"] != 1 || counts["login_failed"] != 2 || counts["ban"] != 1 {
		t.Errorf("events: %v", counts)
	}
}
