package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// CheckHome validates a home handed to Opener.Open: a clean absolute slash
// path whose elements pass CheckName. It returns the home relative to the
// backend's root ("." for "/"). Violations wrap fs.ErrInvalid.
func CheckHome(home string) (string, error) {
	if !strings.HasPrefix(home, "/") || path.Clean(home) != home {
		return "", fmt.Errorf("home %q is not a clean absolute path: %w", home, fs.ErrInvalid)
	}
	if home == "/" {
		return ".", nil
	}
	rel := home[1:]
	if err := CheckName(rel); err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	return rel, nil
}

// Join joins a directory name and an entry name under the contract's rules
// ("." is the root).
func Join(dir, elem string) string {
	if dir == "." || dir == "" {
		return elem
	}
	return dir + "/" + elem
}

// SliceLister is a Lister over entries already in memory, for backends whose
// storage hands over a directory in one piece and for tests.
type SliceLister struct {
	entries []fs.FileInfo
}

// NewSliceLister returns a Lister that yields entries in order.
func NewSliceLister(entries []fs.FileInfo) *SliceLister {
	return &SliceLister{entries: entries}
}

// Next implements Lister.
func (l *SliceLister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(l.entries) == 0 {
		return nil, io.EOF
	}
	if n <= 0 || n > len(l.entries) {
		n = len(l.entries)
	}
	out := l.entries[:n:n]
	l.entries = l.entries[n:]
	return out, nil
}

// Close implements Lister.
func (l *SliceLister) Close() error {
	l.entries = nil
	return nil
}

// ReadAll drains a directory listing into memory. It is meant for small
// directories and tests; the gateway streams.
func ReadAll(ctx context.Context, fsys FS, name string) ([]fs.FileInfo, error) {
	l, err := fsys.ReadDir(ctx, name)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var all []fs.FileInfo
	for {
		batch, err := l.Next(ctx, ListBatch)
		all = append(all, batch...)
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

// WalkUsage counts the regular files under dir and their sizes by walking the
// tree through ReadDir. It is the fallback for backends whose storage keeps
// no cheaper count; an error anywhere fails the whole count, so a partial
// walk is never taken for the usage.
func WalkUsage(ctx context.Context, fsys FS, dir string) (Usage, error) {
	var total Usage
	stack := []string{dir}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, err := fsys.ReadDir(ctx, d)
		if err != nil {
			return Usage{}, fmt.Errorf("usage of %s: %w", d, err)
		}
		for {
			batch, err := l.Next(ctx, ListBatch)
			for _, fi := range batch {
				switch {
				case fi.IsDir():
					stack = append(stack, Join(d, fi.Name()))
				case fi.Mode().IsRegular():
					total.Bytes += fi.Size()
					total.Files++
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				l.Close()
				return Usage{}, fmt.Errorf("usage of %s: %w", d, err)
			}
		}
		l.Close()
	}
	return total, nil
}
