package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseEPSV(t *testing.T) {
	good := map[string]int{
		"Entering Extended Passive Mode (|||50001|)": 50001,
		"EPSV ok (|||1|)":                      1,
		"Extended Passive mode OK (!!!65535!)": 65535,
	}
	for in, want := range good {
		if got, err := parseEPSV(in); err != nil || got != want {
			t.Errorf("parseEPSV(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "(|||0|)", "(|||65536|)", "(||1|2|)", "(|||x|)", "no parens", "(1112221)", "(|||50001)"} {
		if p, err := parseEPSV(in); err == nil {
			t.Errorf("parseEPSV(%q) = %d, want error", in, p)
		}
	}
}

func TestParsePASV(t *testing.T) {
	h, p, err := parsePASV("Entering Passive Mode (127,0,0,1,195,81).")
	if err != nil || h != "127.0.0.1" || p != 195<<8|81 {
		t.Fatalf("got %s %d %v", h, p, err)
	}
	if h, p, err = parsePASV("Entering Passive Mode 10,1,2,3,4,5"); err != nil || h != "10.1.2.3" || p != 1029 {
		t.Fatalf("no parens: got %s %d %v", h, p, err)
	}
	for _, in := range []string{"", "(1,2,3,4,5)", "(1,2,3,4,5,6,7)", "(256,0,0,1,1,1)", "(127,0,0,1,0,0)"} {
		if _, _, err := parsePASV(in); err == nil {
			t.Errorf("parsePASV(%q) accepted", in)
		}
	}
}

func TestReadReply(t *testing.T) {
	in := "220 hi\r\n230-Welcome\r\n 230 not the end\r\n230 done\r\n5x0 bad\r\n"
	r := bufio.NewReaderSize(strings.NewReader(in), maxLineLen)
	for _, want := range []reply{{220, "hi"}, {230, "done"}} {
		got, err := readReply(r)
		if err != nil || got != want {
			t.Fatalf("got %v %v, want %v", got, err, want)
		}
	}
	if _, err := readReply(r); err == nil {
		t.Fatal("bad code accepted")
	}
	long := bufio.NewReaderSize(strings.NewReader("220 "+strings.Repeat("x", 2*maxLineLen)+"\r\n"), maxLineLen)
	if _, err := readReply(long); err == nil {
		t.Fatal("overlong line accepted")
	}
	endless := bufio.NewReaderSize(strings.NewReader(strings.Repeat("220-more\r\n", maxReplyLines+5)), maxLineLen)
	if _, err := readReply(endless); err == nil {
		t.Fatal("endless multi-line reply accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "256MiB": 256 << 20, "1GB": 1e9, "64k": 64 << 10, "3 MB": 3e6} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1.5MB", "99999999999999999GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestPercentileAndRates(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	sortDurations(d)
	if p := percentile(d, 50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
	if got := mbps(256<<20, 2*time.Second); got != 134.22 {
		t.Errorf("mbps = %v", got)
	}
}

func TestResultFormatting(t *testing.T) {
	r := &result{Mode: "throughput", Addr: "127.0.0.1:2121", TLSMax: "1.3", Parallel: 4,
		SizeBytes: 1 << 20, UpMBps: 812.5, DownMBps: 900.25, Verified: 4, Resumed: 8, DataConns: 8, SessionsOK: 4}
	var b bytes.Buffer
	if err := r.write(&b, false); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"up:   812.50 MB/s", "down: 900.25 MB/s", "verified 4/4", "resumed 8/8", "errors: 0"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, b.String())
		}
	}
	b.Reset()
	if err := r.write(&b, true); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["up_mb_per_s"] != 812.5 || m["errors"] != 0.0 || m["mode"] != "throughput" {
		t.Errorf("json: %s", b.String())
	}
	if _, ok := m["p50_ms"]; ok {
		t.Errorf("json carries fields of other modes: %s", b.String())
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-mode", "idle", "-count", "500", "-insecure", "-tls-max", "1.2"})
	if err != nil {
		t.Fatal(err)
	}
	if o.parallel != 16 || o.sources != 32 || o.tlsConfig.MaxVersion != 0x0303 || o.tlsConfig.ServerName != "127.0.0.1" {
		t.Errorf("defaults: %+v", o)
	}
	if ip := o.sourceIP(33); ip.String() != "127.0.0.2" {
		t.Errorf("sourceIP(33) = %v", ip)
	}
	for _, bad := range [][]string{{"-mode", "x"}, {"-tls-max", "1.1"}, {"-insecure", "-ca", "x"}, {"-parallel", "5000"}, {"-duration", "1h"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}

func TestKibField(t *testing.T) {
	s := "Name:\tx\nVmRSS:\t   12345 kB\nPss:  7 kB\n"
	if kibField(s, "VmRSS:") != 12345 || kibField(s, "Pss:") != 7 || kibField(s, "Nope:") != 0 {
		t.Error("kibField")
	}
}
