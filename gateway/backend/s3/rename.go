package s3

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// copyRate is the server-side copy speed a copy's timeout assumes beyond
// op_timeout: a large CopyObject answers only when it is done.
const copyRate = 32 << 20 // bytes per second

// Rename implements backend.FS. A file is copied server side
// (CopyObject, or a multipart copy above 5 GiB) and then deleted; if the
// copy fails the source is untouched. A directory is copied object by
// object, at most max_rename_objects of them, and the sources deleted
// once every copy is made: not atomic (see the package doc).
func (s *FS) Rename(ctx context.Context, from, to string) error {
	if err := begin(ctx, "rename", from); err != nil {
		return err
	}
	if err := checkName(to); err != nil {
		return fmt.Errorf("s3 rename: %w", err)
	}
	if err := s.rename(ctx, from, to); err != nil {
		return fail("rename", from, err)
	}
	s.o.forgetUsage(s.base)
	return nil
}

func (s *FS) rename(ctx context.Context, from, to string) error {
	if from == "." || to == "." {
		return fmt.Errorf("the home cannot be renamed or replaced: %w", fs.ErrInvalid)
	}
	fi, err := s.stat(ctx, from)
	if err != nil {
		return err
	}
	if from == to {
		return nil
	}
	if err := s.needDir(ctx, path.Dir(to)); err != nil {
		return err
	}
	if fi.IsDir() {
		return s.renameDir(ctx, from, to)
	}
	if dir, _, err := s.dirExists(ctx, to); err != nil {
		return err
	} else if dir {
		return backend.ErrIsDir
	}
	if err := s.copyObject(ctx, s.key(from), s.key(to), fi.Size()); err != nil {
		return err
	}
	return s.deleteKey(ctx, s.key(from))
}

// copySource is the x-amz-copy-source of key: bucket/key, URL-encoded.
func (s *FS) copySource(key string) string {
	elems := strings.Split(key, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	return url.PathEscape(s.o.st.bucket) + "/" + strings.Join(elems, "/")
}

// copyTimeout bounds a server-side copy of n bytes.
func (s *FS) copyTimeout(n int64) time.Duration {
	return s.o.st.opTimeout + time.Duration(n/copyRate)*time.Second
}

// copyObject copies src to dst on the server.
func (s *FS) copyObject(ctx context.Context, src, dst string, size int64) error {
	if size > s.o.st.copyThreshold {
		return s.multipartCopy(ctx, src, dst, size)
	}
	ctx, cancel := context.WithTimeout(ctx, s.copyTimeout(size))
	defer cancel()
	_, err := s.o.c.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(s.o.st.bucket), Key: aws.String(dst), CopySource: aws.String(s.copySource(src)),
	})
	return classify(err)
}

// multipartCopy copies an object too large for CopyObject with
// UploadPartCopy, in at most 10 000 parts; any failure aborts the
// multipart upload and leaves dst as it was.
func (s *FS) multipartCopy(ctx context.Context, src, dst string, size int64) error {
	part := max(s.o.st.copyPart, (size+maxParts-1)/maxParts)
	bucket := aws.String(s.o.st.bucket)
	cctx, cancel := s.o.opCtx(ctx)
	out, err := s.o.c.CreateMultipartUpload(cctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String(dst)})
	cancel()
	if err != nil {
		return classify(err)
	}
	mc := &mpCopy{s: s, src: src, dst: dst, id: out.UploadId}
	if err := mc.run(ctx, size, part); err != nil {
		mc.abort(ctx)
		return err
	}
	return nil
}

// renameDir moves every object under from to the same name under to.
// The target must not exist. Copies first; if one fails, the copies made
// are deleted and the source is whole. Then the sources are deleted.
func (s *FS) renameDir(ctx context.Context, from, to string) error {
	if strings.HasPrefix(to+"/", from+"/") {
		return fmt.Errorf("directory %s cannot move below itself: %w", from, fs.ErrInvalid)
	}
	if _, err := s.stat(ctx, to); err == nil {
		return fs.ErrExist
	} else if !is(err, fs.ErrNotExist) {
		return err
	}
	src, dst := s.dirKey(from), s.dirKey(to)
	objs, err := s.listTree(ctx, src, s.o.st.maxRename)
	if err != nil {
		return err
	}
	target := func(o object) object { return object{key: dst + strings.TrimPrefix(o.key, src), size: o.size} }
	var mu sync.Mutex
	var made []object
	err = s.each(ctx, objs, func(ctx context.Context, o object) error {
		t := target(o)
		var err error
		if isMarker(o.key) && o.size == 0 {
			err = s.putMarker(ctx, t.key)
		} else {
			err = s.copyObject(ctx, o.key, t.key, o.size)
		}
		if err == nil {
			mu.Lock()
			made = append(made, t)
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		if derr := s.deleteAll(context.WithoutCancel(ctx), made); derr != nil {
			s.o.log.Warn("s3 directory rename failed and its copies were not all removed", "from", src, "to", dst, "error", derr)
		}
		return err
	}
	return s.deleteAll(ctx, objs)
}

// putMarker writes a directory marker.
func (s *FS) putMarker(ctx context.Context, key string) error {
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	return s.putEmpty(ctx, key, false)
}
