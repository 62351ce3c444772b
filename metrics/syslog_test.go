package metrics

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// rfc5424 matches the header of a line as the sink writes it.
var rfc5424 = regexp.MustCompile(`^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ ftpsgw \d+ (\S+) (\[.*\]|-) (.*)$`)

func TestSyslogFormatOverUDPAndUnix(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	sock := filepath.Join(t.TempDir(), "log.sock")
	ux, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	for _, tc := range []struct {
		target string
		pc     net.PacketConn
	}{{"udp://" + udp.LocalAddr().String(), udp}, {"unix://" + sock, ux}} {
		sink, err := NewSyslogSink(tc.target, "info")
		if err != nil {
			t.Fatal(err)
		}
		log, _ := NewLogger("info", "json", nopWriter{})
		log.RegisterSink(sink)
		log.Named("gateway").With("conn_id", "1-ab", "user", "alice").Info("audit",
			"command", "DELE", "path", `/odd "name"]\x`, "outcome", "ok")
		log.Debug("not sent")
		buf := make([]byte, 4096)
		tc.pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := tc.pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%s: %v", tc.target, err)
		}
		line := string(buf[:n])
		m := rfc5424.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s: not RFC 5424: %q", tc.target, line)
		}
		if pri, _ := strconv.Atoi(m[1]); pri != 3*8+6 {
			t.Errorf("PRI %d, want daemon.info (30)", pri)
		}
		if m[2] != "gateway" || m[4] != "audit" {
			t.Errorf("MSGID %q MSG %q", m[2], m[4])
		}
		for _, want := range []string{`[ftpsgw@32473 `, `conn_id="1-ab"`, `user="alice"`, `command="DELE"`, `path="/odd \"name\"\]\\x"`} {
			if !strings.Contains(m[3], want) {
				t.Errorf("%s: structured data %q lacks %q", tc.target, m[3], want)
			}
		}
		tc.pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := tc.pc.ReadFrom(buf); err == nil {
			t.Errorf("%s: a debug line was sent at level info", tc.target)
		}
		sink.Close()
	}
}

func TestSyslogOverTCPIsOctetCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 2)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		for range 2 {
			lenStr, err := r.ReadString(' ')
			if err != nil {
				return
			}
			n, _ := strconv.Atoi(strings.TrimSpace(lenStr))
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return
			}
			got <- string(b)
		}
	}()
	sink, err := NewSyslogSink("tcp://"+ln.Addr().String(), "warn")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sink.Accept("ftpsgw", hclog.Warn, "first")
	sink.Accept("ftpsgw", hclog.Error, "second\nline", "k", "v")
	for _, want := range []string{"first", "second line"} {
		select {
		case l := <-got:
			m := rfc5424.FindStringSubmatch(l)
			if m == nil || m[4] != want {
				t.Errorf("frame %q, want message %q", l, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no frame")
		}
	}
}

func TestSyslogTargetRefused(t *testing.T) {
	for _, bad := range []string{"syslog.example:514", "http://x", "udp://", "unix://"} {
		if _, err := NewSyslogSink(bad, "info"); err == nil {
			t.Errorf("NewSyslogSink(%q) accepted", bad)
		}
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
