package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	lg, err := NewLogger("debug", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	lg.Named("gateway").Debug("session opened", "conn_id", "c1")
	lg.Trace("too verbose")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("lines = %q", lines)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &v); err != nil {
		t.Fatal(err)
	}
	if v["@level"] != "debug" || v["@module"] != "ftpsgw.gateway" || v["conn_id"] != "c1" {
		t.Errorf("line = %v", v)
	}

	buf.Reset()
	lg, err = NewLogger("", "text", &buf)
	if err != nil {
		t.Fatal(err)
	}
	lg.Debug("hidden")
	lg.Info("shown", "k", "v")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "[INFO]  ftpsgw: shown: k=v") {
		t.Errorf("text output = %q", out)
	}

	for _, c := range [][2]string{{"loud", "json"}, {"info", "xml"}} {
		if _, err := NewLogger(c[0], c[1], &buf); err == nil {
			t.Errorf("NewLogger(%q, %q) succeeded", c[0], c[1])
		}
	}
	if _, err := NewLogger("info", "json", nil); err == nil {
		t.Error("nil output accepted")
	}
}
