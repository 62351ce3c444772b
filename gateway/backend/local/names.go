package local

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

const (
	// reservedPrefix starts the names of the backend's own files (upload
	// temporaries, probes); clients can neither see nor name them.
	reservedPrefix = ".ftpsgw-"
	// uploadPrefix starts the name of an upload's temporary file.
	uploadPrefix = reservedPrefix + "upload-"
	// probePrefix starts the name of Probe's test file.
	probePrefix = reservedPrefix + "probe-"
)

// checkName applies the contract's name rule and refuses the reserved
// prefix, so clients can neither see nor name the backend's own files.
func checkName(name string) error {
	if err := backend.CheckName(name); err != nil {
		return err
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, reservedPrefix) {
			return fmt.Errorf("reserved name %q: %w", elem, fs.ErrInvalid)
		}
	}
	return nil
}

// homeDir validates home with backend.CheckHome, refuses the reserved
// prefix in it too, and returns it relative to the opener's root.
func homeDir(home string) (string, error) {
	rel, err := backend.CheckHome(home)
	if err != nil || rel == "." {
		return rel, err
	}
	if err := checkName(rel); err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	return rel, nil
}

// mapErr makes err match the sentinels of the backend contract. escape is
// the error os.Root returns for a path that leaves the root; it becomes
// fs.ErrPermission.
func mapErr(err, escape error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOTEMPTY:
			return fmt.Errorf("%w: %w", backend.ErrNotEmpty, err)
		case syscall.EISDIR:
			return fmt.Errorf("%w: %w", backend.ErrIsDir, err)
		case syscall.ENOTDIR:
			return fmt.Errorf("%w: %w", backend.ErrNotDir, err)
		case syscall.ENAMETOOLONG, syscall.ELOOP, syscall.EINVAL:
			return fmt.Errorf("%w: %w", fs.ErrInvalid, err)
		case syscall.ENOSPC, syscall.EDQUOT:
			return fmt.Errorf("%w: %w", backend.ErrNoSpace, err)
		case syscall.EROFS:
			return fmt.Errorf("%w: %w", fs.ErrPermission, err)
		case syscall.EIO, syscall.ESTALE, syscall.ENOTCONN:
			// A failing disk or a network filesystem that went away.
			return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
		}
		return err
	}
	if escape != nil && errors.Is(err, escape) {
		return fmt.Errorf("%w: %w", fs.ErrPermission, err)
	}
	return err
}
