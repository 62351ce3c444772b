package gateway

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// Quota wiring. The accounting itself is policy.Quotas (Config.Quotas,
// one per server, shared by every session of a user and kept across
// reloads): an upload reserves before its 150, grows the reservation
// before each chunk reaches the storage, and commits or aborts it when it
// ends; a deletion removes the file's size. This file measures the usage
// the tracker starts from and maps its refusals to the gateway's errors.

// initQuota measures the user's usage once per process when a quota is
// set: from the backend where it answers cheaply, else by a walk of the
// tree. A usage that cannot be measured is left unknown, never taken as
// zero: uploads are then refused (452) until a later measurement works.
func (s *session) initQuota(ctx context.Context, lim policy.Limits) {
	if lim.QuotaBytes == 0 && lim.QuotaFiles == 0 {
		return
	}
	q := s.srv.cfg.Quotas
	if q.Known(s.ident.User) {
		return
	}
	s.quotaTried = time.Now()
	u, err := s.fs.Usage(ctx)
	if errors.Is(err, errors.ErrUnsupported) {
		u, err = backend.WalkUsage(ctx, s.fs, ".")
	}
	if err != nil {
		s.log.Warn("quota usage unmeasured: uploads refused until it is measured", "error", err)
		return
	}
	q.Set(s.ident.User, u.Bytes, u.Files)
}

// quotaRetry is how often a session measures an unknown usage again.
const quotaRetry = 30 * time.Second

// ensureUsage measures the user's usage again (at most every quotaRetry)
// when lim sets a quota and the usage is still unknown. Reserve then
// refuses the upload if it is still unknown.
func (s *session) ensureUsage(lim policy.Limits) {
	if lim.QuotaBytes == 0 && lim.QuotaFiles == 0 {
		return
	}
	if s.srv.cfg.Quotas.Known(s.ident.User) || time.Since(s.quotaTried) < quotaRetry {
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	s.initQuota(ctx, lim)
}

// reserveUpload opens the quota reservation for the upload pl plans to
// p, under pl.lim.
func (s *session) reserveUpload(p vpath, pl *uploadPlan) (*policy.Reservation, error) {
	s.ensureUsage(pl.lim)
	up := policy.Upload{Path: p.String(), Mode: policy.UploadReplace, Exists: pl.exists, OldSize: pl.oldSize}
	switch pl.mode {
	case backend.WriteAppend:
		up.Mode = policy.UploadAppend
	case backend.WriteAt:
		up.Mode, up.Offset = policy.UploadAt, pl.offset
	}
	res, err := s.srv.cfg.Quotas.Reserve(s.ident.User, pl.lim, up)
	if err != nil {
		return nil, quotaError(err)
	}
	return res, nil
}

// quotaError maps a refusal of policy.Quotas to the gateway's error that
// replyFor and resultFor know.
func quotaError(err error) error {
	switch {
	case errors.Is(err, policy.ErrQuotaExceeded):
		return errQuota
	case errors.Is(err, policy.ErrFileTooLarge):
		return errTooLarge
	case errors.Is(err, policy.ErrUsageUnknown):
		return errQuotaUnknown
	}
	return err
}

// growCheck returns pump's check for an upload holding res: each chunk is
// granted to the reservation before it is written, so the sessions of one
// user share the quota while their bytes move.
func growCheck(res *policy.Reservation) func(total int64) error {
	var granted int64
	return func(total int64) error {
		if err := res.Grow(total - granted); err != nil {
			return quotaError(err)
		}
		granted = total
		return nil
	}
}

// countWriter counts the bytes that reached the storage (after ASCII
// conversion), which is what the quota charges.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
