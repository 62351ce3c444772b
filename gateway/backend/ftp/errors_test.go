package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// TestReplyTable: each code the table names maps to its sentinel, and
// codes it leaves out map to none (a generic failure, 451).
func TestReplyTable(t *testing.T) {
	for _, tc := range []struct {
		code int
		want error
	}{
		{421, backend.ErrUnavailable}, {425, backend.ErrUnavailable}, {426, backend.ErrUnavailable},
		{452, backend.ErrNoSpace}, {552, backend.ErrNoSpace},
		{500, errors.ErrUnsupported}, {502, errors.ErrUnsupported}, {504, errors.ErrUnsupported},
		{501, fs.ErrInvalid}, {553, fs.ErrInvalid},
		{530, fs.ErrPermission}, {532, fs.ErrPermission}, {550, fs.ErrPermission},
		{450, nil}, {451, nil}, {551, nil},
	} {
		err := newReplyError("STOR", tc.code, "text")
		if tc.want == nil {
			if err.Unwrap() != nil {
				t.Errorf("%d maps to %v, want a generic failure", tc.code, err.Unwrap())
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%d does not map to %v", tc.code, tc.want)
		}
	}
}

// TestRefineReplaces: a diagnosed refusal wraps the diagnosis only, not
// the code's default, so the gateway's mapping is not ambiguous.
func TestRefineReplaces(t *testing.T) {
	err := refine(newReplyError("DELE", 550, "Delete operation failed."), fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		t.Errorf("refined 550: %v", err)
	}
	if !strings.Contains(err.Error(), "550") {
		t.Errorf("refined error lost the reply for the logs: %v", err)
	}
	if transport(err) {
		t.Errorf("a refusal taken for a broken connection")
	}
}

func TestDiagnosable(t *testing.T) {
	for c, want := range map[int]bool{550: true, 553: true, 450: true, 451: true, 421: false, 426: false, 552: false,
		452: false, 530: false, 500: false, 250: false} {
		if got := diagnosable(newReplyError("X", c, "")); got != want {
			t.Errorf("diagnosable(%d) = %v", c, got)
		}
	}
	if diagnosable(io.EOF) || diagnosable(nil) {
		t.Errorf("a transport error is diagnosable")
	}
}

// TestClassify: the contract's terms for each kind of failure, and
// which kill the link.
func TestClassify(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	timeout := &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want error
		dead bool
	}{
		{"refusal", context.Background(), newReplyError("DELE", 550, ""), fs.ErrPermission, false},
		{"421", context.Background(), newReplyError("NOOP", 421, "Timeout."), backend.ErrUnavailable, true},
		{"eof", context.Background(), fmt.Errorf("reading the reply: %w", io.EOF), backend.ErrUnavailable, true},
		{"timeout", context.Background(), timeout, context.DeadlineExceeded, true},
		{"cancelled", cancelled, timeout, context.Canceled, true},
		{"reset", context.Background(), errors.New("connection reset by peer"), backend.ErrUnavailable, true},
		{"parse", context.Background(), errParse, backend.ErrUnavailable, true},
	} {
		l := deadLink()
		got := l.classify(tc.ctx, tc.err)
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if errors.Is(got, io.EOF) {
			t.Errorf("%s: %v wraps io.EOF: a reader would take it for the end of the file", tc.name, got)
		}
		if l.dead.Load() != tc.dead {
			t.Errorf("%s: link dead = %v, want %v", tc.name, l.dead.Load(), tc.dead)
		}
	}
}

// deadLink is a link whose connection failed, enough for classify.
func deadLink() *link {
	return &link{st: &settings{opTimeout: time.Second}, log: hclog.NewNullLogger(), release: func() {}}
}

func TestSanitize(t *testing.T) {
	got := sanitize("550 no\r\n550-such\x00file\x1b[31m" + strings.Repeat("x", 300))
	if strings.ContainsAny(got, "\r\n\x00\x1b") || len(got) > maxReplyText+3 {
		t.Errorf("sanitize = %q", got)
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"a\rb", "a\nDELE x", "x/\xffy", ".ftpsgw-up-1", "d/.ftpsgw-probe-x", "../a", "a\x00"} {
		if err := checkName(name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("checkName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{".", "a", "a b/c d", ".hidden", "ünïcode", "-rf", "*?[x]"} {
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q) = %v", name, err)
		}
	}
}

// TestLoginErrors: refused credentials are fs.ErrPermission only (the
// gateway's 530 and a defender failure), never also ErrUnavailable.
func TestLoginErrors(t *testing.T) {
	for _, err := range []error{
		newReplyError("PASS", 530, "Login incorrect."),
		fmt.Errorf("user name or password holds CR or LF: %w", fs.ErrPermission),
	} {
		got := loginError(context.Background(), deadLink(), err)
		if !errors.Is(got, fs.ErrPermission) || errors.Is(got, backend.ErrUnavailable) {
			t.Errorf("loginError(%v) = %v", err, got)
		}
	}
	for _, err := range []error{newReplyError("AUTH", 500, "unknown"), newReplyError("connect", 421, "too many"), io.EOF} {
		if got := loginError(context.Background(), deadLink(), err); !errors.Is(got, backend.ErrUnavailable) {
			t.Errorf("loginError(%v) = %v, want ErrUnavailable", err, got)
		}
	}
}
