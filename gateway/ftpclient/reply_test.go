package ftpclient

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Reply
	}{
		{"220 ready\r\n", Reply{220, []string{"ready"}}},
		{"200\r\n", Reply{200, []string{""}}},
		{"230 bare LF\n", Reply{230, []string{"bare LF"}}},
		{"211-Features:\r\n AUTH TLS\r\n MLST type*;\r\n211 End\r\n", Reply{211, []string{"Features:", " AUTH TLS", " MLST type*;", "End"}}},
		// inner lines that look like replies, with another code or a dash
		{"250-first\r\n200 other code\r\n250-still going\r\n250 done\r\n",
			Reply{250, []string{"first", "200 other code", "250-still going", "done"}}},
	} {
		got, err := ReadReply(bufio.NewReader(strings.NewReader(tc.in)))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReadReply(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "22\r\n", "abc hello\r\n", "099 low\r\n", "600 high\r\n", "220_x\r\n", "211-open\r\n more\r\n", "220 no newline"} {
		if got, err := ReadReply(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("ReadReply(%q) = %+v, want an error", in, got)
		}
	}
}

func TestReplyHelpers(t *testing.T) {
	r := Reply{550, []string{"no\x00such", "file"}}
	if r.Class() != 5 || r.Message() != "no\x00such\nfile" || r.String() != "550 no\x00such" {
		t.Errorf("helpers: %d %q %q", r.Class(), r.Message(), r.String())
	}
	err := error(&Error{Cmd: "RETR", Reply: r})
	if Code(err) != 550 || Code(errors.New("x")) != 0 || strings.ContainsRune(err.Error(), 0) {
		t.Errorf("Error: %q code %d", err, Code(err))
	}
}

// TestReplyBound: a reply longer than MaxReply is an error, however it is
// split into lines.
func TestReplyBound(t *testing.T) {
	long := "211-x\r\n" + strings.Repeat(" "+strings.Repeat("a", 1000)+"\r\n", 70) + "211 end\r\n"
	oneLine := "220 " + strings.Repeat("b", MaxReply) + "\r\n"
	for _, in := range []string{long, oneLine} {
		rr := newReplyReader(strings.NewReader(in))
		if _, err := rr.read(); !errors.Is(err, ErrReplyTooLong) {
			t.Errorf("read of %d bytes: %v, want ErrReplyTooLong", len(in), err)
		}
	}
	// replies in a row each get the whole budget
	one := "211-x\r\n" + strings.Repeat(" "+strings.Repeat("a", 1000)+"\r\n", 40) + "211 end\r\n"
	rr := newReplyReader(strings.NewReader(one + one + one))
	for i := range 3 {
		if _, err := rr.read(); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	if _, err := rr.read(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last reply: %v", err)
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"220 ok\r\n", "211-a\r\n b\r\n211 c\r\n", "2", "999-\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rep, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
		if err == nil && (rep.Code < 100 || rep.Code > 599 || len(rep.Lines) == 0) {
			t.Errorf("ReadReply(%q) = %+v", in, rep)
		}
	})
}
