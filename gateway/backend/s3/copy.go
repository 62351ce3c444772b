package s3

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// defaultCopyPart is the part size of a multipart copy (server side: it
// costs no memory here).
const defaultCopyPart = 512 << 20

// mpCopy is one multipart copy in progress.
type mpCopy struct {
	s        *FS
	src, dst string
	id       *string
}

// run copies size bytes in parts of part bytes, upload_concurrency at a
// time, and completes the upload.
func (mc *mpCopy) run(ctx context.Context, size, part int64) error {
	n := int((size + part - 1) / part)
	parts := make([]types.CompletedPart, n)
	errs := make([]error, n)
	sem := make(chan struct{}, mc.s.o.st.concurrency)
	var wg sync.WaitGroup
	for i := range n {
		first := int64(i) * part
		last := min(first+part, size) - 1
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			parts[i], errs[i] = mc.copyPart(ctx, int32(i+1), first, last)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, mc.s.copyTimeout(size))
	defer cancel()
	_, err := mc.s.o.c.CompleteMultipartUpload(cctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(mc.s.o.st.bucket), Key: aws.String(mc.dst), UploadId: mc.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return classify(err)
}

// copyPart copies bytes first..last of the source as part num.
func (mc *mpCopy) copyPart(ctx context.Context, num int32, first, last int64) (types.CompletedPart, error) {
	if err := ctx.Err(); err != nil {
		return types.CompletedPart{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, mc.s.copyTimeout(last-first+1))
	defer cancel()
	out, err := mc.s.o.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: aws.String(mc.s.o.st.bucket), Key: aws.String(mc.dst), UploadId: mc.id,
		PartNumber: aws.Int32(num), CopySource: aws.String(mc.s.copySource(mc.src)),
		CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)),
	})
	if err != nil {
		return types.CompletedPart{}, classify(err)
	}
	var etag *string
	if out.CopyPartResult != nil {
		etag = out.CopyPartResult.ETag
	}
	return types.CompletedPart{ETag: etag, PartNumber: aws.Int32(num)}, nil
}

// abort aborts the multipart copy, even when ctx is cancelled.
func (mc *mpCopy) abort(ctx context.Context) {
	if err := mc.s.abortMultipart(context.WithoutCancel(ctx), mc.dst, mc.id, false); err != nil {
		mc.s.o.log.Warn("s3 multipart copy not aborted", "key", mc.dst, "upload_id", aws.ToString(mc.id), "error", err)
	}
}

// object is one listed key to rename.
type object struct {
	key  string
	size int64
}

// listTree lists every key under prefix, failing with
// backend.ErrTooManyObjects beyond limit (so a refused rename has copied
// nothing: the listing comes before the first copy).
func (s *FS) listTree(ctx context.Context, prefix string, limit int) ([]object, error) {
	var objs []object
	var token *string
	for {
		out, err := s.listPage(ctx, prefix, "", token)
		if err != nil {
			return nil, err
		}
		for _, o := range out.Contents {
			objs = append(objs, object{key: aws.ToString(o.Key), size: aws.ToInt64(o.Size)})
		}
		if len(objs) > limit {
			return nil, fmt.Errorf("more than max_rename_objects = %d objects: %w", limit, backend.ErrTooManyObjects)
		}
		if !aws.ToBool(out.IsTruncated) {
			return objs, nil
		}
		token = out.NextContinuationToken
	}
}

// each runs f on every object, upload_concurrency at a time, and returns
// the first error.
func (s *FS) each(ctx context.Context, objs []object, f func(ctx context.Context, o object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(objs))
	sem := make(chan struct{}, s.o.st.concurrency)
	var wg sync.WaitGroup
	for i, o := range objs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if errs[i] = f(ctx, o); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteAll deletes objs, files before the directory markers they are
// in (deepest first), concurrently within each depth order.
func (s *FS) deleteAll(ctx context.Context, objs []object) error {
	slices.SortFunc(objs, func(a, b object) int { return compareDesc(a.key, b.key) })
	var files, markers []object
	for _, o := range objs {
		if isMarker(o.key) {
			markers = append(markers, o)
		} else {
			files = append(files, o)
		}
	}
	del := func(ctx context.Context, o object) error { return s.deleteKey(ctx, o.key) }
	if err := s.each(ctx, files, del); err != nil {
		return err
	}
	for _, m := range markers { // in reverse order: children first
		if err := s.deleteKey(ctx, m.key); err != nil {
			return err
		}
	}
	return nil
}

func isMarker(key string) bool { return len(key) > 0 && key[len(key)-1] == '/' }

func compareDesc(a, b string) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}
