package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway"
)

// Transfer log formats.
const (
	FormatJSON    = "json"
	FormatXferlog = "xferlog"
)

// TransferLog writes one line per finished transfer, to a file or, with
// no file, to a logger. It implements gateway.TransferLogger and is safe
// for concurrent use: each line is formatted first and written with a
// single Write under a lock, so lines never interleave.
//
// The "json" format writes one object per line with the keys time
// (RFC 3339 with nanoseconds, UTC), session_id, user, client_ip,
// direction, path, bytes, duration_ms, result, tls_version ("TLS1.3", or
// "none" for a clear data connection), backend, mode and sha256 (the whole
// file's SHA-256 in lowercase hex, computed while it streamed; "" unless a
// binary transfer of the whole file succeeded). A successful binary
// transfer of part of a file (REST, or APPE to an existing file) instead
// adds offset and range_sha256: the SHA-256 of the bytes bytes that start
// at byte offset of the file, never to be taken for the file's hash.
//
// The "xferlog" format is the classic wu-ftpd line:
//
//	current-time transfer-time remote-host file-size filename transfer-type
//	special-action-flag direction access-mode username service-name
//	authentication-method authenticated-user-id completion-status
//
// for example
//
//	Sun Nov 22 10:03:01 2026 1 127.0.0.1 1234 /path/f.bin b _ i r alice ftp 0 * c
//
// current-time is the record's time in its own location (the gateway
// passes local time, as wu-ftpd does); transfer-time is whole seconds,
// rounded, at least 1; direction is i (upload) or o (download);
// access-mode is always r; service-name is ftp, authentication-method 0
// and authenticated-user-id *; completion-status is c only for a
// successful transfer, else i. Fields are separated by single spaces, so
// whitespace and control characters in the file name and user name are
// replaced by '_', as tools that parse xferlog expect; a name containing
// '_' therefore cannot be told apart from one with a space. An empty user
// is written as "-". The xferlog line has no field for hashes.
type TransferLog struct {
	format   string
	path     string
	fallback hclog.Logger

	mu      sync.Mutex
	f       *os.File
	failing bool // a write failed; logged once until a write succeeds
}

var _ gateway.TransferLogger = (*TransferLog)(nil)

// NewTransferLog opens the transfer log. format is "json" or "xferlog"
// ("" means json). An empty path sends each transfer to fallback as one
// structured line (the format is then irrelevant); otherwise the file is
// created if needed (mode 0640) and opened for appending. fallback also
// receives write errors; nil discards them.
func NewTransferLog(path, format string, fallback hclog.Logger) (*TransferLog, error) {
	switch format {
	case "":
		format = FormatJSON
	case FormatJSON, FormatXferlog:
	default:
		return nil, fmt.Errorf("transfer log format %q: want json or xferlog", format)
	}
	if fallback == nil {
		fallback = hclog.NewNullLogger()
	}
	t := &TransferLog{format: format, path: path, fallback: fallback}
	if path != "" {
		f, err := openAppend(path)
		if err != nil {
			return nil, err
		}
		t.f = f
	}
	return t, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("transfer log: %w", err)
	}
	return f, nil
}

// LogTransfer writes one line for rec.
func (t *TransferLog) LogTransfer(rec gateway.TransferRecord) {
	if t.path == "" {
		t.fallback.Info("transfer",
			"session_id", rec.SessionID, "user", rec.User, "client_ip", addrString(rec),
			"direction", string(rec.Direction), "path", rec.Path, "bytes", rec.Bytes,
			"duration_ms", rec.Duration.Milliseconds(), "result", string(rec.Result),
			"tls_version", TLSVersionName(rec.TLSVersion), "backend", rec.Backend, "mode", rec.Mode,
			"sha256", rec.SHA256)
		return
	}
	var line []byte
	if t.format == FormatXferlog {
		line = formatXferlog(rec)
	} else {
		line = formatJSON(rec)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return // closed
	}
	if _, err := t.f.Write(line); err != nil {
		if !t.failing {
			t.fallback.Error("transfer log write failed", "path", t.path, "error", err)
		}
		t.failing = true
		return
	}
	t.failing = false
}

// Reopen closes the file and opens path again, so that after an external
// rotation (rename) new lines go to a fresh file. The binary calls it on
// SIGHUP. If the new open fails, the old file stays in use. Without a
// file it does nothing.
func (t *TransferLog) Reopen() error {
	if t.path == "" {
		return nil
	}
	f, err := openAppend(t.path)
	if err != nil {
		return err
	}
	t.mu.Lock()
	old := t.f
	t.f = f
	t.failing = false
	t.mu.Unlock()
	if old == nil {
		return errors.Join(errors.New("transfer log: reopen after close"), f.Close())
	}
	return old.Close()
}

// Close closes the file; later transfers are dropped.
func (t *TransferLog) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

func addrString(rec gateway.TransferRecord) string {
	if !rec.Client.IsValid() {
		return ""
	}
	return rec.Client.Unmap().String()
}

// jsonRecord fixes the key order of a JSON transfer line.
type jsonRecord struct {
	Time       string `json:"time"`
	SessionID  string `json:"session_id"`
	User       string `json:"user"`
	ClientIP   string `json:"client_ip"`
	Direction  string `json:"direction"`
	Path       string `json:"path"`
	Bytes      int64  `json:"bytes"`
	DurationMS int64  `json:"duration_ms"`
	Result     string `json:"result"`
	TLSVersion string `json:"tls_version"`
	Backend    string `json:"backend"`
	Mode       string `json:"mode"`
	SHA256     string `json:"sha256"`
	// Only for part of a file (see TransferLog).
	Offset      int64  `json:"offset,omitempty"`
	RangeSHA256 string `json:"range_sha256,omitempty"`
}

func formatJSON(rec gateway.TransferRecord) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding a struct of strings and integers cannot fail; invalid UTF-8
	// becomes U+FFFD and control characters are escaped, so the line
	// stays one line.
	jr := jsonRecord{
		Time:       rec.Time.UTC().Format(time.RFC3339Nano),
		SessionID:  rec.SessionID,
		User:       rec.User,
		ClientIP:   addrString(rec),
		Direction:  string(rec.Direction),
		Path:       rec.Path,
		Bytes:      rec.Bytes,
		DurationMS: rec.Duration.Milliseconds(),
		Result:     string(rec.Result),
		TLSVersion: TLSVersionName(rec.TLSVersion),
		Backend:    rec.Backend,
		Mode:       rec.Mode,
		SHA256:     rec.SHA256,
	}
	if rec.RangeSHA256 != "" {
		jr.Offset, jr.RangeSHA256 = rec.Offset, rec.RangeSHA256
	}
	_ = enc.Encode(jr)
	return buf.Bytes()
}

func formatXferlog(rec gateway.TransferRecord) []byte {
	secs := int64(math.Round(rec.Duration.Seconds()))
	if secs < 1 {
		secs = 1
	}
	ttype := "b"
	if rec.Mode == "ascii" {
		ttype = "a"
	}
	dir := "i"
	if rec.Direction == gateway.Download {
		dir = "o"
	}
	status := "i"
	if rec.Result == gateway.TransferOK {
		status = "c"
	}
	host := addrString(rec)
	if host == "" {
		host = "-"
	}
	user := xferField(rec.User)
	if user == "" {
		user = "-"
	}
	file := xferField(rec.Path)
	if file == "" {
		file = "-"
	}
	b := make([]byte, 0, 128+len(file))
	b = rec.Time.AppendFormat(b, time.ANSIC)
	b = append(b, ' ')
	b = strconv.AppendInt(b, secs, 10)
	b = append(b, ' ')
	b = append(b, host...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, max(rec.Bytes, 0), 10)
	b = append(b, ' ')
	b = append(b, file...)
	b = append(b, ' ')
	b = append(b, strings.Join([]string{ttype, "_", dir, "r", user, "ftp", "0", "*", status}, " ")...)
	return append(b, '\n')
}

// xferField makes s one xferlog field: whitespace, control characters and
// invalid UTF-8 become '_'.
func xferField(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, s)
}
