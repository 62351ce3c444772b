package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"strconv"

	"github.com/ftpsgw/ftpsgw/gateway/asciiconv"
	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

func (s *session) cmdRETR(req request) {
	p, _ := s.resolveArg(req.arg) // resolved and authorized by the dispatcher
	if err := s.checkDataAllowed(); err != nil {
		s.fail(err)
		return
	}
	ctx, cancel := s.opCtx()
	fi, err := s.fs.Stat(ctx, p.name())
	cancel()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotFile
	}
	if err != nil {
		s.fail(err)
		return
	}
	offset, ascii := s.restOffset, s.ascii
	if offset > fi.Size() {
		s.fail(errRestBeyondEnd)
		return
	}
	user, rate := s.ident.User, s.policy().Limits(s.ident).DownloadRate
	preface := "Opening data connection for " + p.String() + " (" + strconv.FormatInt(fi.Size(), 10) + " bytes)."
	var known *hashEntry
	if offset == 0 && !ascii {
		// A file whose hash is cached and unchanged is not hashed again.
		known = s.knownHash(p, fi)
	}
	s.startTransfer("RETR", p, Download, preface, func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error) {
		if known != nil {
			x.hash, x.known = nil, known
		}
		rc, err := s.fs.Open(ctx, p.name(), offset)
		if err != nil {
			return replyFor(err), TransferFailed, err
		}
		defer rc.Close()
		var src io.Reader = rc
		if ascii {
			src = asciiconv.NewToNetwork(rc)
		}
		if err := pump(ctx, data, src, x, x.hash, nil, s.pacer(user, false, rate)); err != nil {
			return replyForTransfer(err), resultFor(err), err
		}
		return reply{226, "Transfer complete."}, TransferOK, nil
	})
}

// pacer returns the bandwidth wait for a user and direction, nil when
// unlimited.
func (s *session) pacer(user string, upload bool, rate int64) func(context.Context, int) error {
	if rate <= 0 {
		return nil
	}
	bw := s.srv.cfg.Bandwidth
	return func(ctx context.Context, n int) error { return bw.Wait(ctx, user, upload, rate, n) }
}

// replyForTransfer maps an error that ended a transfer after 150.
func replyForTransfer(err error) reply {
	switch r := replyFor(err); r {
	case replyUnavailable:
		// The storage went away under a transfer in flight.
		return replyAborted
	case replyLocalError:
		// A data connection error that is not a backend error.
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
			return replyAborted
		}
		return r
	default:
		return r
	}
}

func resultFor(err error) TransferResult {
	switch {
	case errors.Is(err, errQuota):
		return TransferQuota
	case errors.Is(err, errTooLarge):
		return TransferTooLarge
	case errors.Is(err, errVetoed):
		return TransferVetoed
	case errors.Is(err, context.Canceled), errors.Is(err, errAborted):
		return TransferAborted
	}
	return TransferFailed
}

func (s *session) cmdSTOR(req request) {
	p, err := s.resolveArg(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	s.store("STOR", p, s.restOffset, false)
}

func (s *session) cmdAPPE(req request) {
	p, err := s.resolveArg(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	s.store("APPE", p, 0, true)
}

// cmdSTOU stores under a new unique name in the current directory.
func (s *session) cmdSTOU(req request) {
	ctx, cancel := s.opCtx()
	defer cancel()
	for range 8 {
		var b [6]byte
		rand.Read(b[:])
		p := s.cwd.child("stou-" + hex.EncodeToString(b[:]))
		if _, err := s.fs.Stat(ctx, p.name()); errors.Is(err, fs.ErrNotExist) {
			s.store("STOU", p, 0, false)
			return
		}
	}
	s.replyR(replyLocalError)
}

// uploadPlan is what an upload needs, decided before the 150: the write
// mode, the offset, the old file's size and whether it existed, the
// limits in force and the quota reservation taken under them.
type uploadPlan struct {
	mode    backend.WriteMode
	perm    policy.Perm
	offset  int64 // bytes of the old file kept (WriteAt, WriteAppend)
	oldSize int64
	exists  bool
	lim     policy.Limits // from the snapshot that authorized perm
	res     *policy.Reservation
}

// planUpload decides the write mode and the permission it needs. The
// existing file is only modified in place for APPE and REST+STOR;
// otherwise the backend writes a temporary file and renames it on
// success, exclusively (failing if the name appears) for users who may
// not overwrite, and always for STOU.
func (s *session) planUpload(verb string, p vpath, offset int64, appendMode bool) (*uploadPlan, error) {
	// A hidden path answers as a missing one before the backend is asked
	// what is there (directory, file, its size).
	if !s.visible(p) {
		s.authorize(policy.PermUpload, p) // logs and counts the denial
		return nil, errHidden
	}
	ctx, cancel := s.opCtx()
	fi, err := s.fs.Stat(ctx, p.name())
	cancel()
	pl := &uploadPlan{mode: backend.WriteExclusive, perm: policy.PermUpload, offset: offset, exists: err == nil}
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case pl.exists && fi.IsDir():
		return nil, backend.ErrIsDir
	case pl.exists:
		pl.oldSize = fi.Size()
	}
	switch {
	case appendMode && pl.exists:
		pl.mode, pl.perm, pl.offset = backend.WriteAppend, policy.PermAppend, pl.oldSize
	case appendMode:
		// APPE creating a file creates it exclusively: another session's
		// upload that appears meanwhile is not joined.
		pl.mode = backend.WriteExclusive
	case offset > 0 && !pl.exists:
		return nil, fs.ErrNotExist
	case offset > pl.oldSize:
		return nil, errRestBeyondEnd
	case offset > 0:
		pl.mode, pl.perm = backend.WriteAt, policy.PermOverwrite
		if offset == pl.oldSize {
			pl.perm = policy.PermAppend
		}
	case pl.exists:
		pl.mode, pl.perm = backend.WriteReplace, policy.PermOverwrite
	case verb != "STOU" && s.allowed(policy.PermOverwrite, p):
		pl.mode = backend.WriteReplace
	}
	if err := s.authorize(pl.perm, p); err != nil {
		return nil, err
	}
	if need := modeCaps[pl.mode]; !s.fs.Caps(p.name()).Has(need) {
		return nil, errUnsupported
	}
	if s.srv.cfg.Screener != nil && (pl.mode == backend.WriteAppend || pl.mode == backend.WriteAt) {
		// A screened upload waits under its temporary name; one that
		// writes into the file in place could not.
		return nil, errUnsupported
	}
	pl.lim = s.policy().Limits(s.ident) // the snapshot authorize used
	if pl.res, err = s.reserveUpload(p, pl); err != nil {
		return nil, err
	}
	return pl, nil
}

// modeCaps is the capability each write mode needs from the storage.
var modeCaps = map[backend.WriteMode]backend.Caps{
	backend.WriteAppend: backend.CapAppend,
	backend.WriteAt:     backend.CapResume,
}

// store starts an upload planned by planUpload. The transfer owns the
// plan's reservation: it commits what reached the storage on success and
// aborts on failure, ABOR or a dropped connection.
func (s *session) store(verb string, p vpath, offset int64, appendMode bool) {
	if err := s.checkDataAllowed(); err != nil {
		s.fail(err)
		return
	}
	pl, err := s.planUpload(verb, p, offset, appendMode)
	if err != nil {
		s.fail(err)
		return
	}
	user, ascii := s.ident.User, s.ascii
	wait := s.pacer(user, true, pl.lim.UploadRate)
	preface := "Ok to send data."
	if verb == "STOU" {
		preface = "FILE: " + p.base()
	}
	s.startTransferQuota(verb, p, Upload, pl.res, preface, func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error) {
		up, err := s.fs.Create(ctx, p.name(), pl.mode, pl.offset)
		if err != nil {
			return replyFor(err), TransferFailed, err // runTransfer releases the reservation
		}
		stored := &countWriter{w: up}
		// Charges what a failure (or a panic) leaves on the storage; a
		// no-op once committed.
		defer func() { pl.res.Abort(stored.n) }()
		// TLS hands over at most one 16 KiB record per read: the bytes are
		// gathered into blocks, which another goroutine hashes and writes
		// to the backend while this one reads the next.
		buf := newWriteBehind(stored, x.hash)
		defer buf.stop() // after a panic too, before the deferred Abort reads stored.n
		var dst io.Writer = buf
		var conv *asciiconv.FromNetwork
		if ascii {
			conv = asciiconv.NewFromNetwork(buf)
			dst = conv
		}
		err = pump(ctx, dst, data, x, nil, growCheck(pl.res), wait)
		if err == nil {
			err = x.ended() // a cut TCP stream is not the end of the file
		}
		if err == nil && conv != nil {
			err = conv.Flush()
		}
		if err == nil {
			err = buf.Flush()
		}
		buf.stop() // on every path: nothing reaches up after this
		if err == nil && s.srv.cfg.Screener != nil {
			err = s.screen(ctx, x, up, stored.n)
		}
		if err == nil {
			err = up.Commit()
		}
		if err != nil {
			if aerr := up.Abort(); aerr != nil {
				s.log.Warn("upload abort failed", "error", aerr)
			}
			return replyForTransfer(err), resultFor(err), err
		}
		pl.res.Commit(stored.n)
		if verb == "STOU" {
			return reply{226, "Transfer complete (unique file name " + p.base() + ")."}, TransferOK, nil
		}
		return reply{226, "Transfer complete."}, TransferOK, nil
	})
}

// screen asks the Screener whether the upload up, all of whose n bytes are
// stored, may be published. A refused upload is quarantined (when the
// verdict names a directory and the storage keeps a host file) or
// aborted, and screen returns errVetoed.
func (s *session) screen(ctx context.Context, x *transfer, up backend.Upload, n int64) error {
	u := ScreenedUpload{SessionID: s.id, User: x.user, Client: s.client, Backend: x.backend,
		Path: x.path.String(), Size: n}
	if x.hash != nil {
		var sum [sha256.Size]byte
		u.SHA256 = hex.EncodeToString(x.hash.Sum(sum[:0]))
	}
	staged, _ := up.(backend.StagedUpload)
	if staged != nil {
		u.StagedFile = staged.StagedFile()
	}
	v := s.srv.cfg.Screener.Screen(ctx, u)
	if err := ctx.Err(); err != nil {
		return err // the transfer was aborted meanwhile; the caller aborts the upload
	}
	if v.Publish {
		return nil
	}
	log := s.log.With("path", u.Path, "hook", v.By, "reason", v.Reason, "size", n)
	switch {
	case v.Quarantine != "" && staged != nil && u.StagedFile != "":
		if to, err := staged.Quarantine(v.Quarantine); err != nil {
			log.Error("upload refused by screening; quarantine failed, file removed", "error", err)
		} else {
			log.Warn("upload refused by screening, quarantined", "quarantined_to", to)
		}
	default:
		if err := up.Abort(); err != nil {
			log.Error("upload refused by screening; removing it failed", "error", err)
		} else {
			log.Warn("upload refused by screening, removed")
		}
	}
	return errVetoed
}
