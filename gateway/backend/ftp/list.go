package ftp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// maxListLine bounds one listing line (a name is at most 255 bytes of
// what the gateway serves; the rest is facts or ls columns).
const maxListLine = 16 << 10

var errListLine = errors.New("upstream listing line longer than 16 KiB")

// listing is one streamed MLSD or LIST on a link.
type listing struct {
	l    *link
	d    *ftpclient.Data
	br   *bufio.Reader
	mlsd bool
	now  time.Time
	done bool
}

// startList enters dir (so no listing option or glob in the name can be
// misread) and starts its listing.
func (l *link) startList(dir string) (*listing, error) {
	if _, err := l.expect(250, "CWD", dir); err != nil {
		return nil, err
	}
	verb, arg, _ := strings.Cut(l.listCmd, " ")
	d, err := l.transfer(verb, arg, 0)
	if err != nil {
		return nil, err
	}
	ls := &listing{l: l, d: d, mlsd: l.listCmd == "MLSD", now: time.Now()}
	ls.br = bufio.NewReaderSize(d, maxListLine)
	return ls, nil
}

// next returns the next parsed entry; io.EOF after the upstream's final
// 2xx reply. Lines it cannot parse ("total 12") are skipped.
func (ls *listing) next() (entry, error) {
	for {
		line, err := ls.br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return entry{}, errListLine
		case errors.Is(err, io.EOF) && len(line) == 0:
			ls.done = true
			if err := ls.l.finish(ls.d); err != nil {
				return entry{}, err
			}
			return entry{}, io.EOF
		case err != nil && !errors.Is(err, io.EOF):
			return entry{}, err
		}
		text := string(bytes.TrimRight(line, "\r\n"))
		var e entry
		var perr error
		if ls.mlsd {
			e, perr = ftpclient.ParseMLSx(text)
		} else {
			e, perr = ftpclient.ParseList(text, ls.now)
		}
		if perr == nil {
			return e, nil
		}
	}
}

// stop ends the listing early.
func (ls *listing) stop() {
	if !ls.done {
		ls.done = true
		ls.l.abandon(ls.d)
	}
}

// list streams dir's entries to each until it returns false.
func (l *link) list(dir string, each func(entry) bool) error {
	ls, err := l.startList(dir)
	if err != nil {
		return err
	}
	for {
		e, err := ls.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			l.kill()
			return err
		}
		if !each(e) {
			ls.stop()
			return nil
		}
	}
}

// visible reports whether a listed entry is served: files and
// directories with a name that is one valid path element and not the
// backend's own.
func visible(e entry) bool {
	if e.Kind != kindFile && e.Kind != kindDir {
		return false
	}
	return e.Name != "." && e.Name != ".." && !strings.Contains(e.Name, "/") && checkName(e.Name) == nil
}

// info converts a listed entry.
func info(e entry) backend.FileInfo {
	fi := backend.FileInfo{FName: e.Name, FSize: e.Size, FModTime: e.MTime, FMode: e.Perm}
	switch {
	case e.Kind == kindDir:
		fi.FSize = 0
		if fi.FMode == 0 {
			fi.FMode = 0o755
		}
		fi.FMode |= fs.ModeDir
	case fi.FMode == 0:
		fi.FMode = 0o644
	}
	return fi
}

// ReadDir implements backend.FS: a streamed MLSD or LIST of name.
func (s *FS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	if err := begin(ctx, name); err != nil {
		return nil, fail("readdir", name, err)
	}
	l, err := s.get(ctx)
	if err != nil {
		return nil, fail("readdir", name, err)
	}
	end := l.c.Bind(ctx)
	p := s.abs(name)
	ls, err := l.startList(p)
	if err != nil {
		err = explain(err, func() (error, error) {
			_, st, err := l.look(p, s.home)
			switch st {
			case stMissing:
				return fs.ErrNotExist, err
			case stFile:
				return backend.ErrNotDir, err
			}
			return fs.ErrPermission, err
		})
		err = l.classify(ctx, err)
		end()
		s.put(l)
		return nil, fail("readdir", name, err)
	}
	return &dirLister{s: s, ls: ls, ctx: ctx, end: end, name: name}, nil
}

// dirLister is the Lister of ReadDir. It holds its link until the end or
// Close.
type dirLister struct {
	s    *FS
	ls   *listing
	ctx  context.Context // ReadDir's: the link is bound to it
	end  func()
	name string

	mu  sync.Mutex
	err error // guarded by mu: sticky, io.EOF at the end
}

// Next implements backend.Lister.
func (d *dirLister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, d.err
	}
	if err := ctx.Err(); err != nil {
		return nil, fail("readdir", d.name, err)
	}
	if n <= 0 {
		n = backend.ListBatch
	}
	var out []fs.FileInfo
	for len(out) < n {
		e, err := d.ls.next()
		if err != nil {
			d.release(err)
			if errors.Is(err, io.EOF) && len(out) > 0 {
				return out, nil // io.EOF on the next call
			}
			return out, d.err
		}
		if visible(e) {
			out = append(out, info(e))
		}
	}
	return out, nil
}

// release ends the listing with err (io.EOF at its end) and gives the
// link back; mu must be held.
func (d *dirLister) release(err error) {
	if !errors.Is(err, io.EOF) {
		err = fail("readdir", d.name, d.ls.l.classify(d.ctx, err))
	}
	d.err = err
	d.end()
	d.s.put(d.ls.l)
}

// Close implements backend.Lister.
func (d *dirLister) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil
	}
	d.ls.stop()
	d.err = fmt.Errorf("listing closed: %w", fs.ErrClosed)
	d.end()
	d.s.put(d.ls.l)
	return nil
}
