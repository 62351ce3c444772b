package backendtest

import (
	"io"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestMemConformance(t *testing.T) {
	Run(t, func(t *testing.T) backend.Opener { return NewMemOpener() })
}

// TestMemReaderSnapshot checks the copy-on-write rule: a reader keeps the
// bytes it was opened on while an in-place upload goes on writing.
func TestMemReaderSnapshot(t *testing.T) {
	fsys, err := NewMemOpener().Open(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, "f", "0123456789")
	u, err := fsys.Create(t.Context(), "f", backend.WriteAt, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write([]byte("XX")); err != nil {
		t.Fatal(err)
	}
	r, err := fsys.Open(t.Context(), "f", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := u.Write([]byte("YY")); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	upload(t, fsys, "f", backend.WriteAppend, 0, "ZZ")
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "01XX456789" {
		t.Errorf("reader opened mid-upload read %q", got)
	}
	if got := readFile(t, fsys, "f"); got != "01XXYYZZ" {
		t.Errorf("file holds %q after the uploads", got)
	}
}
