package mount

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Point is one virtual folder: FS mounted at Path.
type Point struct {
	// Path is a contract name relative to the root FS ("archive", "a/b"),
	// never "." and never with a leading slash.
	Path string
	// FS serves every name at or below Path, with the prefix stripped.
	FS backend.FS
}

// New returns an FS that serves root everywhere except at and below the
// given mount points. It rejects a nil FS, a Path that fails
// backend.CheckName or is ".", and two points that Overlap; the errors
// wrap fs.ErrInvalid. With no points it returns root itself. On success
// the composite owns every FS (its Close closes them); on error the caller
// still does.
func New(root backend.FS, points []Point) (backend.FS, error) {
	if root == nil {
		return nil, fmt.Errorf("mount: nil root backend: %w", fs.ErrInvalid)
	}
	if len(points) == 0 {
		return root, nil
	}
	m := &mountFS{root: root, built: time.Now()}
	for _, p := range points {
		switch {
		case p.FS == nil:
			return nil, fmt.Errorf("mount %q: nil backend: %w", p.Path, fs.ErrInvalid)
		case p.Path == ".":
			return nil, fmt.Errorf("mount at the root: %w", fs.ErrInvalid)
		}
		if err := backend.CheckName(p.Path); err != nil {
			return nil, fmt.Errorf("mount %q: %w", p.Path, err)
		}
		for _, q := range m.points {
			if Overlap(p.Path, q.path) {
				return nil, fmt.Errorf("mount %q overlaps mount %q: %w", p.Path, q.path, fs.ErrInvalid)
			}
		}
		m.points = append(m.points, &point{path: p.Path, fs: p.FS})
	}
	slices.SortFunc(m.points, func(a, b *point) int { return cmp.Compare(a.path, b.path) })
	return m, nil
}

// Overlap reports whether two mount paths are equal or one lies below the
// other, comparing whole elements: "a" overlaps "a" and "a/b" but not
// "ab". Both are contract names ("a/b"); a leading slash is ignored, so
// virtual paths ("/a/b") compare the same way, and the root ("." or "/")
// overlaps everything. New refuses overlapping points with this rule.
func Overlap(a, b string) bool {
	a, b = strings.TrimPrefix(a, "/"), strings.TrimPrefix(b, "/")
	if a == "" || a == "." || b == "" || b == "." {
		return true
	}
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// point is a validated mount point.
type point struct {
	path string
	fs   backend.FS
}

// mountFS is the composite. Apart from the close fields it is immutable
// after New.
type mountFS struct {
	root   backend.FS
	points []*point  // sorted by path, pairwise non-overlapping
	built  time.Time // ModTime of plain synthetic directories

	closeOnce sync.Once
	closeErr  error // written once inside closeOnce
}

// kind says how a name relates to the mount points.
type kind int

const (
	onRoot   kind = iota // a plain name on the root FS
	ancestor             // "." or a directory that contains a mount point
	atPoint              // a mount point itself
	inPoint              // a name below a mount point
)

// target is where a name goes.
type target struct {
	kind kind
	pt   *point     // the mount for atPoint and inPoint, else nil
	fs   backend.FS // the owning FS
	name string     // the name within fs ("." for atPoint)
}

// route classifies name. It only matches whole elements; name is expected
// to have passed backend.CheckName.
func (m *mountFS) route(name string) target {
	for _, p := range m.points {
		switch {
		case name == p.path:
			return target{kind: atPoint, pt: p, fs: p.fs, name: "."}
		case strings.HasPrefix(name, p.path+"/"):
			return target{kind: inPoint, pt: p, fs: p.fs, name: name[len(p.path)+1:]}
		case name == "." || strings.HasPrefix(p.path, name+"/"):
			// Points do not overlap, so name cannot also be inside one.
			return target{kind: ancestor, fs: m.root, name: name}
		}
	}
	return target{kind: onRoot, fs: m.root, name: name}
}

// child is a mount point or ancestor directly inside some directory.
type child struct {
	elem string // the entry name
	path string // its full name
	pt   *point // set when it is a mount point
}

// children returns the mount points and ancestors directly inside dir,
// sorted by name. It is empty unless dir is "." or an ancestor.
func (m *mountFS) children(dir string) []child {
	var out []child
	for _, p := range m.points {
		rest, ok := p.path, dir == "."
		if !ok {
			rest, ok = strings.CutPrefix(p.path, dir+"/")
		}
		if !ok {
			continue
		}
		elem, _, deeper := strings.Cut(rest, "/")
		c := child{elem: elem, path: backend.Join(dir, elem)}
		if !deeper {
			c.pt = p
		}
		if !slices.ContainsFunc(out, func(o child) bool { return o.elem == elem }) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b child) int { return cmp.Compare(a.elem, b.elem) })
	return out
}

// plainDir describes a synthetic directory that has nothing better to
// report.
func (m *mountFS) plainDir(elem string) backend.FileInfo {
	return backend.FileInfo{FName: elem, FMode: fs.ModeDir | 0o755, FModTime: m.built}
}

// pointInfo describes the mount point p under the entry name elem from
// Stat(".") on the mounted FS.
func pointInfo(ctx context.Context, p *point, elem string) (fs.FileInfo, error) {
	fi, err := p.fs.Stat(ctx, ".")
	if err != nil {
		return nil, fmt.Errorf("stat mount point %s: %w", p.path, err)
	}
	return backend.FileInfo{
		FName:    elem,
		FMode:    fs.ModeDir | fi.Mode().Perm(),
		FModTime: fi.ModTime(),
	}, nil
}

// ancestorInfo describes the ancestor name (not "."): the root FS's
// directory if it holds one, else a plain synthetic directory. Errors
// other than a missing name or a file in the way are returned.
func (m *mountFS) ancestorInfo(ctx context.Context, name string) (fs.FileInfo, error) {
	elem := path.Base(name)
	fi, err := m.root.Stat(ctx, name)
	switch {
	case err == nil && fi.IsDir():
		return backend.FileInfo{FName: elem, FSize: fi.Size(), FMode: fi.Mode(), FModTime: fi.ModTime()}, nil
	case err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, backend.ErrNotDir):
		return m.plainDir(elem), nil
	}
	return nil, err
}

// childInfo is the listing entry for c; it never fails, falling back to a
// plain directory.
func (m *mountFS) childInfo(ctx context.Context, c child) fs.FileInfo {
	var fi fs.FileInfo
	var err error
	if c.pt != nil {
		fi, err = pointInfo(ctx, c.pt, c.elem)
	} else {
		fi, err = m.ancestorInfo(ctx, c.path)
	}
	if err != nil {
		return m.plainDir(c.elem)
	}
	return fi
}

// check validates a call's context and names, as every backend does first.
func check(ctx context.Context, op string, names ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, name := range names {
		if err := backend.CheckName(name); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// wrap adds the mount's path to an error from a mounted FS, whose own
// messages name paths relative to the mount.
func (t target) wrap(err error) error {
	if err == nil || t.pt == nil {
		return err
	}
	return fmt.Errorf("mount %s: %w", t.pt.path, err)
}

// refuse builds the error for an operation the composite refuses itself.
func refuse(op, name, why string, sentinel error) error {
	return fmt.Errorf("%s %s: %s: %w", op, name, why, sentinel)
}
