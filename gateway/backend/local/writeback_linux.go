//go:build linux

package local

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// haveWriteback says startWriteback and waitWriteback do something here.
const haveWriteback = true

// startWriteback asks the kernel to start writing the dirty pages of
// [off, off+n) of f to the disk, without waiting for it.
func startWriteback(f *os.File, off, n int64) error {
	return syncFileRange(f, off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// waitWriteback waits until the pages of [off, off+n) of f whose
// writeback has started are on the disk.
func waitWriteback(f *os.File, off, n int64) error {
	return syncFileRange(f, off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE)
}

// syncFileRange calls sync_file_range(2) on f, retrying on EINTR. It uses
// SyscallConn rather than Fd, which would switch f to blocking mode.
func syncFileRange(f *os.File, off, n int64, flags int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = unix.SyncFileRange(int(fd), off, n, flags)
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("sync_file_range", serr)
	}
	return nil
}
