package local

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// BenchmarkUpload writes a 64 MiB upload through Create, Write (32 KiB at
// a time, as io.Copy does) and Commit with each durability and with and
// without early writeback. Each iteration writes a new name, as most STOR
// commands do; the files are removed with the timer stopped. The files go
// to b.TempDir, so TMPDIR must be on the disk to measure, not a tmpfs,
// where fsync costs nothing. "none" measures what a client waits for, not
// the writeback the kernel still does afterwards.
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	buf := make([]byte, 32<<10)
	rand.Read(buf)
	for _, bc := range []struct {
		name       string
		durability Durability
		writeback  bool
		wait       bool
		lag        int64
	}{
		{"fsync/writeback-wait1", DurabilityFsync, true, true, 1},
		{"fsync/writeback-wait2", DurabilityFsync, true, true, 2},
		{"fsync/writeback-nowait", DurabilityFsync, true, false, 1},
		{"fsync/no-writeback", DurabilityFsync, false, false, 1},
		{"none", DurabilityNone, false, false, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			oldOn, oldWait, oldLag := earlyWriteback, writebackWait, writebackLag
			earlyWriteback, writebackWait, writebackLag = bc.writeback, bc.wait, bc.lag
			defer func() { earlyWriteback, writebackWait, writebackLag = oldOn, oldWait, oldLag }()
			o, err := New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			o.Durability = bc.durability
			s, err := o.Open(b.Context(), "/bench")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			b.SetBytes(size)
			i := 0
			for b.Loop() {
				name := fmt.Sprintf("up-%d", i)
				i++
				u, err := s.Create(b.Context(), name, backend.WriteReplace, 0)
				if err != nil {
					b.Fatal(err)
				}
				for n := 0; n < size; n += len(buf) {
					if _, err := u.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				if err := u.Commit(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := s.Remove(b.Context(), name); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkLookup is what a small download asks of the backend by name:
// Stat, Open and Close of an existing file, and the Stat of a missing one
// that precedes a new upload. The file sits one directory down, so the
// symbolic-link check has two elements to look at.
func BenchmarkLookup(b *testing.B) {
	o, err := New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	s, err := o.Open(b.Context(), "/bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Mkdir(b.Context(), "d"); err != nil {
		b.Fatal(err)
	}
	u, err := s.Create(b.Context(), "d/f", backend.WriteReplace, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := u.Write(make([]byte, 4096)); err != nil {
		b.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("stat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Stat(b.Context(), "d/f"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stat-missing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Stat(b.Context(), "d/missing"); !errors.Is(err, fs.ErrNotExist) {
				b.Fatal(err)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := s.Open(b.Context(), "d/f", 0)
			if err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
}
