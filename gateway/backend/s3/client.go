package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	// maxBackoff caps the wait between two attempts of a request.
	maxBackoff = 5 * time.Second
	// ioBuffer is the transport's socket buffer size.
	ioBuffer = 256 << 10
)

// newClient builds the S3 client: one pooled HTTP transport per Opener,
// static credentials, a bounded retryer with exponential backoff and no
// retry quota (the quota would turn a long outage into errors that no
// longer say what went wrong), and checksums only where S3 requires them.
func newClient(st *settings) (*s3.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: st.opTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: st.cas, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   st.opTimeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       ioBuffer,
		ReadBufferSize:        ioBuffer,
	}
	secret, access := st.secretKey, st.accessKey
	opts := s3.Options{
		Region: st.region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: access, SecretAccessKey: secret, Source: "ftpsgw"}, nil
		}),
		HTTPClient:   &http.Client{Transport: tr},
		UsePathStyle: st.pathStyle,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = st.retries + 1
			o.MaxBackoff = maxBackoff
			o.RateLimiter = ratelimit.None
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if st.endpoint != "" {
		opts.BaseEndpoint = aws.String(st.endpoint)
	}
	return s3.New(opts), tr
}

// errStalled is the cause of a transfer cancelled because the storage made
// no progress for op_timeout.
var errStalled = fmt.Errorf("no progress from the storage within op_timeout: %w", context.DeadlineExceeded)

// watch cancels its context when the storage makes no progress for d
// while the watch is running. Transfers use it instead of a deadline, so
// a long transfer is bounded by stalls, not by its length.
type watch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	d      time.Duration
}

// newWatch starts a running watch under parent.
func newWatch(parent context.Context, d time.Duration) *watch {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watch{ctx: ctx, cancel: cancel, d: d}
	w.timer = time.AfterFunc(d, func() { cancel(errStalled) })
	return w
}

// running restarts the stall timer (progress was made, or the caller
// starts waiting on the storage again).
func (w *watch) running() { w.timer.Reset(w.d) }

// paused stops the timer while the caller is not waiting on the storage.
func (w *watch) paused() { w.timer.Stop() }

// stalled reports whether the watch cancelled its context.
func (w *watch) stalled() bool { return errors.Is(context.Cause(w.ctx), errStalled) }

// end stops the watch and releases its context.
func (w *watch) end() {
	w.timer.Stop()
	w.cancel(context.Canceled)
}

// progressBody is a request body that restarts a watch on every read, so
// a part upload fails only when the storage stops taking data. It keeps
// the Seek of the bytes it wraps, for signing and retries.
type progressBody struct {
	r io.ReadSeeker
	w *watch
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.w.running()
	return n, err
}

func (p *progressBody) Seek(off int64, whence int) (int64, error) { return p.r.Seek(off, whence) }
