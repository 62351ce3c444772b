package gateway

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchLines are typical command lines of a logged-in session.
var benchLines = []struct {
	line      string
	verb, arg string
}{
	{"NOOP\r\n", "NOOP", ""},
	{"pwd\r\n", "PWD", ""},
	{"TYPE I\r\n", "TYPE", "I"},
	{"EPSV\r\n", "EPSV", ""},
	{"RETR dir/sub/report-2026.csv\r\n", "RETR", "dir/sub/report-2026.csv"},
	{"STOR /incoming/ünïcode file.bin\r\n", "STOR", "/incoming/ünïcode file.bin"},
	{"\xff\xf4\xff\xf2ABOR\r\n", "ABOR", ""},
}

// BenchmarkParseRequest parses one line, as readRequest hands it over.
func BenchmarkParseRequest(b *testing.B) {
	for _, tc := range benchLines {
		b.Run(tc.verb, func(b *testing.B) {
			line := []byte(tc.line)
			req, err := parseRequest(line)
			if err != nil || req.verb != tc.verb || req.arg != tc.arg {
				b.Fatalf("parseRequest(%q) = %q %q, %v", tc.line, req.verb, req.arg, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				req, _ = parseRequest(line)
			}
			if req.verb != tc.verb {
				b.Fatal(req.verb)
			}
		})
	}
}

// loopReader serves the same bytes forever, in reads of at most chunk.
type loopReader struct {
	data  []byte
	off   int
	chunk int
}

func (r *loopReader) Read(p []byte) (int, error) {
	if r.off == len(r.data) {
		r.off = 0
	}
	n := min(len(p), r.chunk, len(r.data)-r.off)
	copy(p, r.data[r.off:r.off+n])
	r.off += n
	return n, nil
}

// BenchmarkReadRequest reads and parses lines from a connection that
// delivers one command per read (an interactive client) or a pipelined
// stream of them, then looks the verb up in the command table, as the
// session loop and dispatch do.
func BenchmarkReadRequest(b *testing.B) {
	var all bytes.Buffer
	for _, tc := range benchLines {
		all.WriteString(tc.line)
	}
	for _, mode := range []struct {
		name  string
		chunk int
	}{{"interactive", 0}, {"pipelined", 1 << 20}} {
		b.Run(mode.name, func(b *testing.B) {
			src := &loopReader{data: all.Bytes(), chunk: mode.chunk}
			if mode.chunk == 0 {
				src = &loopReader{data: all.Bytes(), chunk: 1 << 20}
			}
			var r io.Reader = src
			if mode.chunk == 0 {
				r = &lineAtATime{src: all.Bytes()}
			}
			lr := newLineReader(r)
			for _, tc := range benchLines {
				req, err := lr.readRequest()
				if err != nil || req.verb != tc.verb || req.arg != tc.arg {
					b.Fatalf("readRequest = %q %q, %v; want %q %q", req.verb, req.arg, err, tc.verb, tc.arg)
				}
				if commands[req.verb] == nil {
					b.Fatalf("%s not in the command table", req.verb)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				req, err := lr.readRequest()
				if err != nil {
					b.Fatal(err)
				}
				if commands[req.verb] == nil {
					b.Fatal(req.verb)
				}
			}
		})
	}
}

// lineAtATime returns one line per Read, as a client waiting for each
// reply sends them.
type lineAtATime struct {
	src []byte
	off int
}

func (r *lineAtATime) Read(p []byte) (int, error) {
	if r.off == len(r.src) {
		r.off = 0
	}
	end := r.off + bytes.IndexByte(r.src[r.off:], '\n') + 1
	n := copy(p, r.src[r.off:end])
	r.off += n
	return n, nil
}

// BenchmarkCommandLookup is the dispatcher's table lookup and gate
// arithmetic for a parsed request, without a session.
func BenchmarkCommandLookup(b *testing.B) {
	verbs := []string{"NOOP", "PWD", "RETR", "STOR", "XSHA256", "BOGUS"}
	b.ReportAllocs()
	found := 0
	for b.Loop() {
		for _, v := range verbs {
			if c, ok := commands[v]; ok && c.run != nil {
				found++
			}
		}
	}
	if found%(len(verbs)-1) != 0 || found == 0 {
		b.Fatalf("found %d", found)
	}
}

// BenchmarkReplyWrite encodes replies as the session sends them.
func BenchmarkReplyWrite(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		var out bytes.Buffer
		rw := newReplyWriter(&out)
		if err := rw.write(257, `"/dir/sub" is the current directory`); err != nil {
			b.Fatal(err)
		}
		if got, want := out.String(), "257 \"/dir/sub\" is the current directory\r\n"; got != want {
			b.Fatalf("got %q, want %q", got, want)
		}
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			rw.write(226, "Transfer complete")
		}
		if out.String() != "226 Transfer complete\r\n" || rw.last != 226 {
			b.Fatalf("got %q", out.String())
		}
	})
	b.Run("sanitized", func(b *testing.B) {
		var out bytes.Buffer
		rw := newReplyWriter(&out)
		rw.write(550, "bad\r\nname\x00")
		if got, want := out.String(), "550 bad??name?\r\n"; got != want {
			b.Fatalf("got %q, want %q", got, want)
		}
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			rw.write(550, "bad\r\nname\x00")
		}
	})
	b.Run("multi", func(b *testing.B) {
		body := []string{"AUTH TLS", "PBSZ", "PROT", "EPSV", "MDTM", "SIZE", "REST STREAM", "MLST type*;size*;modify*;perm*;unique*;", "UTF8", "TVFS"}
		var out bytes.Buffer
		rw := newReplyWriter(&out)
		rw.writeMulti(211, "Features:", body, "End")
		want := "211-Features:\r\n " + strings.Join(body, "\r\n ") + "\r\n211 End\r\n"
		if out.String() != want {
			b.Fatalf("got %q, want %q", out.String(), want)
		}
		b.ReportAllocs()
		for b.Loop() {
			out.Reset()
			rw.writeMulti(211, "Features:", body, "End")
		}
		if out.Len() != len(want) {
			b.Fatalf("got %q", out.String())
		}
	})
}

// The tests below pin what the benchmarks above rely on: the line reader
// holds no buffer while idle and reads lines however the bytes arrive,
// and the reply encoder writes what fmt's %03d and sanitize would.

// chunkReader returns data in reads of at most n bytes, then err.
type chunkReader struct {
	data []byte
	n    int
	err  error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	if len(r.data) == 0 && r.err != nil {
		return k, r.err // data and the error together
	}
	return k, nil
}

func TestLineReaderChunks(t *testing.T) {
	long := "STOR " + strings.Repeat("é", 600) + "\r\n"
	input := "NOOP\r\nuser alice\nPASS x y\r\n" + long + "QUIT\r\n"
	want := []request{{"NOOP", ""}, {"USER", "alice"}, {"PASS", "x y"}, {"STOR", long[5 : len(long)-2]}, {"QUIT", ""}}
	for _, n := range []int{1, 2, 7, 64, 65, 4096} {
		for _, last := range []error{io.EOF, errBadPath} {
			lr := newLineReader(&chunkReader{data: []byte(input), n: n, err: last})
			for i, w := range want {
				got, err := lr.readRequest()
				if err != nil || got != w {
					t.Fatalf("chunk %d: request %d = %+v, %v; want %+v", n, i, got, err, w)
				}
			}
			if _, err := lr.readRequest(); err != last {
				t.Fatalf("chunk %d: after the lines: %v, want %v", n, err, last)
			}
			if lr.buf != nil || lr.buffered() != 0 {
				t.Fatalf("chunk %d: buffer held after the last line", n)
			}
		}
	}
}

func TestLineReaderPartialLine(t *testing.T) {
	lr := newLineReader(&chunkReader{data: []byte("NOOP\r\nPW"), n: 3, err: io.EOF})
	if req, err := lr.readRequest(); err != nil || req.verb != "NOOP" {
		t.Fatalf("first line: %+v, %v", req, err)
	}
	if _, err := lr.readRequest(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut line: %v, want io.ErrUnexpectedEOF", err)
	}
	if lr.buf != nil {
		t.Fatal("buffer held after an error")
	}
}

func TestLineReaderIdleHoldsNoBuffer(t *testing.T) {
	lr := newLineReader(&chunkReader{data: []byte("NOOP\r\nPWD\r\nTYPE I\r\n"), n: 4096, err: io.EOF})
	if _, err := lr.readRequest(); err != nil {
		t.Fatal(err)
	}
	if lr.buf == nil || lr.buffered() != len("PWD\r\nTYPE I\r\n") {
		t.Fatalf("pipelined lines: buffer %v, %d buffered", lr.buf != nil, lr.buffered())
	}
	lr.readRequest()
	lr.readRequest()
	if lr.buf != nil || lr.buffered() != 0 {
		t.Fatal("buffer held with nothing buffered")
	}
}

func TestLineReaderNoProgress(t *testing.T) {
	lr := newLineReader(&chunkReader{data: nil, n: 1})
	if _, err := lr.readRequest(); err != io.ErrNoProgress {
		t.Fatalf("empty reads: %v, want io.ErrNoProgress", err)
	}
}

func TestReplyEncoding(t *testing.T) {
	texts := []string{"", "ok", "a\r\nb", "nul\x00", "ÿ", "\ufffd kept?", "bad \xff\xfe utf8", "ünïcode fine", strings.Repeat("x", 5000)}
	for _, code := range []int{0, 7, 42, 150, 226, 999, 1000} {
		for _, text := range texts {
			var got bytes.Buffer
			newReplyWriter(&got).write(code, text)
			if want := fmt.Sprintf("%03d %s\r\n", code, sanitize(text)); got.String() != want {
				t.Errorf("write(%d, %q) = %q, want %q", code, text, got.String(), want)
			}
		}
	}
	var got bytes.Buffer
	newReplyWriter(&got).writeMulti(211, "a\nb", texts, "end\x00")
	var want strings.Builder
	fmt.Fprintf(&want, "211-%s\r\n", sanitize("a\nb"))
	for _, l := range texts {
		fmt.Fprintf(&want, " %s\r\n", sanitize(l))
	}
	fmt.Fprintf(&want, "211 %s\r\n", sanitize("end\x00"))
	if got.String() != want.String() {
		t.Errorf("writeMulti = %q, want %q", got.String(), want.String())
	}
	// sanitize itself keeps its old meaning.
	for in, out := range map[string]string{"\ufffd": "\ufffd", "a\rb": "a?b", "\xff": "?", "ÿ\n": "??", "x\ufffd\n": "x??"} {
		if s := sanitize(in); s != out {
			t.Errorf("sanitize(%q) = %q, want %q", in, s, out)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errBadPath
}

func TestReplyWriterErrorSticks(t *testing.T) {
	w := &failWriter{}
	rw := newReplyWriter(w)
	if rw.write(200, "a") != errBadPath || rw.write(200, "b") != errBadPath || rw.writeMulti(211, "a", nil, "b") != errBadPath {
		t.Fatal("write error not returned")
	}
	if w.n != 1 || rw.last != 211 {
		t.Fatalf("%d writes after an error, last %d", w.n, rw.last)
	}
}

func TestLineReaderOneLinePerRead(t *testing.T) {
	src := []byte("NOOP\r\nRETR " + strings.Repeat("x", idleRead) + "\r\nPWD\r\n")
	lr := newLineReader(&lineAtATime{src: src})
	for _, want := range []string{"NOOP", "RETR", "PWD", "NOOP"} {
		req, err := lr.readRequest()
		if err != nil || req.verb != want {
			t.Fatalf("got %+v, %v; want %s", req, err, want)
		}
		if lr.buf != nil || lr.buffered() != 0 {
			t.Fatalf("%s: buffer held after a whole line", want)
		}
	}
}
