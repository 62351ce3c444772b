package s3

import (
	"context"
	"io"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// ReadDir implements backend.FS. The listing streams: each Next hands out
// entries of one ListObjectsV2 page (delimiter "/": common prefixes are
// directories) and fetches the next page only when the last is used up,
// so memory is bounded by one page of 1000 keys whatever the directory
// holds. The first page is read here, which is also how a missing
// directory is told apart from an empty one.
func (s *FS) ReadDir(ctx context.Context, name string) (backend.Lister, error) {
	if err := begin(ctx, "readdir", name); err != nil {
		return nil, err
	}
	l := &lister{s: s, prefix: s.dirKey(name)}
	if err := l.fetch(ctx); err != nil {
		return nil, fail("readdir", name, err)
	}
	if name != "." && len(l.buf) == 0 && !l.sawKeys {
		if fi, err := s.head(ctx, name); err == nil && !fi.IsDir() {
			return nil, fail("readdir", name, backend.ErrNotDir)
		}
		return nil, fail("readdir", name, fs.ErrNotExist)
	}
	return l, nil
}

// lister is one streamed listing. It is used by one goroutine at a time.
type lister struct {
	s       *FS
	prefix  string
	token   *string // the next page's continuation token
	done    bool    // the last page was fetched
	sawKeys bool    // some page held a key (the marker counts)
	buf     []fs.FileInfo
}

// Next implements backend.Lister.
func (l *lister) Next(ctx context.Context, n int) ([]fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, fail("readdir", l.prefix, err)
	}
	for len(l.buf) == 0 && !l.done {
		if err := l.fetch(ctx); err != nil {
			return nil, fail("readdir", l.prefix, err)
		}
	}
	if len(l.buf) == 0 {
		return nil, io.EOF
	}
	if n <= 0 || n > len(l.buf) {
		n = len(l.buf)
	}
	out := l.buf[:n:n]
	l.buf = l.buf[n:]
	return out, nil
}

// fetch reads the next page into buf.
func (l *lister) fetch(ctx context.Context) error {
	out, err := l.s.listPage(ctx, l.prefix, "/", l.token)
	if err != nil {
		return err
	}
	l.buf = entries(l.prefix, out)
	l.sawKeys = l.sawKeys || aws.ToInt32(out.KeyCount) > 0
	l.token = out.NextContinuationToken
	l.done = !aws.ToBool(out.IsTruncated) || l.token == nil
	return nil
}

// entries converts one page. The directory's own marker, the backend's
// objects and keys that no FTP name could address (empty elements, "..")
// are left out.
func entries(prefix string, out *s3.ListObjectsV2Output) []fs.FileInfo {
	infos := make([]fs.FileInfo, 0, len(out.CommonPrefixes)+len(out.Contents))
	for _, p := range out.CommonPrefixes {
		name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), prefix), "/")
		if listable(name) {
			infos = append(infos, dirInfo(name, nil))
		}
	}
	for _, o := range out.Contents {
		name := strings.TrimPrefix(aws.ToString(o.Key), prefix)
		if listable(name) {
			infos = append(infos, fileInfo(name, aws.ToInt64(o.Size), o.LastModified))
		}
	}
	return infos
}

// listable reports whether a listed name is one entry a client may name.
func listable(name string) bool {
	return name != "" && !strings.Contains(name, "/") && checkName(name) == nil
}

// Close implements backend.Lister.
func (l *lister) Close() error {
	l.buf, l.done = nil, true
	return nil
}
