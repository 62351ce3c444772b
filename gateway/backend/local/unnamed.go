package local

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path"
	"syscall"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Unnamed uploads. Where the filesystem allows it (Linux O_TMPFILE), a new
// upload (WriteReplace, WriteExclusive) is written into a file that has no
// name at all, and Commit gives it its final name with link(2). Compared
// with a named temporary file and a rename, the directory changes once,
// not three times (create, rename, and for WriteExclusive an unlink), and
// a crash or a kill leaves nothing behind: the kernel frees a file that
// was never named.
//
// link(2) never replaces, so WriteExclusive gets its name atomically or
// fs.ErrExist. WriteReplace over an existing file links a temporary name
// and renames it over the old file, as a named temporary would.
//
// The name is resolved when Commit runs, as a rename of a named temporary
// would be: a directory renamed during the upload does not carry the file
// along with it.

// unnamedUploads turns unnamed uploads on; tests turn it off to run the
// named temporaries, which are what every filesystem without O_TMPFILE
// gets.
var unnamedUploads = true

// errNoUnnamed says the filesystem or the system cannot create a file
// without a name.
var errNoUnnamed = errors.New("unnamed files are not supported here")

// What an Opener knows about unnamed files on its filesystem.
const (
	unnamedUntried int32 = iota
	unnamedOn
	unnamedOff
)

// openUnnamed returns an unnamed file in the directory dir, or nil, nil
// where the Opener's filesystem cannot have one (the caller then writes
// a named temporary). The first upload of an Opener creates, names and
// removes a probe file, so that a filesystem that opens O_TMPFILE files
// but cannot link them (or a system without /proc and without the
// capability to link by descriptor) is found before any upload counts on
// it.
func (l *FS) openUnnamed(dir string) (*os.File, error) {
	if !unnamedUploads || l.unnamed.Load() == unnamedOff {
		return nil, nil
	}
	f, err := openUnnamed(l.root, dir)
	if errors.Is(err, errNoUnnamed) {
		l.unnamed.Store(unnamedOff)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if l.unnamed.Load() == unnamedUntried {
		if probeUnnamed(l.root, dir) != nil {
			f.Close()
			l.unnamed.Store(unnamedOff)
			return nil, nil
		}
		l.unnamed.Store(unnamedOn)
	}
	return f, nil
}

// probeUnnamed creates an unnamed file in dir, links it under a probe name
// and removes that name. A linked unnamed file cannot be linked again once
// unlinked, so the probe never uses an upload's own file.
func probeUnnamed(root *os.Root, dir string) error {
	f, err := openUnnamed(root, dir)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	name := probePrefix + rand.Text()
	if err := linkAt(f, d, name); err != nil {
		return err
	}
	return unlinkAt(d, name)
}

// commitUnnamed ends an unnamed upload's Commit: sync the file, give it
// its name, sync the directory; mu must be held and err is what Commit
// found so far. A file that could not be named is freed when it is
// closed, so a failure before the link leaves nothing.
func (u *upload) commitUnnamed(err error, syncs bool) error {
	if err == nil && syncs {
		err = u.syncFile()
	}
	var d *os.File
	if err == nil {
		d, err = u.fs.root.Open(path.Dir(u.name))
	}
	named := false
	if err == nil {
		err = u.linkUnnamed(d)
		named = err == nil
	}
	// Once named, the file is complete under its name: a failure after
	// this point only means the name may not survive a crash (or, for the
	// close, that the kernel reported a late error), and is reported so
	// that the client does not count on it.
	err = errors.Join(err, u.f.Close())
	if named && syncs {
		u.fs.counts.dir.Add(1)
		if serr := d.Sync(); !errors.Is(serr, syscall.EINVAL) {
			err = errors.Join(err, serr)
		}
	}
	if d != nil {
		err = errors.Join(err, d.Close())
	}
	if err != nil {
		return u.fs.fail("commit", u.name, err)
	}
	return nil
}

// linkUnnamed gives the unnamed file its name in d, the directory of
// u.name; mu must be held. WriteExclusive fails with fs.ErrExist when the
// name is taken; WriteReplace then links a temporary name and renames it
// over the old file.
func (u *upload) linkUnnamed(d *os.File) error {
	base := path.Base(u.name)
	err := linkAt(u.f, d, base)
	if u.mode != backend.WriteReplace || !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp := uploadPrefix + rand.Text()
	if err := linkAt(u.f, d, tmp); err != nil {
		return err
	}
	if err := renameAt(d, tmp, base); err != nil {
		unlinkAt(d, tmp)
		return err
	}
	return nil
}

// nameStaged links an unnamed upload under a temporary name, which it
// then keeps as a named temporary would: for StagedFile, whose callers
// read the file by its host path. mu must be held.
func (u *upload) nameStaged() error {
	dir := path.Dir(u.name)
	d, err := u.fs.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp := uploadPrefix + rand.Text()
	if err := linkAt(u.f, d, tmp); err != nil {
		return err
	}
	u.tmp, u.anon = path.Join(dir, tmp), false
	return nil
}
