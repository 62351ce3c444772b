package policy

import (
	"errors"
	"math"
	"sync"
)

// Quota errors, for errors.Is. Reserve and Reservation.Grow return them
// unwrapped.
var (
	// ErrQuotaExceeded: the user's byte or file quota would be exceeded.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrFileTooLarge: the file would grow beyond max_file_size.
	ErrFileTooLarge = errors.New("file too large")
	// ErrUsageUnknown: the user has a quota but its usage has not been
	// measured (Set), so no write can be allowed yet.
	ErrUsageUnknown = errors.New("quota usage not measured")
	// ErrReservationDone: Grow after Commit, Abort or Release.
	ErrReservationDone = errors.New("reservation already ended")
)

// Quotas tracks each user's stored bytes and files, and the uploads in
// flight against them. It is safe for concurrent use and outlives
// reloads. Each user has its own lock; every check and every charge of
// that user happens under it, so parallel sessions cannot all pass a
// check against the same free space.
//
// Uploads use reservations:
//
//	r, err := q.Reserve(user, lim, Upload{...}) // before the data connection
//	defer r.Release()                           // no-op after Commit or Abort
//	for each chunk: r.Grow(len(chunk)), then write it
//	success: r.Commit(written); failure: r.Abort(written)
//
// Grow checks max_file_size against the size the file reaches and the byte
// quota against the committed usage plus every upload in flight; Commit
// charges the real change in the file's size. Uploads to the same path
// share what the quota believes that file's size is, so two overwrites of
// one file remove its old size once, not twice; see Reserve for the
// precision this gives.
type Quotas struct {
	mu sync.Mutex
	m  map[string]*userQuota // guarded by mu; entries are never removed
}

// userQuota is one user's state; all fields are guarded by mu.
type userQuota struct {
	mu           sync.Mutex
	known        bool
	bytes, files int64
	resBytes     int64                 // bytes held by reservations in flight
	resFiles     int64                 // new files held by reservations in flight
	paths        map[string]*pathQuota // files with reservations in flight
}

// pathQuota is what the quota believes about one file while uploads to
// it are in flight.
type pathQuota struct {
	size      int64 // the file's size as charged
	exists    bool  // counted in files
	appending int64 // bytes granted to appends in flight
	refs      int   // reservations in flight
}

// NewQuotas returns an empty tracker.
func NewQuotas() *Quotas { return &Quotas{m: make(map[string]*userQuota)} }

// user returns user's state, created empty.
func (q *Quotas) user(user string) *userQuota {
	q.mu.Lock()
	defer q.mu.Unlock()
	u := q.m[user]
	if u == nil {
		u = &userQuota{}
		q.m[user] = u
	}
	return u
}

// Known reports whether user's usage has been counted (Set).
func (q *Quotas) Known(user string) bool {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.known
}

// Set records user's usage as counted from the backend. Reservations in
// flight stay; a measurement taken while an in-place upload (append,
// resume) is running may or may not include its bytes so far.
func (q *Quotas) Set(user string, bytes, files int64) {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.known, u.bytes, u.files = true, max(bytes, 0), max(files, 0)
}

// Add adjusts user's usage by a delta (negative on delete); usage never
// goes below zero. Uploads charge through reservations instead; for a
// deleted file prefer Remove.
func (q *Quotas) Add(user string, bytes, files int64) {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes = max(u.bytes+bytes, 0)
	u.files = max(u.files+files, 0)
}

// Remove charges the deletion of the file at path (the same key as
// Upload.Path) that was size bytes when stat'ed. While uploads to path are
// in flight the size the quota tracks for it is used instead, so their
// commits stay exact.
func (q *Quotas) Remove(user, path string, size int64) {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	if pq := u.paths[path]; pq != nil {
		if pq.exists {
			u.bytes = max(u.bytes-pq.size, 0)
			u.files = max(u.files-1, 0)
		}
		pq.size, pq.exists = 0, false
		return
	}
	u.bytes = max(u.bytes-max(size, 0), 0)
	u.files = max(u.files-1, 0)
}

// Usage returns user's committed usage (uploads in flight excluded).
func (q *Quotas) Usage(user string) (bytes, files int64) {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bytes, u.files
}

// Reserved returns what user's uploads in flight hold: bytes beyond the
// committed usage, and new files.
func (q *Quotas) Reserved(user string) (bytes, files int64) {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.resBytes, u.resFiles
}

// Allows reports whether user may store bytes more bytes in files more
// files under l's quotas (zero quota: unlimited), counting the uploads in
// flight. It is advice only: it reserves nothing (use Reserve).
func (q *Quotas) Allows(user string, l Limits, bytes, files int64) bool {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	if l.QuotaBytes > 0 && u.bytes+u.resBytes+bytes > l.QuotaBytes {
		return false
	}
	if l.QuotaFiles > 0 && u.files+u.resFiles+files > l.QuotaFiles {
		return false
	}
	return true
}

// UploadMode says how an upload changes its file.
type UploadMode uint8

const (
	// UploadReplace writes a new file (temporary name, then rename):
	// STOR, STOU, and APPE creating a file. The final size is the bytes
	// written; an aborted upload changes nothing.
	UploadReplace UploadMode = iota
	// UploadAppend appends in place to an existing file: APPE. Concurrent
	// appends to one file add up.
	UploadAppend
	// UploadAt writes in place from Upload.Offset and truncates to
	// Offset+written on commit: REST then STOR.
	UploadAt
)

// Upload describes one upload to Reserve.
type Upload struct {
	// Path identifies the file: uploads of one user with the same Path
	// are the same file (the virtual path is a good key).
	Path string
	Mode UploadMode
	// Exists and OldSize are what the gateway stat'ed before reserving.
	// They are used only when no other upload of this user to Path is in
	// flight; otherwise the size the quota tracks wins.
	Exists  bool
	OldSize int64
	// Offset is the REST offset for UploadAt; ignored otherwise.
	Offset int64
}

// Reservation is one upload's claim on its user's quota. Its methods are
// safe for concurrent use (so Release may be deferred in another
// goroutine), but an upload has one writer calling Grow.
type Reservation struct {
	u       *userQuota
	path    string
	pq      *pathQuota
	lim     Limits
	mode    UploadMode
	offset  int64 // UploadAt: first byte written
	base    int64 // pq.size at Reserve, the size the projection replaces
	newFile bool  // holds a file in resFiles
	// Guarded by u.mu:
	written int64 // bytes granted by Grow
	held    int64 // bytes counted in u.resBytes
	done    bool
}

// Reserve opens a reservation for one upload by user under lim (read from
// the same policy snapshot as the permission check, and kept for the
// whole upload).
//
// It fails with ErrUsageUnknown when lim has a byte or file quota and the
// usage was never measured; with ErrQuotaExceeded when the upload would
// create a file beyond the file quota (counting new files in flight) or
// the user is already over the byte quota; with ErrFileTooLarge when the
// file is already beyond max_file_size before any byte is written (APPE or
// REST on a large file). Without quotas, usage need not be known: commits
// are still counted.
//
// Precision: uploads of one user to the same Path share the tracked size,
// and each commit charges the difference between the file's new size and
// the size the quota tracks, so N parallel overwrites of a file remove its
// old size once and leave usage at the size of the last commit. What
// remains imprecise: (1) the quota learns the commit order, not the order
// in which the backend renamed the files, so when two overwrites of one
// file finish at the same moment the tracked size may be the loser's, off
// by the difference of the two sizes, once; (2) a stat taken just before
// another session's upload to the same path commits and whose Reserve
// comes just after (so nothing is in flight to share) uses a stale
// OldSize, off by that difference, once; (3) changes not made through this
// tracker (other users sharing the storage, changes outside the gateway,
// renames over files) are seen only at the next Set. None of these
// accumulate with the number of uploads, as the old per-session delta did.
func (q *Quotas) Reserve(user string, lim Limits, up Upload) (*Reservation, error) {
	u := q.user(user)
	u.mu.Lock()
	defer u.mu.Unlock()
	if (lim.QuotaBytes > 0 || lim.QuotaFiles > 0) && !u.known {
		return nil, ErrUsageUnknown
	}
	pq := u.paths[up.Path]
	fresh := pq == nil
	if fresh {
		pq = &pathQuota{exists: up.Exists}
		if up.Exists {
			pq.size = max(up.OldSize, 0)
		}
	}
	r := &Reservation{u: u, path: up.Path, pq: pq, lim: lim, mode: up.Mode, base: pq.size, newFile: !pq.exists}
	if up.Mode == UploadAt {
		r.offset = max(up.Offset, 0)
	}
	if r.newFile && lim.QuotaFiles > 0 && u.files+u.resFiles+1 > lim.QuotaFiles {
		return nil, ErrQuotaExceeded
	}
	if lim.MaxFileSize > 0 && r.sizeAfter(0) > lim.MaxFileSize {
		return nil, ErrFileTooLarge
	}
	if lim.QuotaBytes > 0 && u.bytes+u.resBytes > lim.QuotaBytes {
		return nil, ErrQuotaExceeded
	}
	if fresh {
		if u.paths == nil {
			u.paths = make(map[string]*pathQuota)
		}
		u.paths[up.Path] = pq
	}
	pq.refs++
	if r.newFile {
		u.resFiles++
	}
	return r, nil
}

// maxSize bounds sizes so the arithmetic cannot overflow.
const maxSize = math.MaxInt64 / 4

// sizeAfter is the size the file reaches when n more bytes are granted.
// u.mu is held.
func (r *Reservation) sizeAfter(n int64) int64 {
	switch r.mode {
	case UploadAppend:
		return r.pq.size + r.pq.appending + n
	case UploadAt:
		return r.offset + r.written + n
	}
	return r.written + n
}

// heldFor is what the reservation holds against the quota once w bytes
// are granted: the growth beyond the size it replaces, never negative (an
// overwrite that shrinks a file frees nothing until it commits).
func (r *Reservation) heldFor(w int64) int64 {
	switch r.mode {
	case UploadAppend:
		return w
	case UploadAt:
		return max(r.offset+w-r.base, 0)
	}
	return max(w-r.base, 0)
}

// Grow grants n more bytes to the upload before they are written. It
// fails with ErrFileTooLarge when the file would exceed max_file_size
// (for appends, counting the other appends to the same file in flight),
// with ErrQuotaExceeded when the committed usage plus every reservation in
// flight would exceed the byte quota, and with ErrReservationDone after
// the reservation ended. On error nothing is granted. n <= 0 is a no-op.
func (r *Reservation) Grow(n int64) error {
	if n <= 0 {
		return nil
	}
	u := r.u
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.done {
		return ErrReservationDone
	}
	if n > maxSize || r.sizeAfter(0) > maxSize-n {
		return ErrFileTooLarge
	}
	if r.lim.MaxFileSize > 0 && r.sizeAfter(n) > r.lim.MaxFileSize {
		return ErrFileTooLarge
	}
	w := r.written + n
	h := r.heldFor(w)
	if r.lim.QuotaBytes > 0 && h > r.held && u.bytes+u.resBytes-r.held+h > r.lim.QuotaBytes {
		return ErrQuotaExceeded
	}
	u.resBytes += h - r.held
	r.held, r.written = h, w
	if r.mode == UploadAppend {
		r.pq.appending += n
	}
	return nil
}

// Written returns the bytes granted so far.
func (r *Reservation) Written() int64 {
	r.u.mu.Lock()
	defer r.u.mu.Unlock()
	return r.written
}

// Commit ends a successful upload that wrote written bytes to the file
// (what reached the storage, e.g. after ASCII conversion; normally at most
// what Grow granted) and charges the real change: the file's new size
// (written for UploadReplace, Offset+written for UploadAt, the tracked
// size plus written for UploadAppend) minus the size the quota tracks for
// it, plus one file if it did not exist. It never fails; a second call, or
// a call after Abort or Release, does nothing.
func (r *Reservation) Commit(written int64) {
	r.u.mu.Lock()
	defer r.u.mu.Unlock()
	if r.done {
		return
	}
	written = min(max(written, 0), maxSize)
	switch r.mode {
	case UploadAppend:
		r.end(true, r.pq.size+written)
	case UploadAt:
		r.end(true, r.offset+written)
	default:
		r.end(true, written)
	}
}

// Abort ends a failed upload that had written written bytes to the
// storage and charges what the failure leaves behind: nothing for
// UploadReplace (the temporary file is discarded), the appended bytes for
// UploadAppend, and for UploadAt the growth beyond the old end (an aborted
// resume is not truncated). A second call, or a call after Commit, does
// nothing.
func (r *Reservation) Abort(written int64) {
	r.u.mu.Lock()
	defer r.u.mu.Unlock()
	if r.done {
		return
	}
	written = min(max(written, 0), maxSize)
	switch {
	case written == 0 || r.mode == UploadReplace:
		r.end(false, 0)
	case r.mode == UploadAppend:
		r.end(true, r.pq.size+written)
	default:
		r.end(true, max(r.pq.size, r.offset+written))
	}
}

// Release ends the reservation charging nothing: the upload never touched
// the file. It is Abort(0), safe to defer, and a no-op after Commit or
// Abort.
func (r *Reservation) Release() { r.Abort(0) }

// end charges a new size for the file (when changed) and returns what the
// reservation held. u.mu is held.
func (r *Reservation) end(changed bool, size int64) {
	u, pq := r.u, r.pq
	if changed {
		u.bytes = max(u.bytes+size-pq.size, 0)
		if !pq.exists {
			u.files++
			pq.exists = true
		}
		pq.size = size
	}
	u.resBytes -= r.held
	if r.newFile {
		u.resFiles--
	}
	if r.mode == UploadAppend {
		pq.appending -= r.written
	}
	pq.refs--
	if pq.refs == 0 && u.paths[r.path] == pq {
		delete(u.paths, r.path)
	}
	r.held, r.done = 0, true
}
