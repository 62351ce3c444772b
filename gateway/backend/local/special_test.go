//go:build unix

package local

import (
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestSpecialFilesRefused(t *testing.T) {
	root, _, alice := setup(t)
	fifo := filepath.Join(root, "alice", "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		r, err := alice.Open(ctx, "fifo", 0)
		if err == nil {
			r.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Open(fifo) = %v, want fs.ErrPermission", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open(fifo) blocked")
	}
	for _, mode := range []backend.WriteMode{backend.WriteAppend, backend.WriteAt, backend.WriteReplace} {
		if u, err := alice.Create(ctx, "fifo", mode, 0); !errors.Is(err, fs.ErrPermission) {
			if err == nil {
				u.Abort()
			}
			t.Errorf("Create(fifo, %v) = %v, want fs.ErrPermission", mode, err)
		}
	}
	if infos, err := backend.ReadAll(ctx, alice, "."); err != nil || len(infos) != 0 {
		t.Errorf("ReadDir lists %v, %v; want nothing", infos, err)
	}
	if err := alice.Remove(ctx, "fifo"); err != nil {
		t.Errorf("Remove(fifo) = %v", err)
	}
}
