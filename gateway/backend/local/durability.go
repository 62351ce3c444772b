package local

import (
	"errors"
	"path"
	"sync/atomic"
	"syscall"
)

// Durability says how much an upload does to survive a crash of the host
// (power loss, kernel panic) once Commit has returned. A crash of the
// gateway process alone loses nothing in either mode: the kernel still
// holds the data.
type Durability string

const (
	// DurabilityFsync, the default (also the zero value ""), writes an
	// upload back to the disk while it arrives, fsyncs the file before
	// Commit renames it into place and fsyncs the directory after, so
	// after a crash the final name holds either the old file or the
	// complete new one, never an empty or partial file.
	DurabilityFsync Durability = "fsync"
	// DurabilityNone leaves writeback to the kernel: no early writeback,
	// no fsync of the file or of its directory. The rename is still
	// atomic while the host runs, but after a crash a file committed in
	// the last seconds (up to the kernel's dirty expiry, typically 30 s)
	// may be missing, empty or partial under its final name, depending on
	// the filesystem, and a client was told it had been stored.
	DurabilityNone Durability = "none"
)

// valid reports whether d is one of the modes or the zero value.
func (d Durability) valid() bool {
	return d == "" || d == DurabilityFsync || d == DurabilityNone
}

// syncs reports whether uploads are synced; anything but DurabilityNone
// is taken as DurabilityFsync, the safe mode.
func (d Durability) syncs() bool {
	return d != DurabilityNone
}

// Early writeback. Tests and benchmarks change these; they are read when
// an upload is created or written, and no test in this package runs in
// parallel with one that changes them.
var (
	// earlyWriteback starts writeback of every full writebackChunk while
	// an upload is written (Linux only; see haveWriteback), so that the
	// fsync in Commit has little left to write.
	earlyWriteback = true
	// writebackChunk is the size of the ranges handed to writeback.
	writebackChunk int64 = 8 << 20
	// writebackWait makes a writer wait for the chunk writebackLag chunks
	// before the one just started, so no more than about writebackLag+1
	// chunks per upload are dirty or in flight: the upload runs at the
	// disk's speed instead of filling the page cache and stalling later.
	writebackWait = true
	// writebackLag is at least 1. 2 measured faster than 1 (which
	// leaves the disk idle while the writer waits) and than not waiting.
	writebackLag int64 = 2
)

// syncCounts counts the sync calls an Opener's sessions make, for tests.
type syncCounts struct {
	file      atomic.Int64 // fsync of an upload's file
	dir       atomic.Int64 // fsync of the directory after a commit
	writeback atomic.Int64 // chunks handed to early writeback
}

// writeback starts writeback of each full chunk written since the last
// call and, with writebackWait, waits for the chunk writebackLag before
// it; mu must be held. Ranges start at u.base, the file offset where the
// upload began.
func (u *upload) writeback() error {
	for u.wb && u.written-u.submitted >= writebackChunk {
		off := u.base + u.submitted
		err := startWriteback(u.f, off, writebackChunk)
		if lag := writebackLag * writebackChunk; err == nil && writebackWait && u.submitted >= lag {
			err = waitWriteback(u.f, off-lag, writebackChunk)
		}
		if err != nil {
			return u.writebackFailed(err)
		}
		u.fs.counts.writeback.Add(1)
		u.submitted += writebackChunk
	}
	return nil
}

// writebackFailed handles an error of early writeback; mu must be held.
// Where the filesystem does not support it, writeback is left to Commit's
// fsync. Any other error fails the upload: waiting on a range consumes a
// writeback error the way fsync does (the kernel reports it to each open
// file once), so the fsync in Commit would no longer see it.
func (u *upload) writebackFailed(err error) error {
	u.wb = false
	if unsupported(err) {
		return nil
	}
	u.wbErr = err
	return err
}

// unsupported reports whether err means the filesystem or kernel does not
// offer sync_file_range.
func unsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ESPIPE)
}

// syncFile fsyncs the upload's file; mu must be held.
func (u *upload) syncFile() error {
	u.fs.counts.file.Add(1)
	return u.f.Sync()
}

// syncDir fsyncs the directory holding the upload's name, so that the
// rename or link (or the creation of a new file) survives a crash too.
// Filesystems that cannot fsync a directory answer EINVAL; that is not an
// error.
func (u *upload) syncDir() error {
	u.fs.counts.dir.Add(1)
	d, err := u.fs.root.Open(path.Dir(u.name))
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) {
		err = nil
	}
	return errors.Join(err, d.Close())
}
