package gateway

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRequestVerbs(t *testing.T) {
	for _, tc := range []struct {
		line      string
		verb, arg string
		err       error
	}{
		{"NOOP\r\n", "NOOP", "", nil},
		{"pwd\n", "PWD", "", nil},
		{"HASH dir/f x.bin\r\n", "HASH", "dir/f x.bin", nil},
		{"XSHA256 f\r\n", "XSHA256", "f", nil},
		{"xsha512 a b\r\n", "XSHA512", "a b", nil},
		{"XSHA1 f\r\n", "XSHA1", "f", nil},
		{"XCRC f\r\n", "XCRC", "f", nil},
		{"XABCDEF x\r\n", "XABCDEF", "x", nil}, // well formed: the dispatcher answers 500
		{"\xff\xf4\xff\xf2ABOR\r\n", "ABOR", "", nil},
		{"XSHA2567 f\r\n", "", "", errBadVerb}, // 8 bytes
		{"ABCDEFGHIJKL\r\n", "", "", errBadVerb},
		{"AB\r\n", "", "", errBadVerb},
		{"1ABC\r\n", "", "", errBadVerb}, // digits only after a letter
		{"256\r\n", "", "", errBadVerb},
		{"HA-H f\r\n", "", "", errBadVerb},
		{"HASH_ f\r\n", "", "", errBadVerb},
		{"XSHÄ f\r\n", "", "", errBadVerb},
		{" HASH f\r\n", "", "", errBadVerb},
		{"\r\n", "", "", errBadVerb},
		{"XSHA256 a\x00b\r\n", "", "", errBadBytes},
		{"XSHA256 a\x1bb\r\n", "", "", errBadBytes},
		{"XSHA256 \xc3\x28\r\n", "", "", errBadBytes},
	} {
		req, err := parseRequest([]byte(tc.line))
		if !errors.Is(err, tc.err) || (err == nil && (req.verb != tc.verb || req.arg != tc.arg)) {
			t.Errorf("parseRequest(%q) = %q %q, %v; want %q %q, %v", tc.line, req.verb, req.arg, err, tc.verb, tc.arg, tc.err)
		}
	}
}

// The 4 KiB line guard is independent of the verb rule: a long line is
// refused whatever it starts with, one that fits is parsed.
func TestLineGuardUnchangedByLongVerbs(t *testing.T) {
	for _, verb := range []string{"NOOP", "XSHA256"} {
		fits := verb + " " + strings.Repeat("a", maxLine-len(verb)-3) + "\r\n"
		if len(fits) != maxLine {
			t.Fatalf("test line is %d bytes", len(fits))
		}
		req, err := newLineReader(strings.NewReader(fits)).readRequest()
		if err != nil || req.verb != verb {
			t.Errorf("%s line of exactly %d bytes: %q, %v", verb, maxLine, req.verb, err)
		}
		over := verb + " " + strings.Repeat("a", maxLine) + "\r\n"
		if _, err := newLineReader(strings.NewReader(over)).readRequest(); !errors.Is(err, errLineTooLong) {
			t.Errorf("%s line over %d bytes: %v, want errLineTooLong", verb, maxLine, err)
		}
	}
}
