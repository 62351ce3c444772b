package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway"
)

func newFileLog(t *testing.T, format string) (*TransferLog, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "transfer.log")
	tl, err := NewTransferLog(path, format, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tl.Close() })
	return tl, path
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		t.Errorf("%s does not end in a newline", path)
	}
	s := strings.TrimSuffix(string(raw), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// sampleSHA256 is the SHA-256 of "abc".
const sampleSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

func TestTransferLogJSONExact(t *testing.T) {
	tl, path := newFileLog(t, "json")
	whole := sampleRecord()
	whole.SHA256 = sampleSHA256
	tl.LogTransfer(whole)
	rec := sampleRecord()
	rec.Direction, rec.Result, rec.TLSVersion, rec.Mode = gateway.Download, gateway.TransferAborted, 0, "ascii"
	rec.Path = "/a <b>&\"c\"\nd"
	tl.LogTransfer(rec)
	part := sampleRecord() // REST 4096 then STOR: only the bytes sent are hashed
	part.Offset, part.RangeSHA256 = 4096, sampleSHA256
	tl.LogTransfer(part)

	want := []string{
		`{"time":"2026-11-22T10:03:01.5Z","session_id":"s-42","user":"alice","client_ip":"127.0.0.1","direction":"upload","path":"/path/f.bin","bytes":1234,"duration_ms":1200,"result":"ok","tls_version":"TLS1.3","backend":"files","mode":"binary","sha256":"` + sampleSHA256 + `"}`,
		`{"time":"2026-11-22T10:03:01.5Z","session_id":"s-42","user":"alice","client_ip":"127.0.0.1","direction":"download","path":"/a <b>&\"c\"\nd","bytes":1234,"duration_ms":1200,"result":"aborted","tls_version":"none","backend":"files","mode":"ascii","sha256":""}`,
		`{"time":"2026-11-22T10:03:01.5Z","session_id":"s-42","user":"alice","client_ip":"127.0.0.1","direction":"upload","path":"/path/f.bin","bytes":1234,"duration_ms":1200,"result":"ok","tls_version":"TLS1.3","backend":"files","mode":"binary","sha256":"","offset":4096,"range_sha256":"` + sampleSHA256 + `"}`,
	}
	got := readLines(t, path)
	if len(got) != len(want) {
		t.Fatalf("got %d lines: %q", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestTransferLogXferlogExact(t *testing.T) {
	tl, path := newFileLog(t, "xferlog")
	first := sampleRecord()
	first.SHA256 = sampleSHA256 // not part of the xferlog format
	tl.LogTransfer(first)
	rec := sampleRecord()
	rec.Time = time.Date(2026, time.March, 5, 7, 8, 9, 0, time.UTC)
	rec.Direction, rec.Result, rec.Mode = gateway.Download, gateway.TransferFailed, "ascii"
	rec.Path, rec.User, rec.Duration, rec.Bytes = "/in box/a\tb\nc.txt", "bob smith", 2600*time.Millisecond, 0
	rec.Client = rec.Client.Prev() // 127.0.0.0
	tl.LogTransfer(rec)
	rec.User, rec.Path = "", ""
	tl.LogTransfer(rec)

	want := []string{
		"Sun Nov 22 10:03:01 2026 1 127.0.0.1 1234 /path/f.bin b _ i r alice ftp 0 * c",
		"Thu Mar  5 07:08:09 2026 3 127.0.0.0 0 /in_box/a_b_c.txt a _ o r bob_smith ftp 0 * i",
		"Thu Mar  5 07:08:09 2026 3 127.0.0.0 0 - a _ o r - ftp 0 * i",
	}
	got := readLines(t, path)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range got {
		if n := len(strings.Fields(line)); n != 18 { // the date is 5 fields
			t.Errorf("%d fields in %q, want 18", n, line)
		}
	}
}

func TestTransferLogConcurrentWholeLines(t *testing.T) {
	for _, format := range []string{"json", "xferlog"} {
		t.Run(format, func(t *testing.T) {
			tl, path := newFileLog(t, format)
			const writers, each = 16, 100
			long := "/" + strings.Repeat("d", 5000) // bigger than one pipe buffer page
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec := sampleRecord()
					rec.Path = long
					rec.SessionID = strings.Repeat(string(rune('a'+w)), 8)
					for range each {
						tl.LogTransfer(rec)
					}
				}()
			}
			wg.Wait()
			lines := readLines(t, path)
			if len(lines) != writers*each {
				t.Fatalf("%d lines, want %d", len(lines), writers*each)
			}
			for _, line := range lines {
				switch format {
				case "json":
					var v map[string]any
					if err := json.Unmarshal([]byte(line), &v); err != nil || v["path"] != long {
						t.Fatalf("torn line (%v): %.80q", err, line)
					}
				case "xferlog":
					if !strings.HasPrefix(line, "Sun Nov 22 ") || !strings.HasSuffix(line, " c") ||
						len(strings.Fields(line)) != 18 {
						t.Fatalf("torn line: %.80q", line)
					}
				}
			}
		})
	}
}

func TestTransferLogReopenAfterRename(t *testing.T) {
	tl, path := newFileLog(t, "xferlog")
	tl.LogTransfer(sampleRecord())
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	tl.LogTransfer(sampleRecord()) // still the old file, as with any rotation
	if err := tl.Reopen(); err != nil {
		t.Fatal(err)
	}
	rec := sampleRecord()
	rec.User = "carol"
	tl.LogTransfer(rec)

	if old := readLines(t, rotated); len(old) != 2 {
		t.Errorf("rotated file has %d lines, want 2", len(old))
	}
	cur := readLines(t, path)
	if len(cur) != 1 || !strings.Contains(cur[0], " carol ") {
		t.Errorf("new file = %q, want the one line after Reopen", cur)
	}
}

func TestTransferLogAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte("existing\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	tl, err := NewTransferLog(path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	tl.LogTransfer(sampleRecord())
	if err := tl.Close(); err != nil {
		t.Fatal(err)
	}
	tl.LogTransfer(sampleRecord()) // after Close: dropped, no panic
	lines := readLines(t, path)
	if len(lines) != 2 || lines[0] != "existing" || !strings.HasPrefix(lines[1], `{"time":`) {
		t.Errorf("lines = %q", lines)
	}
}

func TestTransferLogFallback(t *testing.T) {
	var buf bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &buf, JSONFormat: true, Level: hclog.Info})
	tl, err := NewTransferLog("", "xferlog", logger)
	if err != nil {
		t.Fatal(err)
	}
	rec := sampleRecord()
	rec.SHA256 = sampleSHA256
	tl.LogTransfer(rec)
	if err := tl.Reopen(); err != nil {
		t.Errorf("Reopen without a file: %v", err)
	}
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		lines = append(lines, v)
	}
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1", len(lines))
	}
	want := map[string]any{"@message": "transfer", "session_id": "s-42", "user": "alice",
		"client_ip": "127.0.0.1", "direction": "upload", "path": "/path/f.bin", "bytes": 1234.0,
		"duration_ms": 1200.0, "result": "ok", "tls_version": "TLS1.3", "backend": "files", "mode": "binary",
		"sha256": sampleSHA256}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("%s = %v, want %v", k, lines[0][k], v)
		}
	}
}

func TestTransferLogErrors(t *testing.T) {
	if _, err := NewTransferLog("", "csv", nil); err == nil {
		t.Error("format csv accepted")
	}
	if _, err := NewTransferLog(filepath.Join(t.TempDir(), "no", "such", "dir"), "json", nil); err == nil {
		t.Error("unopenable path accepted")
	}
}
