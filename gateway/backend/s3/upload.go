package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// firstBuffer is the size the first part's buffer starts at; it doubles
// up to part_size, so a small file never costs a whole part.
const firstBuffer = 64 << 10

// Create implements backend.FS for WriteReplace and WriteExclusive.
// WriteAppend and WriteAt fail with errors.ErrUnsupported: S3 objects
// cannot be changed in place. The parent directory must exist and name
// must not be a directory.
func (s *FS) Create(ctx context.Context, name string, mode backend.WriteMode, offset int64) (backend.Upload, error) {
	if err := begin(ctx, "create", name); err != nil {
		return nil, err
	}
	switch mode {
	case backend.WriteReplace, backend.WriteExclusive:
	case backend.WriteAppend, backend.WriteAt:
		return nil, fail("create", name, fmt.Errorf("%v uploads: S3 objects cannot be changed in place: %w", mode, errors.ErrUnsupported))
	default:
		return nil, fail("create", name, fs.ErrInvalid)
	}
	if err := s.checkTarget(ctx, name, mode == backend.WriteExclusive); err != nil {
		return nil, fail("create", name, err)
	}
	st := s.o.st
	pctx, cancel := context.WithCancel(ctx)
	return &upload{
		s: s, ctx: ctx, name: name, key: s.key(name), exclusive: mode == backend.WriteExclusive,
		pctx: pctx, cancel: cancel, slots: make(chan struct{}, st.concurrency),
	}, nil
}

// checkTarget refuses a directory (or an existing file for an exclusive
// upload) at name, and a missing parent.
func (s *FS) checkTarget(ctx context.Context, name string, exclusive bool) error {
	if name == "." {
		return backend.ErrIsDir
	}
	fi, err := s.stat(ctx, name)
	switch {
	case err == nil && fi.IsDir():
		return backend.ErrIsDir
	case err == nil && exclusive:
		return fs.ErrExist
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return s.needDir(ctx, path.Dir(name))
}

// upload streams one object. Data fills a part buffer; a full buffer is
// sent as a part of a multipart upload (started with the first full
// part) by its own goroutine, while the next buffer fills. At most
// upload_concurrency buffers exist at once (each holds a slot), so an
// upload holds at most part_size × upload_concurrency bytes. An upload
// that never fills a part is one PUT at Commit. Nothing is visible
// before Commit completes; every failure and Abort abort the multipart
// upload.
type upload struct {
	s         *FS
	ctx       context.Context // Create's
	name, key string
	exclusive bool
	pctx      context.Context // the parts', cancelled by Abort and by a failed part
	cancel    context.CancelFunc
	slots     chan struct{} // a token per part buffer in existence

	mu    sync.Mutex // serialises Write, Commit and Abort; guards what follows
	done  bool
	buf   []byte   // the part being filled (holds a slot when non-nil)
	free  [][]byte // sent part buffers, for reuse
	id    *string  // the multipart upload, once started
	next  int32    // the next part number
	size  int64    // the bytes handed to parts
	wg    sync.WaitGroup
	pmu   sync.Mutex // guards parts and perr
	parts []types.CompletedPart
	perr  error      // the first part failure
	fmu   sync.Mutex // guards free across part goroutines
}

var _ backend.Upload = (*upload)(nil)

// Write implements io.Writer. It returns once p is buffered; a part's
// failure shows at a later Write or at Commit.
func (u *upload) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return 0, fail("write", u.name, fs.ErrClosed)
	}
	written := 0
	for len(p) > 0 {
		if err := u.healthy(); err != nil {
			return written, fail("write", u.name, err)
		}
		if u.buf == nil {
			if err := u.takeBuffer(); err != nil {
				return written, fail("write", u.name, err)
			}
		}
		n := u.fill(p)
		written += n
		p = p[n:]
		if int64(len(u.buf)) == u.s.o.st.partSize {
			if err := u.sendPart(); err != nil {
				return written, fail("write", u.name, err)
			}
		}
	}
	return written, nil
}

// healthy returns the reason the upload cannot go on, if any.
func (u *upload) healthy() error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	u.pmu.Lock()
	defer u.pmu.Unlock()
	return u.perr
}

// takeBuffer waits for a slot and takes a part buffer; mu must be held.
func (u *upload) takeBuffer() error {
	select {
	case u.slots <- struct{}{}:
	case <-u.pctx.Done():
		if err := u.healthy(); err != nil {
			return err
		}
		return u.pctx.Err()
	}
	u.fmu.Lock()
	if n := len(u.free); n > 0 {
		u.buf, u.free = u.free[n-1][:0], u.free[:n-1]
	} else {
		u.buf = make([]byte, 0, firstBuffer)
	}
	u.fmu.Unlock()
	return nil
}

// fill copies what fits of p into the part buffer, growing it by
// doubling up to part_size; mu must be held.
func (u *upload) fill(p []byte) int {
	part := int(u.s.o.st.partSize)
	room := part - len(u.buf)
	if room > len(p) {
		room = len(p)
	}
	if need := len(u.buf) + room; need > cap(u.buf) {
		grown := make([]byte, len(u.buf), min(part, max(need, 2*cap(u.buf))))
		copy(grown, u.buf)
		u.buf = grown
	}
	u.buf = append(u.buf, p[:room]...)
	return room
}

// sendPart hands the full buffer to a part goroutine, starting the
// multipart upload first if needed; mu must be held.
func (u *upload) sendPart() error {
	if u.id == nil {
		if err := u.startMultipart(); err != nil {
			return err
		}
	}
	if u.next > maxParts {
		return fmt.Errorf("more than %d parts of part_size: %w", maxParts, backend.ErrNoSpace)
	}
	buf, num := u.buf, u.next
	u.size += int64(len(buf))
	u.buf = nil
	u.next++
	u.wg.Go(func() {
		part, err := u.putPart(buf, num)
		u.partDone(buf, num, part, err)
	})
	return nil
}

// startMultipart creates the multipart upload; mu must be held.
func (u *upload) startMultipart() error {
	ctx, cancel := u.s.o.opCtx(u.pctx)
	defer cancel()
	out, err := u.s.o.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(u.s.o.st.bucket), Key: aws.String(u.key),
	})
	if err != nil {
		return classify(err)
	}
	u.id, u.next = out.UploadId, 1
	return nil
}

// putPart sends one part, failing only when the storage stops taking
// data for op_timeout (a part may take long on a slow link).
func (u *upload) putPart(buf []byte, num int32) (types.CompletedPart, error) {
	w := newWatch(u.pctx, u.s.o.st.opTimeout)
	defer w.end()
	out, err := u.s.o.c.UploadPart(w.ctx, &s3.UploadPartInput{
		Bucket: aws.String(u.s.o.st.bucket), Key: aws.String(u.key), UploadId: u.id,
		PartNumber: aws.Int32(num), Body: &progressBody{r: bytes.NewReader(buf), w: w},
		ContentLength: aws.Int64(int64(len(buf))),
	})
	if err != nil {
		if w.stalled() {
			return types.CompletedPart{}, errStalled
		}
		return types.CompletedPart{}, u.s.explainWrite(u.pctx, u.key, classify(err))
	}
	return types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)}, nil
}

// partDone records a part's outcome, gives back its buffer and slot; a
// failure stops the other parts.
func (u *upload) partDone(buf []byte, num int32, part types.CompletedPart, err error) {
	u.pmu.Lock()
	if err != nil && u.perr == nil {
		u.perr = fmt.Errorf("part %d: %w", num, err)
		u.cancel()
	} else if err == nil {
		u.parts = append(u.parts, part)
	}
	u.pmu.Unlock()
	u.fmu.Lock()
	u.free = append(u.free, buf)
	u.fmu.Unlock()
	<-u.slots
}

// Commit implements backend.Upload: one PUT when no part was sent, else
// the last part and CompleteMultipartUpload. WriteExclusive sends
// If-None-Match, so a name taken meanwhile fails with fs.ErrExist. On any
// failure the multipart upload is aborted and an existing object keeps
// its old content.
func (u *upload) Commit() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	err := u.healthy()
	if err == nil && u.id == nil {
		err = u.putWhole()
	} else if err == nil {
		err = u.complete()
	}
	if err != nil {
		u.discard()
		return fail("commit", u.name, err)
	}
	u.s.o.forgetUsage(u.s.base)
	u.cancel()
	return nil
}

// putWhole writes an upload that never filled a part as one object.
func (u *upload) putWhole() error {
	w := newWatch(u.pctx, u.s.o.st.opTimeout)
	defer w.end()
	in := &s3.PutObjectInput{
		Bucket: aws.String(u.s.o.st.bucket), Key: aws.String(u.key),
		Body: &progressBody{r: bytes.NewReader(u.buf), w: w}, ContentLength: aws.Int64(int64(len(u.buf))),
	}
	if u.exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := u.s.o.c.PutObject(w.ctx, in)
	u.releaseBuffer()
	if err != nil && w.stalled() {
		return errStalled
	}
	if err != nil {
		return u.s.explainWrite(u.ctx, u.key, classify(err))
	}
	return nil
}

// complete sends the last part, waits for every part and completes the
// multipart upload.
func (u *upload) complete() error {
	if len(u.buf) > 0 {
		if err := u.sendPart(); err != nil {
			return err
		}
	}
	u.releaseBuffer()
	u.wg.Wait()
	if err := u.healthy(); err != nil {
		return err
	}
	slices.SortFunc(u.parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(u.s.o.st.bucket), Key: aws.String(u.key), UploadId: u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	}
	if u.exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	// Assembling the parts takes the storage time in proportion to the
	// object (versitygw copies them into one file): allow as for a copy.
	ctx, cancel := context.WithTimeout(u.pctx, u.s.copyTimeout(u.size))
	defer cancel()
	_, err := u.s.o.c.CompleteMultipartUpload(ctx, in)
	if err != nil {
		return classify(err)
	}
	u.id = nil // completed: nothing to abort
	return nil
}

// releaseBuffer gives back the slot of the buffer being filled; mu must
// be held.
func (u *upload) releaseBuffer() {
	if u.buf != nil {
		u.buf = nil
		<-u.slots
	}
}

// Abort implements backend.Upload: the parts in flight are cancelled and
// the multipart upload is aborted, so the storage keeps no parts.
func (u *upload) Abort() error {
	u.cancel() // first: a Write waiting for a slot lets go of mu
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil
	}
	u.done = true
	if err := u.discard(); err != nil {
		return fail("abort", u.name, err)
	}
	return nil
}

// discard stops the parts and aborts the multipart upload, on a context
// of its own: the upload's may be cancelled, the abort must still
// happen. mu must be held.
func (u *upload) discard() error {
	inFlight := len(u.slots) > 0 && (u.buf == nil || len(u.slots) > 1)
	u.cancel()
	u.wg.Wait()
	u.releaseBuffer()
	u.free = nil
	if u.id == nil {
		return nil
	}
	err := u.s.abortMultipart(context.WithoutCancel(u.ctx), u.key, u.id, inFlight)
	if err != nil {
		u.s.o.log.Warn("s3 multipart upload not aborted: its parts stay until a lifecycle rule removes them",
			"key", u.key, "upload_id", aws.ToString(u.id), "error", err)
		return err
	}
	u.id = nil
	return nil
}

// abortRounds is how often an abort is repeated while the storage still
// lists parts (a part that was in flight can land after the abort).
const abortRounds = 3

// abortGrace is how long after a clean abort the upload is checked once
// more when parts were cancelled in flight: the storage may still be
// writing a part whose client went away, and that part can bring the
// upload back.
const abortGrace = 300 * time.Millisecond

// abortMultipart aborts a multipart upload and checks with ListParts, as
// S3 advises, that no part outlived the abort; with inFlight it checks
// again after abortGrace.
func (s *FS) abortMultipart(ctx context.Context, key string, id *string, inFlight bool) error {
	var err error
	for round := range abortRounds {
		if round > 0 {
			time.Sleep(time.Duration(round) * 100 * time.Millisecond)
		}
		if err = s.abortOnce(ctx, key, id); err != nil {
			continue
		}
		if !inFlight {
			return nil
		}
		time.Sleep(abortGrace)
		if err = s.uploadGone(ctx, key, id); err == nil {
			return nil
		}
	}
	return err
}

// abortOnce aborts the upload and checks that it is gone.
func (s *FS) abortOnce(ctx context.Context, key string, id *string) error {
	actx, cancel := s.o.opCtx(ctx)
	defer cancel()
	_, err := s.o.c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(s.o.st.bucket), Key: aws.String(key), UploadId: id,
	})
	if err != nil && !isNoSuchUpload(err) {
		return classify(err)
	}
	return s.uploadGone(ctx, key, id)
}

// uploadGone fails unless ListParts says the upload does not exist.
func (s *FS) uploadGone(ctx context.Context, key string, id *string) error {
	actx, cancel := s.o.opCtx(ctx)
	defer cancel()
	_, err := s.o.c.ListParts(actx, &s3.ListPartsInput{
		Bucket: aws.String(s.o.st.bucket), Key: aws.String(key), UploadId: id, MaxParts: aws.Int32(1),
	})
	switch {
	case isNoSuchUpload(err):
		return nil
	case err == nil:
		return errors.New("parts still listed after the abort")
	}
	return classify(err)
}

// explainWrite asks the storage why a write with a body broke at the
// connection: some servers answer 403 before reading the body and close
// the connection, and the client sees only the reset. A
// CreateMultipartUpload of the same key carries no body, so its answer
// arrives whole; a multipart upload it opens is aborted at once.
func (s *FS) explainWrite(ctx context.Context, key string, err error) error {
	if !errors.Is(err, backend.ErrUnavailable) || ctx.Err() != nil {
		return err
	}
	cctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	out, cerr := s.o.c.CreateMultipartUpload(cctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.o.st.bucket), Key: aws.String(key)})
	if cerr != nil {
		if c := classify(cerr); errors.Is(c, fs.ErrPermission) {
			return c
		}
		return err
	}
	s.abortMultipart(ctx, key, out.UploadId, false)
	return err
}

// isNoSuchUpload reports an upload the storage no longer knows.
func isNoSuchUpload(err error) bool {
	var nsu *types.NoSuchUpload
	return errors.As(err, &nsu) || codeOf(err) == "NoSuchUpload"
}
