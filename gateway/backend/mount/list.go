package mount

import (
	"context"
	"io"
	"io/fs"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// lister streams a directory that holds mount points or ancestors: first
// the synthetic entries, then the inner listing batch by batch with
// entries named like a synthetic one left out. It holds at most one of the
// inner Lister's batches at a time. Like any Lister it is used by one
// goroutine at a time, so it needs no lock.
type lister struct {
	synth []fs.FileInfo   // synthetic entries not yet returned
	hide  map[string]bool // names of the synthetic entries; read only
	inner backend.Lister  // the root FS's listing, nil for a synthetic directory
}

var _ backend.Lister = (*lister)(nil)

// Next implements backend.Lister.
func (l *lister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(l.synth) > 0 {
		k := len(l.synth)
		if n > 0 && n < k {
			k = n
		}
		out := l.synth[:k:k]
		l.synth = l.synth[k:]
		return out, nil
	}
	if l.inner == nil {
		return nil, io.EOF
	}
	for {
		batch, err := l.inner.Next(ctx, n)
		kept := l.filter(batch)
		// A batch that held only hidden names is skipped rather than
		// returned empty, so callers see entries or an error.
		if len(kept) > 0 || len(batch) == 0 || err != nil {
			return kept, err
		}
	}
}

// filter returns batch without the hidden names. It copies only when it
// drops something: the batch may share memory with the inner Lister.
func (l *lister) filter(batch []fs.FileInfo) []fs.FileInfo {
	for i, fi := range batch {
		if !l.hide[fi.Name()] {
			continue
		}
		kept := make([]fs.FileInfo, i, len(batch)-1)
		copy(kept, batch[:i])
		for _, fi := range batch[i+1:] {
			if !l.hide[fi.Name()] {
				kept = append(kept, fi)
			}
		}
		return kept
	}
	return batch
}

// Close implements backend.Lister.
func (l *lister) Close() error {
	l.synth = nil
	if l.inner == nil {
		return nil
	}
	err := l.inner.Close()
	l.inner = nil
	return err
}
