package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkSecretFile refuses a key or secret file that does not exist, is not
// a regular file, or is accessible to others. Group read is allowed (as
// tlsmgr and metrics allow it), so a Kubernetes Secret mounted 0440 with
// an fsGroup works; group write is not.
func checkSecretFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fileError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o027 != 0 {
		return fmt.Errorf("%s holds a secret but is accessible to others or writable by its group (mode %04o): run chmod 600 %s",
			path, perm, path)
	}
	return nil
}

// checkReadableFile checks that a non-secret file (certificate, CA bundle,
// known_hosts) exists and is a regular file.
func checkReadableFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fileError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}

// checkParentDir checks that the directory a file will be created in
// exists.
func checkParentDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fileError(dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

func fileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s cannot be read: permission denied", path)
	}
	return fmt.Errorf("%s: %w", path, err)
}
