package local

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

var _ backend.StagedUpload = (*upload)(nil)

// StagedFile implements backend.StagedUpload: the temporary file's host
// path, or "" for an upload that writes in place (or whose unnamed file
// could not be given a temporary name).
func (u *upload) StagedFile() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.stagedFile()
}

// stagedFile is StagedFile; mu must be held.
func (u *upload) stagedFile() string {
	if u.anon && !u.done && u.nameStaged() != nil {
		return ""
	}
	if u.tmp == "" {
		return ""
	}
	p, err := filepath.Abs(filepath.Join(u.fs.root.Name(), filepath.FromSlash(u.tmp)))
	if err != nil {
		return ""
	}
	return p
}

// maxQuarantineBase bounds the part of the quarantined name that comes from
// the upload's own name, so the whole name stays within NAME_MAX.
const maxQuarantineBase = 160

// Quarantine implements backend.StagedUpload. The file is renamed into dir
// when dir is on the same filesystem, and copied (then synced, then the
// temporary removed) when it is not.
func (u *upload) Quarantine(dir string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return "", fmt.Errorf("quarantine %s: %w", u.name, os.ErrClosed)
	}
	if u.tmp == "" && !u.anon {
		return "", fmt.Errorf("quarantine %s: an in-place upload has no staged file: %w", u.name, errors.ErrUnsupported)
	}
	src := u.stagedFile()
	u.done = true
	err := u.f.Close()
	base := path.Base(u.name)
	if len(base) > maxQuarantineBase {
		base = base[:maxQuarantineBase]
	}
	dst := filepath.Join(dir, time.Now().UTC().Format("20060102T150405Z")+"-"+rand.Text()[:10]+"-"+base)
	if err == nil && src == "" {
		err = errors.New("no host path for the staged file")
	}
	if err == nil {
		err = moveFile(src, dst)
	}
	if err != nil {
		if u.tmp != "" {
			u.fs.root.Remove(u.tmp)
		}
		return "", u.fs.fail("quarantine", u.name, err)
	}
	return dst, nil
}

// moveFile renames src to dst, which must not exist, or copies it across
// filesystems.
func moveFile(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s: %w", dst, os.ErrExist)
	}
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	err = errors.Join(err, out.Sync(), out.Close())
	if err != nil {
		os.Remove(dst)
		return err
	}
	return os.Remove(src)
}
