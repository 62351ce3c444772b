package backendtest

import (
	"context"
	"fmt"
	"io/fs"
	"slices"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Create implements backend.FS. WriteReplace and WriteExclusive buffer the
// data in the upload and place it on Commit; WriteAppend and WriteAt write
// through to the file, as a disk would.
func (m *memFS) Create(ctx context.Context, name string, mode backend.WriteMode, offset int64) (backend.Upload, error) {
	if mode < backend.WriteReplace || mode > backend.WriteAt || (mode == backend.WriteAt && offset < 0) {
		return nil, opErr("create", name, fs.ErrInvalid)
	}
	if mode != backend.WriteAt {
		offset = 0
	}
	if err := m.begin(ctx, "create", name); err != nil {
		return nil, err
	}
	defer m.o.mu.Unlock()
	if name == "." {
		return nil, opErr("create", name, backend.ErrIsDir)
	}
	p, base, err := m.parent(name)
	if err != nil {
		return nil, opErr("create", name, err)
	}
	old, exists := p.children[base]
	if exists && old.dir {
		return nil, opErr("create", name, backend.ErrIsDir)
	}
	u := &memUpload{fs: m, ctx: ctx, name: name, mode: mode, offset: offset}
	switch mode {
	case backend.WriteExclusive:
		if exists {
			return nil, opErr("create", name, fs.ErrExist)
		}
	case backend.WriteAppend, backend.WriteAt:
		size := int64(0)
		if exists {
			size = int64(len(old.data))
		}
		if offset > size {
			return nil, fmt.Errorf("create %s: offset %d beyond size %d: %w", name, offset, size, fs.ErrInvalid)
		}
		if !exists {
			old = &memNode{name: base, mod: m.o.now()}
			p.children[base] = old
			p.mod = old.mod
		}
		u.node = old
	}
	return u, nil
}

// memUpload is one upload; its fields after fs are guarded by fs.o.mu.
type memUpload struct {
	fs     *memFS
	ctx    context.Context
	name   string
	mode   backend.WriteMode
	offset int64

	buf     []byte   // WriteReplace, WriteExclusive
	node    *memNode // WriteAppend, WriteAt
	written int64
	done    bool
}

// Write implements io.Writer.
func (u *memUpload) Write(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, opErr("write", u.name, err)
	}
	u.fs.o.mu.Lock()
	defer u.fs.o.mu.Unlock()
	if u.done {
		return 0, opErr("write", u.name, fs.ErrClosed)
	}
	switch u.mode {
	case backend.WriteReplace, backend.WriteExclusive:
		u.buf = append(u.buf, p...)
	case backend.WriteAppend:
		u.writeAt(int64(len(u.node.data)), p)
	case backend.WriteAt:
		u.writeAt(u.offset+u.written, p)
	}
	u.written += int64(len(p))
	return len(p), nil
}

// writeAt writes p into the file in place, copying the data first unless
// this upload owns it (no reader holds a snapshot of it).
func (u *memUpload) writeAt(off int64, p []byte) {
	n := u.node
	end := int(off) + len(p)
	if n.owner != u {
		n.data = slices.Clone(n.data)
		n.owner = u
	}
	if end > len(n.data) {
		n.data = slices.Grow(n.data, end-len(n.data))[:end]
	}
	copy(n.data[off:], p)
	n.mod = u.fs.o.now()
}

// Commit implements backend.Upload.
func (u *memUpload) Commit() error {
	if err := u.ctx.Err(); err != nil {
		u.Abort()
		return opErr("commit", u.name, err)
	}
	u.fs.o.mu.Lock()
	defer u.fs.o.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	switch u.mode {
	case backend.WriteAppend:
		u.node.owner = nil
		return nil
	case backend.WriteAt:
		n := u.node
		n.data = n.data[:min(int64(len(n.data)), u.offset+u.written)]
		n.owner = nil
		n.mod = u.fs.o.now()
		return nil
	}
	if u.fs.closed {
		return opErr("commit", u.name, fs.ErrClosed)
	}
	p, base, err := u.fs.parent(u.name)
	if err != nil {
		return opErr("commit", u.name, err)
	}
	if old, ok := p.children[base]; ok {
		if old.dir {
			return opErr("commit", u.name, backend.ErrIsDir)
		}
		if u.mode == backend.WriteExclusive {
			return opErr("commit", u.name, fs.ErrExist)
		}
	}
	now := u.fs.o.now()
	p.children[base] = &memNode{name: base, data: u.buf, mod: now}
	p.mod = now
	u.buf = nil
	return nil
}

// Abort implements backend.Upload. Data already written by WriteAppend or
// WriteAt stays, as on disk.
func (u *memUpload) Abort() error {
	u.fs.o.mu.Lock()
	defer u.fs.o.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	u.buf = nil
	if u.node != nil && u.node.owner == u {
		u.node.owner = nil
	}
	return nil
}
