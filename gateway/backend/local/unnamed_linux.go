//go:build linux

package local

import (
	"errors"
	"os"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a new file without a name in the directory dir of
// root (O_TMPFILE). It answers errNoUnnamed where the filesystem or the
// kernel cannot.
func openUnnamed(root *os.Root, dir string) (*os.File, error) {
	f, err := root.OpenFile(dir, unix.O_TMPFILE|os.O_WRONLY, 0o644)
	if err != nil && tmpfileUnsupported(err) {
		return nil, errNoUnnamed
	}
	return f, err
}

// tmpfileUnsupported reports whether err is how open(2) refuses O_TMPFILE:
// EOPNOTSUPP from a filesystem without it, EISDIR or EINVAL from a kernel
// that predates it.
func tmpfileUnsupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL)
}

// How linkAt names an unnamed file; learnt from the first link and then
// kept for the process.
const (
	linkUnknown   int32 = iota
	linkEmptyPath       // linkat(fd, "", AT_EMPTY_PATH): needs CAP_DAC_READ_SEARCH
	linkProc            // linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW): needs /proc
)

var linkHow atomic.Int32

// linkAt gives the open file f the name name in the directory d. It fails
// with an error matching fs.ErrExist when the name is taken: link(2)
// never replaces.
func linkAt(f, d *os.File, name string) error {
	return withFDs(f, d, func(fd, dfd int) error {
		how := linkHow.Load()
		if how != linkProc {
			err := unix.Linkat(fd, "", dfd, name, unix.AT_EMPTY_PATH)
			if how == linkEmptyPath || !errors.Is(err, unix.ENOENT) {
				if err == nil {
					linkHow.Store(linkEmptyPath)
				}
				return pathErr("linkat", name, err)
			}
			// ENOENT: without the capability, an empty path names nothing.
		}
		err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dfd, name, unix.AT_SYMLINK_FOLLOW)
		if err == nil {
			linkHow.Store(linkProc)
		}
		return pathErr("linkat", name, err)
	})
}

// renameAt renames from to to, both in the directory d.
func renameAt(d *os.File, from, to string) error {
	return withFDs(d, d, func(dfd, _ int) error {
		return pathErr("renameat", to, unix.Renameat(dfd, from, dfd, to))
	})
}

// unlinkAt removes the file name in the directory d.
func unlinkAt(d *os.File, name string) error {
	return withFDs(d, d, func(dfd, _ int) error {
		return pathErr("unlinkat", name, unix.Unlinkat(dfd, name, 0))
	})
}

// withFDs runs fn with the descriptors of a and b, without switching
// them to blocking mode as File.Fd would.
func withFDs(a, b *os.File, fn func(afd, bfd int) error) error {
	ac, err := a.SyscallConn()
	if err != nil {
		return err
	}
	bc, err := b.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	cerr := ac.Control(func(afd uintptr) {
		if err := bc.Control(func(bfd uintptr) { ferr = fn(int(afd), int(bfd)) }); err != nil {
			ferr = err
		}
	})
	return errors.Join(cerr, ferr)
}

// pathErr wraps a system call's error as os does, so that errors.Is finds
// fs.ErrExist and the others; nil stays nil.
func pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: name, Err: err}
}
