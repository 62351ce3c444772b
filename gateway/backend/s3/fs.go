package s3

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// caps is what a bucket supports: directory renames (by copying, up to
// max_rename_objects) and usage (one flat listing, cached). No append,
// no resume of uploads, no MFMT: see the package doc.
const caps = backend.CapRenameDir | backend.CapUsage

// FS is one session's view of the bucket, rooted at the home's key
// prefix. It holds no connection of its own: requests go through the
// Opener's pool.
type FS struct {
	o    *Opener
	base string // the home's key prefix: "" or ending in "/"
}

// key is the object key of name.
func (s *FS) key(name string) string {
	if name == "." {
		return s.base
	}
	return s.base + name
}

// dirKey is the key prefix (and marker key) of the directory name.
func (s *FS) dirKey(name string) string {
	if name == "." {
		return s.base
	}
	return s.base + name + "/"
}

// begin checks a name and the context before an operation.
func begin(ctx context.Context, op, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("s3 %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(op, name, err)
	}
	return nil
}

// fileInfo describes an object. Times are whole seconds: HEAD answers
// carry no finer ones, so listings and Stat agree.
func fileInfo(name string, size int64, mtime *time.Time) backend.FileInfo {
	fi := backend.FileInfo{FName: path.Base(name), FSize: size, FMode: 0o644}
	if mtime != nil {
		fi.FModTime = mtime.Truncate(time.Second).UTC()
	}
	return fi
}

// dirInfo describes a directory; mtime is the marker's, or zero when the
// directory is only a prefix (the modify fact is then left out).
func dirInfo(name string, mtime *time.Time) backend.FileInfo {
	fi := fileInfo(name, 0, mtime)
	fi.FMode = fs.ModeDir | 0o755
	return fi
}

// Stat implements backend.FS: HEAD for a file, else a one-key listing of
// the prefix for a directory.
func (s *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := begin(ctx, "stat", name); err != nil {
		return nil, err
	}
	fi, err := s.stat(ctx, name)
	if err != nil {
		return nil, fail("stat", name, err)
	}
	return fi, nil
}

func (s *FS) stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if name == "." {
		return dirInfo(".", nil), nil
	}
	if fi, err := s.head(ctx, name); err == nil || !is(err, fs.ErrNotExist) {
		return fi, err
	}
	dir, mtime, err := s.dirExists(ctx, name)
	switch {
	case err != nil:
		return nil, err
	case !dir:
		return nil, fs.ErrNotExist
	}
	return dirInfo(name, mtime), nil
}

// head describes the file object name.
func (s *FS) head(ctx context.Context, name string) (fs.FileInfo, error) {
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	out, err := s.o.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.o.st.bucket), Key: aws.String(s.key(name))})
	if err != nil {
		return nil, classify(err)
	}
	return fileInfo(name, aws.ToInt64(out.ContentLength), out.LastModified), nil
}

// dirExists reports whether name is a directory: its marker exists (a
// HEAD), or else any key below it (a one-key listing). It returns the
// marker's time when the marker is there.
func (s *FS) dirExists(ctx context.Context, name string) (bool, *time.Time, error) {
	if name == "." {
		return true, nil, nil
	}
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	prefix := s.dirKey(name)
	bucket := aws.String(s.o.st.bucket)
	head, err := s.o.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String(prefix)})
	if err == nil {
		return true, head.LastModified, nil
	}
	if !is(err, fs.ErrNotExist) {
		return false, nil, classify(err)
	}
	out, err := s.o.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, nil, classify(err)
	}
	return len(out.Contents) > 0, nil, nil
}

// needDir fails with fs.ErrNotExist unless the directory name exists.
func (s *FS) needDir(ctx context.Context, name string) error {
	dir, _, err := s.dirExists(ctx, name)
	if err == nil && !dir {
		return fmt.Errorf("directory %s: %w", name, fs.ErrNotExist)
	}
	return err
}

// Mkdir implements backend.FS: it writes the zero-byte marker "name/",
// refusing an existing marker atomically (If-None-Match) and a file of
// that name. A directory that is only a prefix (objects put by another
// S3 client, no marker) gets its marker and Mkdir succeeds: finding it
// would cost a listing per MKD.
func (s *FS) Mkdir(ctx context.Context, name string) error {
	if err := begin(ctx, "mkdir", name); err != nil {
		return err
	}
	if err := s.mkdir(ctx, name); err != nil {
		return fail("mkdir", name, err)
	}
	return nil
}

func (s *FS) mkdir(ctx context.Context, name string) error {
	if name == "." {
		return fs.ErrExist
	}
	if err := s.needDir(ctx, path.Dir(name)); err != nil {
		return err
	}
	if _, err := s.head(ctx, name); err == nil {
		return fs.ErrExist
	} else if !is(err, fs.ErrNotExist) {
		return err
	}
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	return s.putEmpty(ctx, s.dirKey(name), true)
}

// Remove implements backend.FS.
func (s *FS) Remove(ctx context.Context, name string) error {
	if err := begin(ctx, "remove", name); err != nil {
		return err
	}
	if err := s.remove(ctx, name); err != nil {
		return fail("remove", name, err)
	}
	return nil
}

func (s *FS) remove(ctx context.Context, name string) error {
	fi, err := s.stat(ctx, name)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return backend.ErrIsDir
	}
	return s.deleteKey(ctx, s.key(name))
}

// deleteKey deletes one object.
func (s *FS) deleteKey(ctx context.Context, key string) error {
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	_, err := s.o.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.o.st.bucket), Key: aws.String(key)})
	return classify(err)
}

// Rmdir implements backend.FS: it removes the marker of a directory that
// holds nothing else. An object uploaded by another client between the
// check and the delete keeps the directory alive as a plain prefix.
func (s *FS) Rmdir(ctx context.Context, name string) error {
	if err := begin(ctx, "rmdir", name); err != nil {
		return err
	}
	if err := s.rmdir(ctx, name); err != nil {
		return fail("rmdir", name, err)
	}
	return nil
}

func (s *FS) rmdir(ctx context.Context, name string) error {
	if name == "." {
		return fmt.Errorf("the home cannot be removed: %w", fs.ErrInvalid)
	}
	lctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	prefix := s.dirKey(name)
	out, err := s.o.c.ListObjectsV2(lctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.o.st.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(2),
	})
	if err != nil {
		return classify(err)
	}
	if len(out.Contents) == 0 {
		if _, err := s.head(ctx, name); err == nil {
			return backend.ErrNotDir
		}
		return fs.ErrNotExist
	}
	for _, o := range out.Contents {
		if aws.ToString(o.Key) != prefix {
			return backend.ErrNotEmpty
		}
	}
	return s.deleteKey(ctx, prefix)
}

// Chtimes implements backend.FS: refused. A time kept in object metadata
// would show in MDTM (HEAD) but not in listings, which carry no
// metadata, and setting it means rewriting the object by a copy.
func (s *FS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	return fmt.Errorf("s3 chtimes %s: object times cannot be set: %w", name, errors.ErrUnsupported)
}

// Caps implements backend.FS.
func (s *FS) Caps(string) backend.Caps { return caps }

// Usage implements backend.FS: one flat listing of every key under the
// home (a request per 1000 objects), cached for usageTTL per home.
// Markers and the backend's own objects are not counted.
func (s *FS) Usage(ctx context.Context) (backend.Usage, error) {
	if err := ctx.Err(); err != nil {
		return backend.Usage{}, fail("usage", ".", err)
	}
	if u, ok := s.o.cachedUsage(s.base); ok {
		return u, nil
	}
	var u backend.Usage
	var token *string
	for {
		out, err := s.listPage(ctx, s.base, "", token)
		if err != nil {
			return backend.Usage{}, fail("usage", ".", err)
		}
		for _, o := range out.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), s.base)
			if rel == "" || strings.HasSuffix(rel, "/") || checkReserved(rel) != nil {
				continue
			}
			u.Bytes += aws.ToInt64(o.Size)
			u.Files++
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
	}
	s.o.storeUsage(s.base, u)
	return u, nil
}

// listPage fetches one page of up to 1000 keys under prefix.
func (s *FS) listPage(ctx context.Context, prefix, delimiter string, token *string) (*s3.ListObjectsV2Output, error) {
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	in := &s3.ListObjectsV2Input{
		Bucket: aws.String(s.o.st.bucket), Prefix: aws.String(prefix),
		ContinuationToken: token, MaxKeys: aws.Int32(1000),
	}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	out, err := s.o.c.ListObjectsV2(ctx, in)
	return out, classify(err)
}

// Close implements backend.FS; a session holds nothing of its own.
func (s *FS) Close() error { return nil }
