package backendtest

import (
	"context"
	"fmt"
	"io/fs"

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
	if err := m.modeSupported(mode); err != nil {
		return nil, opErr("create", name, err)
	}
	if name == "." {
		return nil, opErr("create", name, backend.ErrIsDir)
	}
	p, base, err := m.parent(name)
	if err != nil {
		return nil, opErr("create", name, err)
	}
	old, exists := p.children[base]
	switch {
	case exists && old.dir:
		return nil, opErr("create", name, backend.ErrIsDir)
	case exists && old.denied && mode >= backend.WriteAppend:
		return nil, opErr("create", name, fs.ErrPermission)
	}
	u := &memUpload{fs: m, ctx: ctx, name: name, mode: mode, offset: offset}
	switch mode {
	case backend.WriteReplace, backend.WriteExclusive:
		if exists && mode == backend.WriteExclusive {
			return nil, opErr("create", name, fs.ErrExist)
		}
		m.o.f.uploads[u] = struct{}{}
	case backend.WriteAppend, backend.WriteAt:
		size := int64(0)
		if exists {
			size = old.data.size
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

// modeSupported refuses the modes whose capability SetCaps took away.
func (m *memFS) modeSupported(mode backend.WriteMode) error {
	switch caps := m.o.f.caps; {
	case mode == backend.WriteAppend && !caps.Has(backend.CapAppend):
		return errUnsupported(backend.CapAppend)
	case mode == backend.WriteAt && !caps.Has(backend.CapResume):
		return errUnsupported(backend.CapResume)
	}
	return nil
}

// memUpload is one upload; its fields after offset are guarded by
// fs.o.mu.
type memUpload struct {
	fs     *memFS
	ctx    context.Context
	name   string
	mode   backend.WriteMode
	offset int64

	buf     memData  // WriteReplace, WriteExclusive
	node    *memNode // WriteAppend, WriteAt
	written int64
	done    bool
}

// Write implements io.Writer.
func (u *memUpload) Write(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, opErr("write", u.name, err)
	}
	o := u.fs.o
	if err := o.stallWait(u.ctx); err != nil {
		return 0, opErr("write", u.name, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if u.done {
		return 0, opErr("write", u.name, fs.ErrClosed)
	}
	if err := u.fs.alive(); err != nil {
		return 0, opErr("write", u.name, err)
	}
	off := u.buf.size
	switch u.mode {
	case backend.WriteAppend:
		off = u.node.data.size
	case backend.WriteAt:
		off = u.offset + u.written
	}
	grow := int64(len(p))
	if u.node != nil {
		grow = off + int64(len(p)) - u.node.data.size
	}
	if err := o.checkSpace(grow); err != nil {
		return 0, opErr("write", u.name, err)
	}
	if u.node == nil {
		u.buf.writeAt(off, p)
	} else {
		u.writeInPlace(off, p)
	}
	u.written += int64(len(p))
	return len(p), nil
}

// writeInPlace writes p into the file, copying the data first unless
// this upload owns it (no reader holds a snapshot of it).
func (u *memUpload) writeInPlace(off int64, p []byte) {
	n := u.node
	if n.owner != u {
		n.data = n.data.clone()
		n.owner = u
	}
	n.data.writeAt(off, p)
	n.mod = u.fs.o.now()
}

// Commit implements backend.Upload.
func (u *memUpload) Commit() error {
	if err := u.ctx.Err(); err != nil {
		u.Abort()
		return opErr("commit", u.name, err)
	}
	o := u.fs.o
	if err := o.stallWait(u.ctx); err != nil {
		u.Abort()
		return opErr("commit", u.name, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if u.done {
		return nil
	}
	u.finish()
	if err := u.fs.alive(); err != nil {
		return opErr("commit", u.name, err)
	}
	switch u.mode {
	case backend.WriteAppend:
		return nil
	case backend.WriteAt:
		n := u.node
		n.data = n.data.truncated(u.offset + u.written)
		n.mod = o.now()
		return nil
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
	now := o.now()
	p.children[base] = &memNode{name: base, data: u.buf, mod: now}
	p.mod = now
	u.buf = memData{}
	return nil
}

// finish marks the upload done and lets go of what it holds; the lock
// must be held.
func (u *memUpload) finish() {
	u.done = true
	delete(u.fs.o.f.uploads, u)
	if u.node != nil && u.node.owner == u {
		u.node.owner = nil
	}
}

// Abort implements backend.Upload. Data already written by WriteAppend or
// WriteAt stays, as on disk.
func (u *memUpload) Abort() error {
	u.fs.o.mu.Lock()
	defer u.fs.o.mu.Unlock()
	if u.done {
		return nil
	}
	u.finish()
	u.buf = memData{}
	return nil
}
