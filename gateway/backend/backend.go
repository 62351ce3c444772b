// Package backend defines the filesystem contract that every ftpsgw storage
// backend implements: a local directory, an SFTP server, an S3 bucket or an
// upstream FTP server.
//
// # Paths
//
// Every name handed to an FS is a clean, slash-separated path relative to the
// root the FS was opened on (the user's home): "." for the root itself, never
// a leading slash, never "..", never an empty element, never a NUL byte. The
// gateway's path resolver guarantees this; implementations must still refuse
// anything else with an error wrapping fs.ErrInvalid rather than trust it,
// and must never reach outside their root (the local backend is confined by
// os.Root, not by string prefixes).
//
// # Errors
//
// Errors wrap the io/fs sentinels so the gateway can map them to FTP replies
// with errors.Is: fs.ErrNotExist (missing), fs.ErrExist (already there),
// fs.ErrPermission (refused by the storage), fs.ErrInvalid (bad name or
// operation on the wrong kind of file). ErrNotEmpty, ErrIsDir, ErrNotDir and
// ErrUnavailable below cover the remaining cases. Any other error is treated
// as a transient backend failure (451).
//
// # Concurrency and cancellation
//
// An FS is used by one FTP session, but a session may run one transfer while
// its control connection runs other commands, so implementations must be safe
// for concurrent use. Every method honours ctx cancellation as far as the
// underlying storage allows; readers and writers returned by Open and Create
// must return promptly from Read/Write/Close/Abort once the context given to
// Open/Create is cancelled.
//
// # Uploads
//
// Create never exposes a partial file under the final name when the mode is
// WriteReplace or WriteExclusive: data goes to a temporary name and Commit
// moves it into place atomically (as far as the storage offers atomicity), so
// a failed or aborted upload leaves any existing file untouched. WriteAppend
// and WriteAt modify the existing file in place, as the client asked.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// MaxNameLen is the longest path element a backend accepts, in bytes.
const MaxNameLen = 255

// CheckName validates a name handed to an FS: "." or clean, relative,
// slash-separated elements, none empty, "." or "..", none containing NUL,
// none longer than MaxNameLen. Violations wrap fs.ErrInvalid. Backends
// call it first in every method (they may refuse more, never less).
func CheckName(name string) error {
	if name == "." {
		return nil
	}
	if name == "" {
		return fmt.Errorf("empty name: %w", fs.ErrInvalid)
	}
	for elem := range strings.SplitSeq(name, "/") {
		switch {
		case elem == "" || elem == "." || elem == "..":
			return fmt.Errorf("bad path element in %q: %w", name, fs.ErrInvalid)
		case len(elem) > MaxNameLen:
			return fmt.Errorf("path element longer than %d bytes: %w", MaxNameLen, fs.ErrInvalid)
		case strings.IndexByte(elem, 0) >= 0:
			return fmt.Errorf("NUL in name: %w", fs.ErrInvalid)
		}
	}
	return nil
}

// Sentinel errors beyond those of io/fs.
var (
	// ErrNotEmpty reports an attempt to remove a directory that has entries.
	ErrNotEmpty = errors.New("directory not empty")
	// ErrIsDir reports a file operation on a directory.
	ErrIsDir = errors.New("is a directory")
	// ErrNotDir reports a directory operation on a file.
	ErrNotDir = errors.New("not a directory")
	// ErrUnavailable reports that the storage behind the backend cannot be
	// reached right now (network down, upstream refused the session).
	ErrUnavailable = errors.New("backend unavailable")
	// ErrCrossMount reports a rename between two different storages
	// (virtual folders); nothing was moved.
	ErrCrossMount = errors.New("rename across mounts")
	// ErrNoSpace reports that the storage is full (452).
	ErrNoSpace = errors.New("no space left on storage")
	// ErrTooManyObjects reports a directory rename refused because the
	// directory holds more entries than the storage moves one by one (the
	// s3 backend's max_rename_objects). It is decided before anything is
	// copied: nothing was moved (550).
	ErrTooManyObjects = errors.New("directory too large to rename")
)

// WriteMode says how Create treats an existing file.
type WriteMode int

const (
	// WriteReplace writes to a temporary name; Commit replaces any existing
	// file atomically. This is STOR.
	WriteReplace WriteMode = iota
	// WriteExclusive is WriteReplace that fails with fs.ErrExist (at Create
	// or at Commit) if the name exists. This is STOU and STOR for users who
	// may upload but not overwrite.
	WriteExclusive
	// WriteAppend appends to the existing file, creating it if missing. APPE.
	WriteAppend
	// WriteAt writes starting at the given offset into the existing file and,
	// on Commit, truncates it to offset+bytes written, so a resumed upload
	// yields exactly the client's file. REST followed by STOR.
	WriteAt
)

// String names the mode for logs.
func (m WriteMode) String() string {
	switch m {
	case WriteReplace:
		return "replace"
	case WriteExclusive:
		return "exclusive"
	case WriteAppend:
		return "append"
	case WriteAt:
		return "at"
	}
	return "unknown"
}

// Upload is an open upload. Exactly one of Commit or Abort must be called;
// after that, both are no-ops that return nil.
type Upload interface {
	io.Writer
	// Commit makes the written data visible under the final name.
	Commit() error
	// Abort discards the upload; for WriteReplace/WriteExclusive the
	// previous file (if any) is left untouched.
	Abort() error
}

// A StagedUpload keeps its bytes in a file of this host until Commit (the
// local backend's temporary file), where a screening hook can read them
// before the upload is published. Remote storage does not implement it.
type StagedUpload interface {
	Upload
	// StagedFile is the absolute host path of the temporary file, or ""
	// when the upload writes in place (WriteAppend, WriteAt).
	StagedFile() string
	// Quarantine ends the upload in place of Commit or Abort: it moves the
	// temporary file into the host directory dir, under a new name that
	// no earlier quarantined file has, and returns that name's path. On
	// error the temporary file is removed as by Abort.
	Quarantine(dir string) (string, error)
}

// Caps is the set of optional operations a backend's storage supports.
// The gateway consults it before it opens a data connection or touches the
// backend, and answers one consistent reply for what is missing (see
// gateway/replies.go); FEAT and HELP show only what the session's storage
// supports. A method whose capability is absent returns an error wrapping
// errors.ErrUnsupported if it is called anyway.
type Caps uint32

// Capabilities.
const (
	// CapAppend: Create with WriteAppend (APPE).
	CapAppend Caps = 1 << iota
	// CapResume: Create with WriteAt (REST then STOR).
	CapResume
	// CapChtimes: Chtimes (MFMT).
	CapChtimes
	// CapRenameDir: Rename of a directory.
	CapRenameDir
	// CapUsage: Usage answers cheaply (no walk of the whole tree).
	CapUsage
)

// AllCaps is every capability; a full POSIX-like storage has them all.
const AllCaps = CapAppend | CapResume | CapChtimes | CapRenameDir | CapUsage

// Has reports whether every capability in x is in c.
func (c Caps) Has(x Caps) bool { return c&x == x }

// Usage is what a tree holds: the bytes of its regular files and their
// number.
type Usage struct {
	Bytes int64
	Files int64
}

// Add returns the sum of two usages.
func (u Usage) Add(v Usage) Usage { return Usage{Bytes: u.Bytes + v.Bytes, Files: u.Files + v.Files} }

// ListBatch is the number of entries the gateway asks a Lister for at a
// time; backends that page (SFTP, S3) may return fewer or more per call.
const ListBatch = 256

// Lister streams one directory's entries, so a listing of a huge directory
// never sits in memory whole and its first entries go out before the last
// are read. Entries come in the storage's order (not sorted). It is used by
// one goroutine at a time.
type Lister interface {
	// Next returns the next entries, at most n when n > 0. At the end it
	// returns no entries and io.EOF. Each FileInfo's Name is the bare
	// entry name.
	Next(ctx context.Context, n int) ([]fs.FileInfo, error)
	// Close releases the listing; it may be called before the end.
	Close() error
}

// FS is one session's view of a backend, rooted at the user's home.
type FS interface {
	// Stat describes name. Missing: fs.ErrNotExist.
	Stat(ctx context.Context, name string) (fs.FileInfo, error)
	// ReadDir opens a streamed listing of the directory name. Missing:
	// fs.ErrNotExist; not a directory: ErrNotDir. Errors while streaming
	// come from Lister.Next.
	ReadDir(ctx context.Context, name string) (Lister, error)
	// Open opens name for reading from offset. A directory: ErrIsDir.
	Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error)
	// Create starts an upload to name as mode says; offset is used by
	// WriteAt only. The parent directory must exist (fs.ErrNotExist).
	Create(ctx context.Context, name string, mode WriteMode, offset int64) (Upload, error)
	// Mkdir creates one directory; its parent must exist. Exists: fs.ErrExist.
	Mkdir(ctx context.Context, name string) error
	// Remove deletes a file (not a directory: ErrIsDir).
	Remove(ctx context.Context, name string) error
	// Rmdir deletes an empty directory (ErrNotEmpty, ErrNotDir).
	Rmdir(ctx context.Context, name string) error
	// Rename moves from to to, replacing a file at to. It is atomic where
	// the storage allows (local: rename(2)). Between two storages (two
	// mounts) it fails with ErrCrossMount and moves nothing.
	Rename(ctx context.Context, from, to string) error
	// Chtimes sets name's modification time (MFMT). Without CapChtimes it
	// returns an error wrapping errors.ErrUnsupported.
	Chtimes(ctx context.Context, name string, mtime time.Time) error
	// Caps reports the capabilities of the storage that holds name (with
	// virtual folders, different names may live on different backends).
	Caps(name string) Caps
	// Usage reports what is stored under the root, for quotas. A backend
	// that cannot measure it returns an error (errors.ErrUnsupported when it
	// never can); the gateway then treats the quota as unmeasured, never as
	// zero usage.
	Usage(ctx context.Context) (Usage, error)
	// Close releases what the session holds (connections, handles).
	Close() error
}

// Opener opens sessions on one configured backend. It is shared by all
// sessions and must be safe for concurrent use.
type Opener interface {
	// Open returns an FS rooted at home, a clean slash path inside the
	// backend's own root ("/" or "/alice"). A missing home is created. A
	// storage that cannot be reached fails with an error wrapping
	// ErrUnavailable (the gateway answers 421 and closes).
	Open(ctx context.Context, home string) (FS, error)
	// Probe checks that the storage is reachable and writable (write, read
	// back, delete a small object); used at start-up and by /readyz.
	Probe(ctx context.Context) error
	// Close releases shared resources (connection pools).
	Close() error
}

// FileInfo is a plain fs.FileInfo for backends that build their own.
type FileInfo struct {
	FName    string
	FSize    int64
	FMode    fs.FileMode
	FModTime time.Time
}

func (fi FileInfo) Name() string       { return fi.FName }
func (fi FileInfo) Size() int64        { return fi.FSize }
func (fi FileInfo) Mode() fs.FileMode  { return fi.FMode }
func (fi FileInfo) ModTime() time.Time { return fi.FModTime }
func (fi FileInfo) IsDir() bool        { return fi.FMode.IsDir() }
func (fi FileInfo) Sys() any           { return nil }
