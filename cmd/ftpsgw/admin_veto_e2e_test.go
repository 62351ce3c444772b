package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// TestVetoHooks: two veto hooks screen every upload before it is
// published. The HTTP one refuses names with "evil" (406) and never
// answers for names with "slow" (its timeout refuses them); the command
// one reads the staged file and refuses content with a marker. A refused
// upload gets 550 and leaves nothing under its final name (an overwrite
// keeps the old file); the HTTP hook's refusals are quarantined, the
// command's removed; APPE is refused while uploads are screened.
func TestVetoHooks(t *testing.T) {
	jq := requireTool(t, "jq")
	const secret = "veto-secret-0123456789"
	files := t.TempDir()
	quarantine := filepath.Join(files, "quarantine")
	os.Mkdir(quarantine, 0o700)
	os.WriteFile(filepath.Join(files, "hook.secret"), []byte(secret), 0o600)

	var mu sync.Mutex
	var asked []hooks.Event
	var problems []string
	var root string // the gateway's data directory, set below
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e hooks.Event
		json.Unmarshal(body, &e)
		mu.Lock()
		asked = append(asked, e)
		if r.Header.Get("X-Ftpsgw-Signature") != hooks.Sign([]byte(secret), body) {
			problems = append(problems, "bad signature for "+e.Path)
		}
		// While the hook decides, the bytes are in the staged file and
		// nothing is under the final name yet (unless an older file).
		staged, err := os.ReadFile(e.StagedFile)
		sum := sha256.Sum256(staged)
		if err != nil || hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(staged)) != e.Size {
			problems = append(problems, "staged file of "+e.Path+" does not hold the upload")
		}
		if _, err := os.Stat(filepath.Join(root, e.Path)); err == nil && !strings.Contains(e.Path, "keep") {
			problems = append(problems, e.Path+" visible before the verdict")
		}
		mu.Unlock()
		switch {
		case e.Result != "pending":
			w.WriteHeader(400)
		case strings.Contains(e.Path, "evil"):
			w.WriteHeader(http.StatusNotAcceptable)
		case strings.Contains(e.Path, "slow"):
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	defer recv.Close()

	scanner := filepath.Join(files, "scan.sh")
	os.WriteFile(scanner, []byte("#!/bin/sh\nf=$("+jq+" -r .staged_file)\nif grep -q X5O-MARKER \"$f\"; then exit 1; fi\nexit 0\n"), 0o755)

	cfg := binaryHeader(8) + `backend "local" "files" {
  root = "%[3]s/data"
}
user "alice" {
  password_hash = "` + mustHash(t, "alice-pw") + `"
  permissions   = ["*"]
}
hook "screen" {
  events         = ["upload"]
  url            = "` + recv.URL + `/screen"
  secret_file    = "FILES/hook.secret"
  timeout        = "1s"
  veto           = true
  quarantine_dir = "` + quarantine + `"
}
hook "scan" {
  events  = ["upload"]
  command = ["` + scanner + `"]
  veto    = true
}
`
	g := startBinary(t, strings.ReplaceAll(cfg, "FILES", files))
	mu.Lock()
	root = g.root
	mu.Unlock()
	c := g.dialFTP(t, "127.0.0.1")
	if err := c.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	refused := func(name, body string) {
		t.Helper()
		err := c.Stor(name, strings.NewReader(body))
		if err == nil || !strings.HasPrefix(err.Error(), "550") || !strings.Contains(err.Error(), "Upload refused by content screening") {
			t.Errorf("STOR %s: %v, want 550", name, err)
		}
	}
	if err := c.Stor("clean.txt", strings.NewReader("clean content")); err != nil {
		t.Fatalf("clean upload: %v", err)
	}
	if err := c.Stor("keep.txt", strings.NewReader("old content")); err != nil {
		t.Fatal(err)
	}
	refused("evil.txt", "refused by the http hook")
	refused("slow.txt", "no answer within the timeout")
	refused("virus.txt", "X5O-MARKER in the content")
	refused("keep.txt", "an overwrite with X5O-MARKER")
	if err := c.Append("keep.txt", strings.NewReader("more")); err == nil || !strings.HasPrefix(err.Error(), "504") {
		t.Errorf("APPE while screening: %v, want 504", err)
	}

	if b, err := os.ReadFile(filepath.Join(g.root, "clean.txt")); err != nil || string(b) != "clean content" {
		t.Errorf("clean.txt = %q, %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(g.root, "keep.txt")); string(b) != "old content" {
		t.Errorf("keep.txt = %q after a refused overwrite", b)
	}
	entries, _ := os.ReadDir(g.root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "clean.txt,keep.txt" {
		t.Errorf("data directory holds %v, want only clean.txt and keep.txt", names)
	}
	// The HTTP hook's refusals are quarantined with their content; the
	// command hook's are removed.
	q, _ := os.ReadDir(quarantine)
	got := map[string]string{}
	for _, e := range q {
		b, _ := os.ReadFile(filepath.Join(quarantine, e.Name()))
		got[e.Name()[strings.LastIndex(e.Name(), "-")+1:]] = string(b)
	}
	if len(got) != 2 || got["evil.txt"] != "refused by the http hook" || got["slow.txt"] != "no answer within the timeout" {
		t.Errorf("quarantine holds %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	// The HTTP hook was asked for every upload but the APPE, and once each.
	var paths []string
	for _, e := range asked {
		paths = append(paths, e.Path)
	}
	if strings.Join(paths, ",") != "/clean.txt,/keep.txt,/evil.txt,/slow.txt,/virus.txt,/keep.txt" {
		t.Errorf("screen hook asked for %v", paths)
	}
	if log := g.out.String(); !strings.Contains(log, "upload refused by screening, quarantined") ||
		!strings.Contains(log, "upload refused by screening, removed") {
		t.Errorf("gateway log lacks the refusals:\n%s", log)
	}
}
