package gateway

import (
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		cwd, arg, want string
		bad            bool
	}{
		{"/", "", "/", false},
		{"/", "a", "/a", false},
		{"/a", "b", "/a/b", false},
		{"/a", "/b", "/b", false},
		{"/a", "..", "/", false},
		{"/", "..", "/", false},
		{"/", "../../..", "/", false},
		{"/a/b", "../../../etc/passwd", "/etc/passwd", false},
		{"/", "//x//y//", "/x/y", false},
		{"/", "/../x", "/x", false},
		{"/a", "./b/./c", "/a/b/c", false},
		{"/", "a/../../b", "/b", false},
		{"/", `..\\x`, `/..\\x`, false}, // backslash is a name byte, not a separator
		{"/", "dir with space/f", "/dir with space/f", false},
		{"/", "ünï/çødé", "/ünï/çødé", false},
		{"/", "a\x00b", "", true},
		{"/", long, "", true},
		{"/", strings.Repeat("a/", 600), "", true},
		{"/", strings.Repeat("x", 255), "/" + strings.Repeat("x", 255), false},
	} {
		got, err := resolve(vpath{p: tc.cwd}, tc.arg)
		if (err != nil) != tc.bad {
			t.Errorf("resolve(%q, %q) error %v, want bad=%v", tc.cwd, tc.arg, err, tc.bad)
			continue
		}
		if !tc.bad && got.String() != tc.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tc.cwd, tc.arg, got, tc.want)
		}
	}
	if n := (vpath{p: "/"}).name(); n != "." {
		t.Errorf("root name %q", n)
	}
	if n := (vpath{p: "/a/b"}).name(); n != "a/b" {
		t.Errorf("name %q", n)
	}
}

// FuzzResolvePath: whatever the client sends, the result is absolute,
// clean and has no ".." element, so it can never leave the home.
func FuzzResolvePath(f *testing.F) {
	for _, s := range []string{"..", "../..", "/../../etc", "a/../../b", "//", "./.", "a\x00", "...", "a/./../.."} {
		f.Add("/", s)
		f.Add("/deep/dir", s)
	}
	f.Fuzz(func(t *testing.T, cwdArg, arg string) {
		cwd, err := resolve(rootPath, cwdArg)
		if err != nil {
			return
		}
		p, err := resolve(cwd, arg)
		if err != nil {
			return
		}
		s := p.String()
		if !strings.HasPrefix(s, "/") || strings.Contains(s, "//") || (len(s) > 1 && strings.HasSuffix(s, "/")) {
			t.Fatalf("resolve(%q, %q) = %q: not clean", cwd, arg, s)
		}
		for _, el := range strings.Split(s[1:], "/") {
			if el == ".." || el == "." && s != "/" {
				t.Fatalf("resolve(%q, %q) = %q: has %q", cwd, arg, s, el)
			}
		}
		if n := p.name(); strings.HasPrefix(n, "/") || n == "" {
			t.Fatalf("backend name %q", n)
		}
	})
}

func FuzzParsePortArgs(f *testing.F) {
	for _, s := range []string{"127,0,0,1,200,10", "1,2,3", "|1|127.0.0.1|5000|", "|2|::1|5000|", "!1!1.2.3.4!80!", "|3|x|1|", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ap, err := parsePORT(s); err == nil && !ap.Addr().Is4() {
			t.Fatalf("PORT %q gave %v", s, ap)
		}
		if ap, err := parseEPRT(s); err == nil && (!ap.IsValid() || ap.Port() == 0) {
			t.Fatalf("EPRT %q gave %v", s, ap)
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER alice\r\n", "NOOP\n", "\xff\xf4\xff\xf2ABOR\r\n", "RETR a b c\r\n", "X\r\n", "STOR \x00\r\n", "\xff\r\n", "XSHA256 f\r\n", "xcrc8ab a\r\n", "ABCDEFGH x\r\n", "1ABC\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		line := append(append([]byte(nil), b...), '\n')
		req, err := parseRequest(line)
		if err != nil {
			return
		}
		if len(req.verb) < minVerb || len(req.verb) > maxVerb || req.verb[0] <= '9' ||
			strings.Trim(req.verb, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			t.Fatalf("verb %q", req.verb)
		}
		for _, r := range req.arg {
			if r < 0x20 || r == 0x7f || r == '\uFFFD' && !strings.Contains(string(b), "\uFFFD") {
				t.Fatalf("arg %q carries a control byte", req.arg)
			}
		}
	})
}

func TestSanitizeReplyText(t *testing.T) {
	for in, want := range map[string]string{
		"ok":           "ok",
		"a\r\n230 b":   "a??230 b",
		"nul\x00":      "nul?",
		"bad\xffbyte":  "bad?byte",
		"ünicode fine": "ünicode fine",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}
