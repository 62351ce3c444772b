package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// replyError is an upstream reply that refused a command. It carries the
// upstream's text for the logs; the gateway never sends an error's text
// to its client (gateway/replies.go answers fixed text by sentinel).
type replyError struct {
	verb string // the command, without its argument
	code int
	text string // sanitised, at most maxReplyText bytes
}

// maxReplyText bounds the upstream text an error carries.
const maxReplyText = 200

func newReplyError(verb string, code int, msg string) *replyError {
	return &replyError{verb: verb, code: code, text: sanitize(msg)}
}

func (e *replyError) Error() string {
	return fmt.Sprintf("upstream answered %d to %s: %s", e.code, e.verb, e.text)
}

// Unwrap gives the table's sentinel for the code (nil: none).
func (e *replyError) Unwrap() error { return replyTable[e.code] }

// sanitize makes upstream text safe to log: one line, printable, short.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxReplyText {
		s = s[:maxReplyText] + "..."
	}
	return s
}

// replyTable is the one mapping of upstream reply codes to the
// contract's errors. A code it leaves out is a generic failure (the
// gateway answers 451). 550 and 553 say only that the command was refused;
// the operation's diagnosis (see diagnose.go) refines them by looking at
// the files (missing, not a directory, not empty, ...), and only when it
// finds nothing more specific does the code's entry below stand.
var replyTable = map[int]error{
	421: backend.ErrUnavailable, // service closing: the link is dropped
	425: backend.ErrUnavailable, // no data connection
	426: backend.ErrUnavailable, // transfer aborted: connection closed
	452: backend.ErrNoSpace,     // insufficient storage
	500: errors.ErrUnsupported,  // unknown command
	501: fs.ErrInvalid,          // syntax error in the argument
	502: errors.ErrUnsupported,  // command not implemented
	504: errors.ErrUnsupported,  // not implemented for that parameter
	530: fs.ErrPermission,       // not logged in: refused credentials
	532: fs.ErrPermission,       // account needed
	534: backend.ErrUnavailable, // TLS policy refused
	550: fs.ErrPermission,       // refused: missing or denied, see the diagnosis
	552: backend.ErrNoSpace,     // storage allocation (quota) exceeded
	553: fs.ErrInvalid,          // file name not allowed
}

// upstream brings an error of gateway/ftpclient into this package's
// terms: a refusing reply (*ftpclient.Error) becomes a *replyError, so
// the table maps it; an argument holding CR, LF or NUL (never sent)
// fs.ErrInvalid. A failed data TLS handshake stays a transport failure,
// whatever the upstream then answered. Anything else is kept as it is.
func upstream(err error) error {
	var fe *ftpclient.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ftpclient.ErrBadArgument):
		return fmt.Errorf("%w: %w", fs.ErrInvalid, err)
	case errors.Is(err, ftpclient.ErrDataTLS):
		return err
	case errors.As(err, &fe):
		return newReplyError(fe.Cmd, fe.Reply.Code, fe.Reply.Message())
	}
	return err
}

// refined is a refusal that the diagnosis explained: it wraps the
// sentinel the diagnosis found and only that (not the table's entry for
// the code); the reply stays in the text for the logs.
type refined struct {
	sentinel error
	reply    error
}

func (e *refined) Error() string { return e.sentinel.Error() + ": " + e.reply.Error() }
func (e *refined) Unwrap() error { return e.sentinel }

// refine explains the refusal err by sentinel; a nil sentinel leaves err
// as it is.
func refine(err, sentinel error) error {
	if sentinel == nil || err == nil {
		return err
	}
	return &refined{sentinel: sentinel, reply: err}
}

// code returns the reply code of err, or 0.
func code(err error) int {
	var re *replyError
	if errors.As(err, &re) {
		return re.code
	}
	return 0
}

// diagnosable reports whether err is a refusal that the state of the
// files may explain: any 4xx or 5xx reply but the ones that already say
// what went wrong (connection, space, support, credentials).
func diagnosable(err error) bool {
	switch c := code(err); {
	case c < 400:
		return false
	case c == 421, c == 425, c == 426, c == 452, c == 552, c == 530, c == 532, c == 534:
		return false
	case c == 500, c == 502, c == 504:
		return false
	}
	return true
}

// errClosed reports a connection the upstream closed unasked.
var errClosed = errors.New("upstream closed the connection")

// errOpTimeout marks an exchange the upstream did not answer in time.
var errOpTimeout = errors.New("upstream did not answer within op_timeout")

// transport reports whether err means the connection is broken (or in an
// unknown state) rather than that the upstream refused the command.
func transport(err error) bool {
	if err == nil {
		return false
	}
	if c := code(err); c != 0 {
		return c == 421
	}
	for _, s := range []error{fs.ErrInvalid, errors.ErrUnsupported, fs.ErrNotExist, fs.ErrPermission, fs.ErrExist, fs.ErrClosed,
		backend.ErrIsDir, backend.ErrNotDir, backend.ErrNotEmpty, backend.ErrNoSpace} {
		if errors.Is(err, s) {
			return false
		}
	}
	return true
}

// classify turns the error of an exchange on l into the contract's terms:
// the context's error once ctx ended, context.DeadlineExceeded when the
// upstream did not answer within op_timeout, backend.ErrUnavailable for
// a broken connection (421 included); a refusal keeps its table
// sentinel. A transport failure marks l dead, so it is never reused.
func (l *link) classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case !transport(err):
		return err
	}
	l.kill()
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %w", cerr, err)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errOpTimeout) {
		return fmt.Errorf("%w: no answer within %v: %w", context.DeadlineExceeded, l.st.opTimeout, err)
	}
	if errors.Is(err, io.EOF) {
		// Never io.EOF: a reader would take a cut for the end of a file.
		return fmt.Errorf("%w: %w", backend.ErrUnavailable, errClosed)
	}
	if errors.Is(err, backend.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
}
