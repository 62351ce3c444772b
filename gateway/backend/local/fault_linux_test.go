//go:build linux

package local

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// faultHooks returns the suite's Deny and Small hooks for Linux.
func faultHooks() (deny func(*testing.T, backend.Opener, string, string), small func(*testing.T) backend.Opener) {
	return denyDir, smallOpener
}

// denyDir makes the directory name (relative to home, below o's root)
// refuse access: mode 000, and, because root ignores modes, the
// immutable flag as well when running as root. Both are undone when the
// test ends, before t.TempDir's removal.
func denyDir(t *testing.T, o backend.Opener, home, name string) {
	t.Helper()
	dir := filepath.Join(o.(*Opener).root.Name(), filepath.FromSlash(home), filepath.FromSlash(name))
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if os.Geteuid() != 0 {
		return
	}
	if err := setImmutable(dir, true); err != nil {
		t.Skipf("running as root, and the immutable flag is unavailable here: %v", err)
	}
	t.Cleanup(func() {
		if err := setImmutable(dir, false); err != nil {
			t.Errorf("clearing the immutable flag of %s: %v", dir, err)
		}
	})
}

// The ioctls of chattr(1): _IOR('f', 1, long) and _IOW('f', 2, long).
const (
	iocGetFlags  = 2<<30 | uintptr(unsafe.Sizeof(uintptr(0)))<<16 | 'f'<<8 | 1
	iocSetFlags  = 1<<30 | uintptr(unsafe.Sizeof(uintptr(0)))<<16 | 'f'<<8 | 2
	flImmutable  = 0x10 // FS_IMMUTABLE_FL
	smallFSBytes = "1m"
)

// setImmutable sets or clears the immutable flag of path, as chattr +i.
func setImmutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var flags int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), iocGetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	if on {
		flags |= flImmutable
	} else {
		flags &^= flImmutable
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), iocSetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	return nil
}

// smallOpener returns an Opener on a 1 MiB tmpfs mounted under
// t.TempDir and unmounted when the test ends. Without the privilege to
// mount it skips, unless CI=true, where it fails.
func smallOpener(t *testing.T) backend.Opener {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+smallFSBytes+",mode=0755"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a %s tmpfs on %s: %v", smallFSBytes, dir, err)
		}
		t.Skipf("mount a %s tmpfs (needs root): %v", smallFSBytes, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	o, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
