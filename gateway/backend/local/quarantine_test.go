package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// TestStagedUpload: a replacing upload names its temporary file, which
// holds the bytes written; Quarantine moves it out of the home (nothing
// left under the final name or the temporary one) and ends the upload; an
// in-place upload has no staged file and cannot be quarantined.
func TestStagedUpload(t *testing.T) {
	forEachStaging(t, func(t *testing.T, _ bool) { testStagedUpload(t) })
}

func testStagedUpload(t *testing.T) {
	root, _, alice := setup(t)
	ctx := t.Context()
	up, err := alice.Create(ctx, "report.pdf", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("staged bytes"))
	su := up.(backend.StagedUpload)
	staged := su.StagedFile()
	if b, err := os.ReadFile(staged); err != nil || string(b) != "staged bytes" || !filepath.IsAbs(staged) ||
		!strings.HasPrefix(staged, filepath.Join(root, "alice")+string(filepath.Separator)) {
		t.Fatalf("StagedFile %q: %q, %v", staged, b, err)
	}
	q := t.TempDir()
	to, err := su.Quarantine(q)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(to) != q || !strings.HasSuffix(to, "-report.pdf") {
		t.Errorf("quarantined to %q", to)
	}
	if b, err := os.ReadFile(to); err != nil || string(b) != "staged bytes" {
		t.Errorf("quarantined file: %q, %v", b, err)
	}
	left, _ := os.ReadDir(filepath.Join(root, "alice"))
	if len(left) != 0 {
		t.Errorf("home holds %v after the quarantine", left)
	}
	if err := up.Commit(); err != nil {
		t.Errorf("Commit after Quarantine = %v, want the no-op nil", err)
	}
	if _, err := os.Stat(filepath.Join(root, "alice", "report.pdf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final name exists after the quarantine: %v", err)
	}
	if _, err := su.Quarantine(q); err == nil {
		t.Error("a second Quarantine succeeded")
	}

	app, err := alice.Create(ctx, "log.txt", backend.WriteAppend, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Abort()
	if s := app.(backend.StagedUpload).StagedFile(); s != "" {
		t.Errorf("append upload StagedFile = %q, want \"\"", s)
	}
	if _, err := app.(backend.StagedUpload).Quarantine(q); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Quarantine of an in-place upload = %v", err)
	}
}
