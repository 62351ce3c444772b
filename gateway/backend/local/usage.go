package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// caps is what a local directory supports. CapUsage is left out on
// purpose: Usage has to walk the whole home (there is no per-directory
// byte count on a POSIX filesystem), and CapUsage promises a cheap answer.
// Usage still answers, so a caller that accepts the cost of a walk may
// call it.
const caps = backend.AllCaps &^ backend.CapUsage

// Caps implements backend.FS; every name lives on the same directory tree.
func (l *FS) Caps(string) backend.Caps { return caps }

// Usage implements backend.FS by walking the home through the session's
// os.Root: the regular files below it and the sum of their sizes. Symbolic
// links are not followed (a link to another home does not count twice),
// the backend's own hidden files are left out, and a file with several
// hard links counts once per link. It reads one batch of entries at a
// time and stops at the first error or when ctx is done.
func (l *FS) Usage(ctx context.Context) (backend.Usage, error) {
	if err := l.begin(ctx, "usage"); err != nil {
		return backend.Usage{}, err
	}
	var total backend.Usage
	stack := []string{"."}
	for len(stack) > 0 {
		dir := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n, subdirs, err := l.dirUsage(ctx, dir)
		if err != nil {
			return backend.Usage{}, err
		}
		total = total.Add(n)
		stack = append(stack, subdirs...)
	}
	return total, nil
}

// dirUsage counts the regular files directly in dir and returns its real
// (not linked) subdirectories.
func (l *FS) dirUsage(ctx context.Context, dir string) (backend.Usage, []string, error) {
	var total backend.Usage
	f, err := l.root.Open(dir)
	if err != nil {
		return total, nil, l.fail("usage", dir, err)
	}
	defer f.Close()
	var subdirs []string
	for {
		if err := ctx.Err(); err != nil {
			return total, nil, fmt.Errorf("usage: %w", err)
		}
		entries, err := f.ReadDir(backend.ListBatch)
		for _, e := range entries {
			switch {
			case strings.HasPrefix(e.Name(), reservedPrefix):
			case e.IsDir():
				subdirs = append(subdirs, path.Join(dir, e.Name()))
			case e.Type().IsRegular():
				if fi, err := e.Info(); err == nil { // else vanished meanwhile
					total.Bytes += fi.Size()
					total.Files++
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return total, subdirs, nil
		}
		if err != nil {
			return total, nil, l.fail("usage", dir, err)
		}
	}
}
