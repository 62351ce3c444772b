package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Open implements backend.FS: one GET, ranged from offset (REST), whose
// body streams to the caller. A stall of op_timeout inside a Read fails
// it; time spent outside Read (a slow client) does not count.
func (s *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := begin(ctx, "open", name); err != nil {
		return nil, err
	}
	switch {
	case offset < 0:
		return nil, fail("open", name, fmt.Errorf("offset %d: %w", offset, fs.ErrInvalid))
	case name == ".":
		return nil, fail("open", name, backend.ErrIsDir)
	}
	r, err := s.open(ctx, name, offset)
	if err == errEmptyRead {
		return emptyReader(), nil
	}
	if err != nil {
		return nil, fail("open", name, err)
	}
	return r, nil
}

func (s *FS) open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.o.st.bucket), Key: aws.String(s.key(name))}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	w := newWatch(ctx, s.o.st.opTimeout)
	out, err := s.o.c.GetObject(w.ctx, in)
	if err != nil {
		stalled := w.stalled()
		w.end()
		if stalled {
			return nil, errStalled
		}
		return nil, s.openFailed(ctx, name, offset, classify(err))
	}
	w.paused()
	return backend.ReadAhead(&reader{w: w, body: out.Body}), nil
}

// openFailed explains a failed GET: a directory, a range at the very end
// of the file (S3 refuses an empty range; the read is empty), or the
// error itself.
func (s *FS) openFailed(ctx context.Context, name string, offset int64, err error) error {
	switch {
	case is(err, fs.ErrNotExist):
		if dir, _, derr := s.dirExists(ctx, name); derr == nil && dir {
			return backend.ErrIsDir
		}
		return err
	case is(err, fs.ErrInvalid) && offset > 0:
		fi, herr := s.head(ctx, name)
		if herr != nil {
			return herr
		}
		if fi.Size() == offset {
			return errEmptyRead
		}
		return fmt.Errorf("offset %d beyond the end (%d bytes): %w", offset, fi.Size(), fs.ErrInvalid)
	}
	return err
}

// errEmptyRead is never returned: Open turns it into an empty reader.
var errEmptyRead = fmt.Errorf("empty read")

// reader is an open download.
type reader struct {
	w    *watch
	body io.ReadCloser
}

// Read implements io.Reader; errors other than io.EOF are classified
// (a cut connection is backend.ErrUnavailable, a stall
// context.DeadlineExceeded).
func (r *reader) Read(p []byte) (int, error) {
	r.w.running()
	n, err := r.body.Read(p)
	r.w.paused()
	if err == nil || err == io.EOF {
		return n, err
	}
	if r.w.stalled() {
		return n, fmt.Errorf("s3 read: %w", errStalled)
	}
	return n, fmt.Errorf("s3 read: %w", classify(err))
}

// Close implements io.Closer. It may come while a Read is blocked (see
// backend.ReadAhead): the request's context is cancelled first, which
// cuts that Read short, then the body is closed.
func (r *reader) Close() error {
	r.w.end()
	return r.body.Close()
}

// emptyReader is the download of a REST offset at the end of the file.
func emptyReader() io.ReadCloser { return io.NopCloser(bytes.NewReader(nil)) }
