package sftp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"testing"

	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

func TestMapStatus(t *testing.T) {
	tests := []struct {
		code uint32
		want error // nil: no sentinel (generic failure)
	}{
		{fxFailure, nil},
		{fxBadMessage, fs.ErrInvalid},
		{fxNoConnection, backend.ErrUnavailable},
		{fxConnectionLost, backend.ErrUnavailable},
		{fxOpUnsupported, errors.ErrUnsupported},
		{fxNoSuchPath, fs.ErrNotExist},
		{fxFileExists, fs.ErrExist},
		{fxWriteProtect, fs.ErrPermission},
		{fxNoSpace, backend.ErrNoSpace},
		{fxQuotaExceeded, backend.ErrNoSpace},
		{fxDirNotEmpty, backend.ErrNotEmpty},
		{fxNotADirectory, backend.ErrNotDir},
		{fxInvalidFilename, fs.ErrInvalid},
		{fxCannotDelete, fs.ErrPermission},
		{fxFileIsADirectory, backend.ErrIsDir},
	}
	sentinels := []error{fs.ErrInvalid, fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, backend.ErrUnavailable,
		backend.ErrNoSpace, backend.ErrNotEmpty, backend.ErrNotDir, backend.ErrIsDir, errors.ErrUnsupported}
	for _, tc := range tests {
		err := mapErr(fmt.Errorf("op: %w", &sftp.StatusError{Code: tc.code}))
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tc.want) {
				t.Errorf("code %d: errors.Is(%v) = %v", tc.code, s, got)
			}
		}
		if tc.code == fxFailure && !isFailure(err) {
			t.Errorf("code %d not recognised as the generic failure", tc.code)
		}
	}
}

func TestTransport(t *testing.T) {
	l := &link{done: make(chan struct{})}
	tests := []struct {
		err  error
		want bool
	}{
		{sftp.ErrSSHFxConnectionLost, true},
		{fmt.Errorf("failed to send packet: %w", io.EOF), true},
		{errors.New("ssh: unexpected packet"), true},
		{io.EOF, false},
		{fs.ErrNotExist, false},
		{fmt.Errorf("x: %w", fs.ErrPermission), false},
		{&sftp.StatusError{Code: fxFailure}, false},
		{backend.ErrNotDir, false},
		{context.Canceled, false},
	}
	for _, tc := range tests {
		if got := transport(tc.err, l); got != tc.want {
			t.Errorf("transport(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	close(l.done)
	if !transport(fs.ErrNotExist, l) {
		t.Errorf("an error on a dead link is not a transport error")
	}
}

func TestPosixMode(t *testing.T) {
	tests := []struct {
		m    uint32
		want fs.FileMode
	}{
		{0o100644, 0o644},
		{0o040755, fs.ModeDir | 0o755},
		{0o120777, fs.ModeSymlink | 0o777},
		{0o020600, fs.ModeIrregular | 0o600}, // a character device
		{0o010644, fs.ModeIrregular | 0o644}, // a FIFO
	}
	for _, tc := range tests {
		if got := posixMode(tc.m); got != tc.want {
			t.Errorf("posixMode(%o) = %v, want %v", tc.m, got, tc.want)
		}
	}
}

// nameBody builds the body of a NAME answer (after the type byte).
func nameBody(id uint32, names ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, n := range names {
		b = appendString(b, n)
		b = appendString(b, "-rw-r--r-- 1 u g 5 Jan 1 00:00 "+n)
		b = binary.BigEndian.AppendUint32(b, attrSize|attrPerms|attrACModTime)
		b = binary.BigEndian.AppendUint64(b, 5)
		b = binary.BigEndian.AppendUint32(b, 0o100644)
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, 1000000000)
	}
	return b
}

func TestParseName(t *testing.T) {
	body := nameBody(7, "a", "b c")
	d := &decoder{b: body[4:]}
	entries, err := parseName(d)
	if err != nil || len(entries) != 2 {
		t.Fatalf("parseName = %v, %v", entries, err)
	}
	if e := entries[1]; e.name != "b c" || e.size != 5 || e.mode != 0o644 || e.mtime.Unix() != 1000000000 {
		t.Errorf("entry = %+v", e)
	}
	for cut := 0; cut < len(body)-4; cut++ {
		if _, err := parseName(&decoder{b: body[4 : 4+cut]}); !errors.Is(err, errProtocol) {
			t.Fatalf("a NAME cut at %d bytes parsed: %v", cut, err)
		}
	}
}

// FuzzParseName feeds arbitrary server bytes to the READDIR decoder: it
// must return entries or an error, never panic or allocate without
// bound.
func FuzzParseName(f *testing.F) {
	f.Add(nameBody(1, "x")[4:])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseName(&decoder{b: b})
	})
}
