package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// errCredentials marks credentials the storage refuses: a problem of the
// gateway's configuration, not of the user, so it reads as unavailable.
var errCredentials = fmt.Errorf("%w: the storage refused the access key or its secret", backend.ErrUnavailable)

// errNoBucket marks a request to a bucket that does not exist.
var errNoBucket = fmt.Errorf("%w: the bucket does not exist", backend.ErrUnavailable)

// codeSentinels maps S3 error codes to the contract's sentinels.
var codeSentinels = map[string]error{
	"NoSuchKey":                  fs.ErrNotExist,
	"NotFound":                   fs.ErrNotExist,
	"NoSuchBucket":               errNoBucket,
	"AccessDenied":               fs.ErrPermission,
	"Forbidden":                  fs.ErrPermission,
	"AllAccessDisabled":          fs.ErrPermission,
	"InvalidAccessKeyId":         errCredentials,
	"SignatureDoesNotMatch":      errCredentials,
	"ExpiredToken":               errCredentials,
	"PreconditionFailed":         fs.ErrExist,
	"ConditionalRequestConflict": fs.ErrExist,
	"SlowDown":                   backend.ErrUnavailable,
	"ServiceUnavailable":         backend.ErrUnavailable,
	"Throttling":                 backend.ErrUnavailable,
	"RequestTimeout":             backend.ErrUnavailable,
	"InsufficientStorage":        backend.ErrNoSpace,
	"QuotaExceeded":              backend.ErrNoSpace,
	"XMinioStorageFull":          backend.ErrNoSpace,
	"InvalidRange":               fs.ErrInvalid,
	"KeyTooLongError":            fs.ErrInvalid,
	"InvalidObjectName":          fs.ErrInvalid,
}

// statusSentinels maps HTTP statuses of answers without a known code
// (HEAD answers carry no body).
var statusSentinels = map[int]error{
	403: fs.ErrPermission,
	404: fs.ErrNotExist,
	412: fs.ErrExist,
	416: fs.ErrInvalid,
	503: backend.ErrUnavailable,
	507: backend.ErrNoSpace,
}

// classify makes an error of the S3 client match the contract: the
// sentinel first, the client's text after it. The client's own error
// chain is cut (%v): it can hold os.ErrDeadlineExceeded or net errors
// that would make the gateway's reply mapping pick the wrong class.
func classify(err error) error {
	var c *classified
	if err == nil || errors.As(err, &c) {
		return err
	}
	if s := sentinel(err); s != nil {
		return &classified{s: s, detail: err.Error()}
	}
	return err
}

// classified is an error reduced to its sentinel and its text.
type classified struct {
	s      error
	detail string
}

func (c *classified) Error() string { return c.s.Error() + ": " + c.detail }
func (c *classified) Unwrap() error { return c.s }

// sentinel returns the contract's sentinel for err, nil when none fits.
func sentinel(err error) error {
	switch {
	case errors.Is(err, errStalled):
		return errStalled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if s, ok := codeSentinels[ae.ErrorCode()]; ok {
			return s
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		if s, ok := statusSentinels[re.HTTPStatusCode()]; ok {
			return s
		}
		if re.HTTPStatusCode() >= 500 {
			return nil // a server error with its own text: 451
		}
	}
	if unreachable(err) {
		return backend.ErrUnavailable
	}
	return nil
}

// unreachable reports network failures: refused or reset connections,
// timeouts of the dial or the socket, a response cut short.
func unreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// probeFail is classify for Probe's requests, keeping a failed dial or
// name lookup beside the sentinel: a caller can then tell a storage it
// could not reach from one that answered and refused (check-config
// warns about the first and fails on the second). A probe's error never
// reaches the gateway's reply mapping, which classify protects.
func probeFail(err error) error {
	c := classify(err)
	var de *net.DNSError
	var oe *net.OpError
	switch {
	case errors.As(err, &de):
		return &netCause{err: c, cause: de}
	case errors.As(err, &oe) && oe.Op == "dial":
		return &netCause{err: c, cause: oe}
	}
	return c
}

// netCause is a classified error with the network error that caused it.
type netCause struct {
	err, cause error
}

func (e *netCause) Error() string   { return e.err.Error() }
func (e *netCause) Unwrap() []error { return []error{e.err, e.cause} }

// fail wraps err with the operation and name, classified.
func fail(op, name string, err error) error {
	return fmt.Errorf("s3 %s %s: %w", op, name, classify(err))
}

// is reports whether err classifies as target.
func is(err, target error) bool { return errors.Is(classify(err), target) }

// codeOf returns the S3 error code of err, "" when it has none.
func codeOf(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
