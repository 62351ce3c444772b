package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

const (
	// reservedPrefix starts the names of the backend's own objects
	// (probes): clients can neither see nor name them.
	reservedPrefix = ".ftpsgw-"
	// probePrefix starts Probe's test object name.
	probePrefix = reservedPrefix + "probe-"
	// usageTTL is how long a measured usage is reused.
	usageTTL = 10 * time.Second
)

// Opener serves sessions from one bucket. Build it with Config.Open. All
// sessions share its client and connection pool.
type Opener struct {
	name string
	log  hclog.Logger
	st   *settings
	c    *s3.Client
	tr   *http.Transport

	mu     sync.Mutex
	closed bool                  // guarded by mu
	usage  map[string]usageEntry // guarded by mu: by key prefix
}

// usageEntry is one cached usage measurement.
type usageEntry struct {
	u  backend.Usage
	at time.Time
}

var (
	_ backend.Opener = (*Opener)(nil)
	_ backend.FS     = (*FS)(nil)
)

func newOpener(name string, log hclog.Logger, st *settings) *Opener {
	c, tr := newClient(st)
	return &Opener{name: name, log: log, st: st, c: c, tr: tr, usage: map[string]usageEntry{}}
}

// live fails once the Opener is closed.
func (o *Opener) live() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return fmt.Errorf("%w: s3 backend %s is closed", backend.ErrUnavailable, o.name)
	}
	return nil
}

// opCtx bounds one request by op_timeout.
func (o *Opener) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.st.opTimeout)
}

// Open implements backend.Opener: it makes sure the home's marker object
// exists, which also tells whether the storage answers.
func (o *Opener) Open(ctx context.Context, home string) (backend.FS, error) {
	rel, err := backend.CheckHome(home)
	if err != nil {
		return nil, err
	}
	if err := checkReserved(rel); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := o.live(); err != nil {
		return nil, err
	}
	s := &FS{o: o, base: o.st.prefix}
	if rel != "." {
		s.base += rel + "/"
	}
	if err := s.openHome(ctx); err != nil {
		return nil, fmt.Errorf("open home %s: %w", home, err)
	}
	return s, nil
}

// openHome creates the home's marker when nothing is stored under it;
// for the bucket's root it checks that the bucket answers. It lists
// rather than HEADs: a refused listing says why (AccessDenied or
// SignatureDoesNotMatch), a refused HEAD only 403.
func (s *FS) openHome(ctx context.Context) error {
	ctx, cancel := s.o.opCtx(ctx)
	defer cancel()
	out, err := s.o.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.o.st.bucket), Prefix: aws.String(s.base), MaxKeys: aws.Int32(1),
	})
	if err != nil || s.base == "" || len(out.Contents) > 0 {
		return classify(err)
	}
	return s.putEmpty(ctx, s.base, false)
}

// putEmpty writes a zero-byte object (a directory marker); exclusive
// refuses an existing key with fs.ErrExist.
func (s *FS) putEmpty(ctx context.Context, key string, exclusive bool) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.o.st.bucket), Key: aws.String(key),
		Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
	}
	if exclusive {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := s.o.c.PutObject(ctx, in)
	return classify(err)
}

// Probe implements backend.Opener: it writes a small hidden object under
// the prefix, reads it back and deletes it. A missing bucket and refused
// credentials are named in the error. A storage it cannot reach keeps
// the failed dial or name lookup (*net.OpError, *net.DNSError) in the
// error's chain, so check-config tells it from a refusal.
func (o *Opener) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if err := o.live(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	ctx, cancel := o.opCtx(ctx)
	defer cancel()
	if err := o.probe(ctx, o.st.prefix+probePrefix+rand.Text()); err != nil {
		return fmt.Errorf("probe bucket %s at %s: %w", o.st.bucket, o.where(), err)
	}
	return nil
}

// where names the endpoint for messages.
func (o *Opener) where() string {
	if o.st.endpoint == "" {
		return "AWS " + o.st.region
	}
	return o.st.endpoint
}

// probe writes, reads back and deletes key.
func (o *Opener) probe(ctx context.Context, key string) (err error) {
	bucket := aws.String(o.st.bucket)
	want := []byte("ftpsgw probe " + key)
	_, err = o.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: bucket, Key: aws.String(key), Body: bytes.NewReader(want), ContentLength: aws.Int64(int64(len(want))),
	})
	if err != nil {
		return fmt.Errorf("write: %w", probeFail(err))
	}
	defer func() {
		_, derr := o.c.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(key)})
		if derr != nil && err == nil {
			err = fmt.Errorf("delete: %w", probeFail(derr))
		}
	}()
	out, err := o.c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("read: %w", probeFail(err))
	}
	got, rerr := io.ReadAll(io.LimitReader(out.Body, int64(len(want))+1))
	out.Body.Close()
	if rerr != nil {
		return fmt.Errorf("read: %w", probeFail(rerr))
	}
	if !bytes.Equal(got, want) {
		return errors.New("read back different data")
	}
	return nil
}

// Close implements backend.Opener: new sessions and probes are refused,
// idle connections closed; open sessions keep working until they close.
func (o *Opener) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.tr.CloseIdleConnections()
	return nil
}

// cachedUsage returns the usage measured under base within usageTTL.
func (o *Opener) cachedUsage(base string) (backend.Usage, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.usage[base]
	if !ok || time.Since(e.at) > usageTTL {
		delete(o.usage, base)
		return backend.Usage{}, false
	}
	return e.u, true
}

func (o *Opener) storeUsage(base string, u backend.Usage) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.usage[base] = usageEntry{u: u, at: time.Now()}
}

// checkName applies the contract's name rule and refuses the reserved
// prefix, so clients can neither see nor name the backend's own objects.
func checkName(name string) error {
	if err := backend.CheckName(name); err != nil {
		return err
	}
	return checkReserved(name)
}

// checkReserved refuses elements with the reserved prefix.
func checkReserved(name string) error {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, reservedPrefix) {
			return fmt.Errorf("reserved name %q: %w", elem, fs.ErrInvalid)
		}
	}
	return nil
}

// forgetUsage drops the cached usage of base after a change.
func (o *Opener) forgetUsage(base string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.usage, base)
}
