package asciiconv

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestToNetwork(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no newline", "abc", "abc"},
		{"bare lf", "a\nb\n", "a\r\nb\r\n"},
		{"existing crlf kept", "a\r\nb\n", "a\r\nb\r\n"},
		{"lone cr kept", "a\rb", "a\rb"},
		{"only lf", "\n\n", "\r\n\r\n"},
		{"cr then crlf", "\r\r\n", "\r\r\n"},
		{"binary bytes", "\x00\xff\n", "\x00\xff\r\n"},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
	}
	for _, tc := range tests {
		for rname, wrap := range readers {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				got, err := io.ReadAll(NewToNetwork(wrap(strings.NewReader(tc.in))))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func TestToNetworkSmallBuffer(t *testing.T) {
	r := NewToNetwork(strings.NewReader("a\nb\n"))
	var out []byte
	p := make([]byte, 1)
	for {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(out) != "a\r\nb\r\n" {
		t.Fatalf("got %q", out)
	}
}

func TestToNetworkError(t *testing.T) {
	boom := errors.New("boom")
	r := NewToNetwork(io.MultiReader(strings.NewReader("x\n"), iotest.ErrReader(boom)))
	got, err := io.ReadAll(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if string(got) != "x\r\n" {
		t.Fatalf("got %q before the error", got)
	}
}

func TestFromNetwork(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, ""},
		{"crlf", []string{"a\r\nb\r\n"}, "a\nb\n"},
		{"bare lf kept", []string{"a\nb"}, "a\nb"},
		{"lone cr kept", []string{"a\rb"}, "a\rb"},
		{"cr split from lf", []string{"a\r", "\nb"}, "a\nb"},
		{"cr split then other", []string{"a\r", "b"}, "a\rb"},
		{"trailing cr flushed", []string{"a\r"}, "a\r"},
		{"double cr then lf", []string{"\r\r\n"}, "\r\n"},
		{"double cr split", []string{"\r", "\r", "\n"}, "\r\n"},
		{"empty writes", []string{"a\r", "", "\n"}, "a\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewFromNetwork(&buf)
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Fatalf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestFromNetworkStickyError(t *testing.T) {
	boom := errors.New("boom")
	w := NewFromNetwork(failWriter{boom})
	if _, err := w.Write([]byte("a")); !errors.Is(err, boom) {
		t.Fatalf("first write err = %v", err)
	}
	if _, err := w.Write([]byte("b")); !errors.Is(err, boom) {
		t.Fatalf("second write err = %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("close err = %v", err)
	}
}

// splitWrite writes data to w in pieces whose sizes cycle through sizes.
func splitWrite(t *testing.T, w io.Writer, data []byte, sizes []byte) {
	t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = int(sizes[i%len(sizes)])%7 + 1
		}
		n = min(n, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), []byte{1, 2, 3})
	f.Add([]byte("\n\n\n"), []byte{0})
	f.Add([]byte(""), []byte{})
	f.Add([]byte("no newline"), []byte{5})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		// Round trip holds for data without CR.
		plain := bytes.ReplaceAll(data, []byte{'\r'}, nil)
		wire, err := io.ReadAll(NewToNetwork(iotest.OneByteReader(bytes.NewReader(plain))))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(wire, []byte{'\n'}) != bytes.Count(wire, []byte("\r\n")) {
			t.Fatalf("bare LF on the wire: %q", wire)
		}
		var back bytes.Buffer
		w := NewFromNetwork(&back)
		splitWrite(t, w, wire, sizes)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.Bytes(), plain) {
			t.Fatalf("round trip of %q gave %q", plain, back.Bytes())
		}

		// For any input, how writes are split must not change the result.
		var whole, split bytes.Buffer
		w1 := NewFromNetwork(&whole)
		if _, err := w1.Write(data); err != nil {
			t.Fatal(err)
		}
		w1.Close()
		w2 := NewFromNetwork(&split)
		splitWrite(t, w2, data, sizes)
		w2.Close()
		if !bytes.Equal(whole.Bytes(), split.Bytes()) {
			t.Fatalf("split writes of %q gave %q, whole gave %q", data, split.Bytes(), whole.Bytes())
		}
	})
}
