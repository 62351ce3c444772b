package gateway

import (
	"context"
	"crypto/rand"
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
		s.reply(554, "Restart offset beyond the end of the file.")
		return
	}
	user, rate := s.ident.User, s.srv.cfg.Policy().Limits(s.ident).DownloadRate
	preface := "Opening data connection for " + p.String() + " (" + strconv.FormatInt(fi.Size(), 10) + " bytes)."
	s.startTransfer("RETR", p, Download, preface, func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error) {
		rc, err := s.fs.Open(ctx, p.name(), offset)
		if err != nil {
			return replyFor(err), TransferFailed, err
		}
		defer rc.Close()
		var src io.Reader = rc
		if ascii {
			src = asciiconv.NewToNetwork(rc)
		}
		if err := pump(ctx, data, src, x, nil, s.pacer(user, false, rate)); err != nil {
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

// store decides what an upload needs (permission, write mode, limits)
// and starts it. The existing file is only modified in place for APPE
// and REST+STOR; otherwise the backend writes a temporary file and
// renames it on success.
func (s *session) store(verb string, p vpath, offset int64, appendMode bool) {
	if err := s.checkDataAllowed(); err != nil {
		s.fail(err)
		return
	}
	ctx, cancel := s.opCtx()
	fi, statErr := s.fs.Stat(ctx, p.name())
	cancel()
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		s.fail(statErr)
		return
	}
	if exists && fi.IsDir() {
		s.fail(backend.ErrIsDir)
		return
	}
	var oldSize int64
	if exists {
		oldSize = fi.Size()
	}
	mode, perm := backend.WriteExclusive, policy.PermUpload
	switch {
	case appendMode && exists:
		mode, perm, offset = backend.WriteAppend, policy.PermAppend, oldSize
	case appendMode:
		mode = backend.WriteAppend
	case offset > 0 && !exists:
		s.fail(fs.ErrNotExist)
		return
	case offset > 0:
		mode, perm = backend.WriteAt, policy.PermOverwrite
		if offset == oldSize {
			perm = policy.PermAppend
		}
		if offset > oldSize {
			s.reply(554, "Restart offset beyond the end of the file.")
			return
		}
	case exists:
		mode, perm = backend.WriteReplace, policy.PermOverwrite
	case s.allowed(policy.PermOverwrite, p):
		mode = backend.WriteReplace
	}
	if verb == "STOU" {
		mode = backend.WriteExclusive
	}
	if err := s.authorize(perm, p); err != nil {
		s.fail(err)
		return
	}
	lim := s.srv.cfg.Policy().Limits(s.ident)
	user := s.ident.User
	usedBytes, usedFiles := s.srv.cfg.Quotas.Usage(user)
	if lim.QuotaFiles > 0 && !exists && usedFiles+1 > lim.QuotaFiles {
		s.fail(errQuota)
		return
	}
	// base is what the file keeps of its old bytes; every mode ends with a
	// file of base+written bytes.
	base := offset
	check := func(written int64) error {
		if lim.MaxFileSize > 0 && base+written > lim.MaxFileSize {
			return errTooLarge
		}
		if lim.QuotaBytes > 0 && usedBytes-oldSize+base+written > lim.QuotaBytes {
			return errQuota
		}
		return nil
	}
	if err := check(0); err != nil {
		s.fail(err)
		return
	}
	ascii, wait := s.ascii, s.pacer(user, true, lim.UploadRate)
	preface := "Ok to send data."
	if verb == "STOU" {
		preface = "FILE: " + p.base()
	}
	s.startTransfer(verb, p, Upload, preface, func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error) {
		up, err := s.fs.Create(ctx, p.name(), mode, offset)
		if err != nil {
			return replyFor(err), TransferFailed, err
		}
		var dst io.Writer = up
		var conv *asciiconv.FromNetwork
		if ascii {
			conv = asciiconv.NewFromNetwork(up)
			dst = conv
		}
		err = pump(ctx, dst, data, x, check, wait)
		if err == nil && conv != nil {
			err = conv.Flush()
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
		newSize := base + x.bytes.Load()
		var dFiles int64
		if !exists {
			dFiles = 1
		}
		s.srv.cfg.Quotas.Add(user, newSize-oldSize, dFiles) // every mode ends at base+written bytes
		if verb == "STOU" {
			return reply{226, "Transfer complete (unique file name " + p.base() + ")."}, TransferOK, nil
		}
		return reply{226, "Transfer complete."}, TransferOK, nil
	})
}
