package backendtest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// checkName is the contract's name rule.
func checkName(name string) error { return backend.CheckName(name) }

// homeElems validates home with backend.CheckHome and splits it into
// path elements (none for "/").
func homeElems(home string) ([]string, error) {
	rel, err := backend.CheckHome(home)
	if err != nil || rel == "." {
		return nil, err
	}
	return strings.Split(rel, "/"), nil
}

// MemOpener is an in-memory backend.Opener. Every session opened on it
// shares one tree, so two homes are two directories of that tree. The zero
// value is not usable; call NewMemOpener.
type MemOpener struct {
	now func() time.Time

	mu     sync.Mutex
	root   *memNode  // guarded by mu, as is every node below it
	closed bool      // guarded by mu
	f      memFaults // guarded by mu
}

// NewMemOpener returns an empty in-memory backend with every capability,
// no size limit and no faults.
func NewMemOpener() *MemOpener {
	o := &MemOpener{now: time.Now}
	o.root = o.newDir("/")
	o.f = memFaults{caps: backend.AllCaps, uploads: map[*memUpload]struct{}{}}
	return o
}

var (
	_ backend.Opener = (*MemOpener)(nil)
	_ backend.FS     = (*memFS)(nil)
	_ backend.Lister = (*memLister)(nil)
)

// memNode is a file or a directory. Fields are guarded by MemOpener.mu.
// A file's data is never modified in place while a reader may hold it:
// readers take a snapshot and clear owner, and writers copy the data
// unless they own it.
type memNode struct {
	name     string
	dir      bool
	children map[string]*memNode // directories only
	data     memData             // files only
	owner    *memUpload          // the in-place upload that may write data directly
	mod      time.Time
	denied   bool // MemOpener.Deny: the storage refuses access
}

func (o *MemOpener) newDir(name string) *memNode {
	return &memNode{name: name, dir: true, children: map[string]*memNode{}, mod: o.now()}
}

func (n *memNode) info(name string) backend.FileInfo {
	if n.dir {
		return backend.FileInfo{FName: name, FMode: fs.ModeDir | 0o755, FModTime: n.mod}
	}
	return backend.FileInfo{FName: name, FSize: n.data.size, FMode: 0o644, FModTime: n.mod}
}

// Open returns a session rooted at home, creating missing directories.
func (o *MemOpener) Open(ctx context.Context, home string) (backend.FS, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	elems, err := homeElems(home)
	if err != nil {
		return nil, err
	}
	if err := o.stallWait(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", home, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, fmt.Errorf("open %s: opener closed: %w", home, backend.ErrUnavailable)
	}
	if o.f.down {
		return nil, fmt.Errorf("open %s: %w", home, errDown)
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
	return &memFS{o: o, home: n, gen: o.f.gen}, nil
}

// Probe reports whether the opener is still open and its storage up.
func (o *MemOpener) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := o.stallWait(ctx); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return fmt.Errorf("probe: %w", backend.ErrUnavailable)
	case o.f.down:
		return fmt.Errorf("probe: %w", errDown)
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
	gen    uint64 // the fault generation the session was opened in
	closed bool   // guarded by o.mu
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
	if err := m.o.stallWait(ctx); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	m.o.mu.Lock()
	if err := m.alive(); err != nil {
		m.o.mu.Unlock()
		return fmt.Errorf("%s: %w", op, err)
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
		if n.denied {
			return nil, fs.ErrPermission
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
	p := m.home
	if dir != "" {
		var err error
		if p, err = m.lookup(strings.TrimSuffix(dir, "/")); err != nil {
			return nil, "", err
		}
	}
	switch {
	case !p.dir:
		return nil, "", backend.ErrNotDir
	case p.denied:
		return nil, "", fs.ErrPermission
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

// ReadDir implements backend.FS. The listing is a snapshot of the
// directory's entries taken now, in map order (deliberately unsorted);
// Next builds the FileInfos of one batch at a time.
func (m *memFS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
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
	if n.denied {
		return nil, opErr("readdir", name, fs.ErrPermission)
	}
	nodes := make([]*memNode, 0, len(n.children))
	for _, c := range n.children {
		nodes = append(nodes, c)
	}
	return &memLister{fs: m, name: name, nodes: nodes}, nil
}

// memLister streams a directory snapshot; it is used by one goroutine.
type memLister struct {
	fs    *memFS
	name  string
	nodes []*memNode // entries not yet returned
}

// Next implements backend.Lister.
func (l *memLister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	if l.nodes == nil {
		return nil, io.EOF
	}
	if err := l.fs.begin(ctx, "readdir"); err != nil {
		return nil, fmt.Errorf("%s: %w", l.name, err)
	}
	defer l.fs.o.mu.Unlock()
	if len(l.nodes) == 0 {
		l.nodes = nil
		return nil, io.EOF
	}
	if n <= 0 || n > len(l.nodes) {
		n = len(l.nodes)
	}
	out := make([]fs.FileInfo, n)
	for i, c := range l.nodes[:n] {
		out[i] = c.info(c.name)
	}
	l.nodes = l.nodes[n:]
	return out, nil
}

// Close implements backend.Lister.
func (l *memLister) Close() error {
	l.nodes = nil
	return nil
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
	if n.denied {
		return nil, opErr("open", name, fs.ErrPermission)
	}
	n.owner = nil // the snapshot below must not change
	return &memReader{fs: m, ctx: ctx, name: name, data: n.data, off: offset}, nil
}

// memReader reads a snapshot of a file; its fields after name are guarded
// by fs.o.mu.
type memReader struct {
	fs     *memFS
	ctx    context.Context
	name   string
	data   memData
	off    int64
	closed bool
}

// Read implements io.Reader. It fails once the context is done or the
// session is gone (MemOpener.Kill, Stop) and waits while the storage
// stalls.
func (r *memReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, opErr("read", r.name, err)
	}
	if err := r.fs.o.stallWait(r.ctx); err != nil {
		return 0, opErr("read", r.name, err)
	}
	o := r.fs.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.closed {
		return 0, opErr("read", r.name, fs.ErrClosed)
	}
	if err := r.fs.alive(); err != nil {
		return 0, opErr("read", r.name, err)
	}
	if r.off >= r.data.size {
		return 0, io.EOF
	}
	n := r.data.readAt(p, r.off)
	r.off += int64(n)
	return n, nil
}

// Close implements io.Closer.
func (r *memReader) Close() error {
	r.fs.o.mu.Lock()
	defer r.fs.o.mu.Unlock()
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
	if n.dir && !m.o.f.caps.Has(backend.CapRenameDir) {
		return wrap(errUnsupported(backend.CapRenameDir))
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

// Chtimes implements backend.FS.
func (m *memFS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	if err := m.begin(ctx, "chtimes", name); err != nil {
		return err
	}
	defer m.o.mu.Unlock()
	if !m.o.f.caps.Has(backend.CapChtimes) {
		return opErr("chtimes", name, errUnsupported(backend.CapChtimes))
	}
	n, err := m.lookup(name)
	if err == nil && n.denied {
		err = fs.ErrPermission
	}
	if err != nil {
		return opErr("chtimes", name, err)
	}
	n.mod = mtime
	return nil
}

// Caps implements backend.FS: every capability unless SetCaps took some
// away.
func (m *memFS) Caps(string) backend.Caps {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	return m.o.f.caps
}

// Usage implements backend.FS: the files under the home and their sizes.
func (m *memFS) Usage(ctx context.Context) (backend.Usage, error) {
	if err := m.begin(ctx, "usage"); err != nil {
		return backend.Usage{}, err
	}
	defer m.o.mu.Unlock()
	if !m.o.f.caps.Has(backend.CapUsage) {
		return backend.Usage{}, fmt.Errorf("usage: %w", errUnsupported(backend.CapUsage))
	}
	return m.home.usage(), nil
}

// usage counts the files at and below n; the lock must be held.
func (n *memNode) usage() backend.Usage {
	if !n.dir {
		return backend.Usage{Bytes: n.data.size, Files: 1}
	}
	var total backend.Usage
	for _, c := range n.children {
		total = total.Add(c.usage())
	}
	return total
}

// Close implements backend.FS; later calls fail with fs.ErrClosed.
func (m *memFS) Close() error {
	m.o.mu.Lock()
	defer m.o.mu.Unlock()
	m.closed = true
	return nil
}
