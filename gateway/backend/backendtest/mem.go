package backendtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// maxNameLen is the longest path element the memory backend accepts, as on
// common Unix filesystems.
const maxNameLen = backend.MaxNameLen

// checkName is the contract's name rule.
func checkName(name string) error { return backend.CheckName(name) }

// checkHome validates a home path: absolute, clean, no NUL or overlong
// element.
func checkHome(home string) ([]string, error) {
	if !strings.HasPrefix(home, "/") || path.Clean(home) != home {
		return nil, fmt.Errorf("home %q is not a clean absolute path: %w", home, fs.ErrInvalid)
	}
	if home == "/" {
		return nil, nil
	}
	rel := home[1:]
	if err := checkName(rel); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	return strings.Split(rel, "/"), nil
}

// MemOpener is an in-memory backend.Opener. Every session opened on it
// shares one tree, so two homes are two directories of that tree. The zero
// value is not usable; call NewMemOpener.
type MemOpener struct {
	now func() time.Time

	mu     sync.Mutex
	root   *memNode // guarded by mu, as is every node below it
	closed bool     // guarded by mu
}

// NewMemOpener returns an empty in-memory backend.
func NewMemOpener() *MemOpener {
	o := &MemOpener{now: time.Now}
	o.root = o.newDir("/")
	return o
}

var (
	_ backend.Opener  = (*MemOpener)(nil)
	_ backend.FS      = (*memFS)(nil)
	_ backend.Chtimer = (*memFS)(nil)
)

// memNode is a file or a directory. Fields are guarded by MemOpener.mu.
// A file's data slice is never modified in place while a reader may hold
// it: readers take a snapshot and clear owner, and writers copy the data
// unless they own it.
type memNode struct {
	name     string
	dir      bool
	children map[string]*memNode // directories only
	data     []byte              // files only
	owner    *memUpload          // the in-place upload that may write data directly
	mod      time.Time
}

func (o *MemOpener) newDir(name string) *memNode {
	return &memNode{name: name, dir: true, children: map[string]*memNode{}, mod: o.now()}
}

func (n *memNode) info(name string) backend.FileInfo {
	if n.dir {
		return backend.FileInfo{FName: name, FMode: fs.ModeDir | 0o755, FModTime: n.mod}
	}
	return backend.FileInfo{FName: name, FSize: int64(len(n.data)), FMode: 0o644, FModTime: n.mod}
}

// Open returns a session rooted at home, creating missing directories.
func (o *MemOpener) Open(ctx context.Context, home string) (backend.FS, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	elems, err := checkHome(home)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, fmt.Errorf("open %s: opener closed: %w", home, backend.ErrUnavailable)
	}
	n := o.root
	for _, e := range elems {
		c, ok := n.children[e]
		if !ok {
			c = o.newDir(e)
			n.children[e] = c
		} else if !c.dir {
			return nil, fmt.Errorf("open home %s: %w", home, backend.ErrNotDir)
		}
		n = c
	}
	return &memFS{o: o, home: n}, nil
}

// Probe reports whether the opener is still open.
func (o *MemOpener) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("probe: %w", backend.ErrUnavailable)
	}
	return nil
}

// Close makes later Open and Probe calls fail; open sessions keep working.
func (o *MemOpener) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	return nil
}

// memFS is one session. Its home node stays valid even if the directory
// is renamed by another session, as an open directory would on disk.
type memFS struct {
	o      *MemOpener
	home   *memNode
	closed bool // guarded by o.mu
}

// begin checks the context and the session and locks the tree; the caller
// must call o.mu.Unlock.
func (m *memFS) begin(ctx context.Context, op string, names ...string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, n := range names {
		if err := checkName(n); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	m.o.mu.Lock()
	if m.closed {
		m.o.mu.Unlock()
		return fmt.Errorf("%s: %w", op, fs.ErrClosed)
	}
	return nil
}

// lookup finds name; the lock must be held.
func (m *memFS) lookup(name string) (*memNode, error) {
	n := m.home
	if name == "." {
		return n, nil
	}
	for e := range strings.SplitSeq(name, "/") {
		if !n.dir {
			return nil, backend.ErrNotDir
		}
		c, ok := n.children[e]
		if !ok {
			return nil, fs.ErrNotExist
		}
		n = c
	}
	return n, nil
}

// parent finds the directory holding name and the last element; the lock
// must be held. name must not be ".".
func (m *memFS) parent(name string) (*memNode, string, error) {
	dir, base := path.Split(name)
	if dir == "" {
		return m.home, base, nil
	}
	p, err := m.lookup(strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, "", err
	}
	if !p.dir {
		return nil, "", backend.ErrNotDir
	}
	return p, base, nil
}

func opErr(op, name string, err error) error {
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// Stat implements backend.FS.
func (m *memFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := m.begin(ctx, "stat", name); err != nil {
		return nil, err
	}
	defer m.o.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return nil, opErr("stat", name, err)
	}
	return n.info(path.Base(name)), nil
}

// ReadDir implements backend.FS.
func (m *memFS) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	if err := m.begin(ctx, "readdir", name); err != nil {
		return nil, err
	}
	defer m.o.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return nil, opErr("readdir", name, err)
	}
	if !n.dir {
		return nil, opErr("readdir", name, backend.ErrNotDir)
	}
	out := make([]fs.FileInfo, 0, len(n.children))
	for k, c := range n.children {
		out = append(out, c.info(k))
	}
	slices.SortFunc(out, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Open implements backend.FS. The reader sees the file as it was when
// opened.
func (m *memFS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, opErr("open", name, fs.ErrInvalid)
	}
	if err := m.begin(ctx, "open", name); err != nil {
		return nil, err
	}
	defer m.o.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return nil, opErr("open", name, err)
	}
	if n.dir {
		return nil, opErr("open", name, backend.ErrIsDir)
	}
	n.owner = nil // the snapshot below must not change
	data := n.data[:len(n.data):len(n.data)]
	return &memReader{ctx: ctx, r: bytes.NewReader(data[min(offset, int64(len(data))):])}, nil
}

type memReader struct {
	ctx    context.Context
	r      *bytes.Reader
	mu     sync.Mutex
	closed bool
}

func (r *memReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fs.ErrClosed
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *memReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// Mkdir implements backend.FS.
func (m *memFS) Mkdir(ctx context.Context, name string) error {
	if name == "." {
		return opErr("mkdir", name, fs.ErrExist)
	}
	if err := m.begin(ctx, "mkdir", name); err != nil {
		return err
	}
	defer m.o.mu.Unlock()
	p, base, err := m.parent(name)
	if err != nil {
		return opErr("mkdir", name, err)
	}
	if _, ok := p.children[base]; ok {
		return opErr("mkdir", name, fs.ErrExist)
	}
	p.children[base] = m.o.newDir(base)
	p.mod = m.o.now()
	return nil
}

// Remove implements backend.FS.
func (m *memFS) Remove(ctx context.Context, name string) error {
	return m.remove(ctx, "remove", name, false)
}

// Rmdir implements backend.FS.
func (m *memFS) Rmdir(ctx context.Context, name string) error {
	return m.remove(ctx, "rmdir", name, true)
}

func (m *memFS) remove(ctx context.Context, op, name string, dir bool) error {
	if name == "." {
		return opErr(op, name, fs.ErrInvalid)
	}
	if err := m.begin(ctx, op, name); err != nil {
		return err
	}
	defer m.o.mu.Unlock()
	p, base, err := m.parent(name)
	if err != nil {
		return opErr(op, name, err)
	}
	n, ok := p.children[base]
	switch {
	case !ok:
		return opErr(op, name, fs.ErrNotExist)
	case dir && !n.dir:
		return opErr(op, name, backend.ErrNotDir)
	case !dir && n.dir:
		return opErr(op, name, backend.ErrIsDir)
	case dir && len(n.children) > 0:
		return opErr(op, name, backend.ErrNotEmpty)
	}
	delete(p.children, base)
	p.mod = m.o.now()
	return nil
}

// Rename implements backend.FS as os.Rename does on Unix: a file replaces
// a file, nothing replaces a directory (fs.ErrExist), a directory does not
// replace a file (ErrNotDir) and cannot move below itself.
func (m *memFS) Rename(ctx context.Context, from, to string) error {
	if from == "." || to == "." {
		return fmt.Errorf("rename %s to %s: %w", from, to, fs.ErrInvalid)
	}
	if err := m.begin(ctx, "rename", from, to); err != nil {
		return err
	}
	defer m.o.mu.Unlock()
	wrap := func(err error) error { return fmt.Errorf("rename %s to %s: %w", from, to, err) }
	fp, fbase, err := m.parent(from)
	if err != nil {
		return wrap(err)
	}
	n, ok := fp.children[fbase]
	if !ok {
		return wrap(fs.ErrNotExist)
	}
	tp, tbase, err := m.parent(to)
	if err != nil {
		return wrap(err)
	}
	if from == to {
		return nil
	}
	if n.dir && strings.HasPrefix(to, from+"/") {
		return wrap(fs.ErrInvalid)
	}
	if old, ok := tp.children[tbase]; ok {
		switch {
		case old.dir:
			return wrap(fs.ErrExist)
		case n.dir:
			return wrap(backend.ErrNotDir)
		}
	}
	delete(fp.children, fbase)
	n.name = tbase
	tp.children[tbase] = n
	now := m.o.now()
	fp.mod, tp.mod = now, now
	return nil
}

// Chtimes implements backend.Chtimer.
func (m *memFS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	if err := m.begin(ctx, "chtimes", name); err != nil {
		return err
	}
	defer m.o.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return opErr("chtimes", name, err)
	}
	n.mod = mtime
	return nil
}

// Close implements backend.FS; later calls fail with fs.ErrClosed.
func (m *memFS) Close() error {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	m.closed = true
	return nil
}
