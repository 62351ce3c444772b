package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Opener serves sessions from one directory tree. Create it with New.
type Opener struct {
	root   *os.Root
	escape error // the error os.Root reports for a path leaving the root

	// FollowSymlinks makes sessions follow symbolic links that stay inside
	// their home. Off by default: a link is then invisible in listings and
	// answers as missing, so no link can lead a path around a rule that
	// hides its target. Set it before the first Open.
	FollowSymlinks bool
	// Durability is how uploads are synced to the disk; the zero value
	// is DurabilityFsync, and so is any value but DurabilityNone. Set it
	// before the first Open.
	Durability Durability

	counts  syncCounts   // what sessions synced, for tests
	unnamed atomic.Int32 // unnamedUntried, unnamedOn or unnamedOff
}

var (
	_ backend.Opener = (*Opener)(nil)
	_ backend.FS     = (*FS)(nil)
	_ backend.Lister = (*lister)(nil)
)

// New returns an Opener for the directory root, which must exist. Homes
// passed to Open are directories below it.
func New(root string) (*Opener, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("local backend root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("local backend root %s: %w", root, backend.ErrNotDir)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("local backend root: %w", err)
	}
	return &Opener{root: r, escape: escapeError(r)}, nil
}

// escapeError returns the error value os.Root uses for a path that leaves
// the root, so that mapErr can recognise it with errors.Is rather than by
// its text.
func escapeError(r *os.Root) error {
	_, err := r.Lstat("..")
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return nil
}

// Open returns a session confined to home, a clean absolute path below
// the Opener's root, creating missing directories on the way. Symbolic
// links may lead to the home only if they stay inside the root. A root
// that has gone (removed, unmounted, I/O errors) fails with an error
// wrapping backend.ErrUnavailable.
func (o *Opener) Open(ctx context.Context, home string) (backend.FS, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rel, err := homeDir(home)
	if err != nil {
		return nil, err
	}
	if err := o.root.MkdirAll(rel, 0o755); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// MkdirAll creates every directory below the root, so only
			// the root itself can be missing: removed, or unmounted.
			err = fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("create home %s: %w", home, mapErr(err, o.escape))
	}
	r, err := o.root.OpenRoot(rel)
	if err != nil {
		return nil, fmt.Errorf("open home %s: %w", home, mapErr(err, o.escape))
	}
	return &FS{root: r, escape: o.escape, follow: o.FollowSymlinks, durability: o.Durability, counts: &o.counts, unnamed: &o.unnamed}, nil
}

// Probe writes a small hidden file in the root, reads it back and removes
// it.
func (o *Opener) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	name := probePrefix + rand.Text()
	want := []byte("ftpsgw probe " + name)
	f, err := o.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	_, werr := f.Write(want)
	cerr := f.Close()
	defer o.root.Remove(name)
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	got, err := o.root.ReadFile(name)
	if err != nil {
		return fmt.Errorf("probe read: %w", err)
	}
	if !bytes.Equal(got, want) {
		return errors.New("probe read back different data")
	}
	if err := o.root.Remove(name); err != nil {
		return fmt.Errorf("probe remove: %w", err)
	}
	return nil
}

// Close releases the root. Sessions already open keep working.
func (o *Opener) Close() error {
	return o.root.Close()
}

// FS is one session, confined to its home by an os.Root.
type FS struct {
	root       *os.Root
	escape     error
	follow     bool // follow symbolic links (inside the home)
	durability Durability
	counts     *syncCounts
	unnamed    *atomic.Int32 // the Opener's
	closeOnce  sync.Once
	closeErr   error
}

// begin checks the context and the names of one operation.
func (l *FS) begin(ctx context.Context, op string, names ...string) error {
	for _, n := range names {
		if _, err := l.beginOne(ctx, op, n); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// beginOne is begin for one name; it also returns what the link check
// learned about the name.
func (l *FS) beginOne(ctx context.Context, op, name string) (walk, error) {
	if err := ctx.Err(); err != nil {
		return walk{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkName(name); err != nil {
		return walk{}, fmt.Errorf("%s: %w", op, err)
	}
	w, err := l.noLinks(name)
	if err != nil {
		return walk{}, fmt.Errorf("%s: %w", op, err)
	}
	return w, nil
}

// errLink answers a name that passes through a symbolic link when links
// are not followed: as a missing path, the way listings leave links out.
var errLink = fmt.Errorf("symbolic link not followed: %w", fs.ErrNotExist)

// walk is what noLinks found out on its way down a name.
type walk struct {
	fi      fs.FileInfo // the whole name's Lstat, which is also its Stat: no element is a link
	missing error       // or the Lstat error of the element that does not exist
}

// stat answers the name's Stat from the walk when it can, and from the
// root when it cannot (links followed, or an element that could not be
// examined for another reason than not existing). A small download
// looks its name up four times instead of seven.
func (w walk) stat(root *os.Root, name string) (fs.FileInfo, error) {
	switch {
	case w.fi != nil:
		return w.fi, nil
	case w.missing != nil:
		return nil, w.missing
	}
	return root.Stat(name)
}

// noLinks refuses a name any element of which is a symbolic link, unless
// links are followed. Rules judge the path a client names, and a link
// inside the home would let that path reach a hidden one. A missing
// element ends the check: what does not exist is no link.
func (l *FS) noLinks(name string) (walk, error) {
	if l.follow || name == "." {
		return walk{}, nil
	}
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		fi, err := l.root.Lstat(name[:i])
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return walk{missing: err}, nil
			}
			return walk{}, nil
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return walk{}, errLink
		}
		if i == len(name) {
			return walk{fi: fi}, nil
		}
	}
	return walk{}, nil
}

func (l *FS) fail(op, name string, err error) error {
	return fmt.Errorf("%s %s: %w", op, name, mapErr(err, l.escape))
}

// Close releases the session's root. Later calls return the first result.
func (l *FS) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.root.Close() })
	return l.closeErr
}

// reader is a file being downloaded; it stops at the first Read after its
// context is cancelled.
type reader struct {
	ctx context.Context
	f   *os.File
}

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.f.Read(p)
}

func (r *reader) Close() error {
	return r.f.Close()
}

var _ io.ReadCloser = (*reader)(nil)
