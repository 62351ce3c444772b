package main

// Table tests of the client's pure parts: command lines, the command
// table, ~/.netrc, macro expansion, names that mget writes.

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestClientSplitCommandLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		name string
		args []string
	}{
		{"get a b", "get", []string{"a", "b"}},
		{"  put   'my file.txt'  \"x y\" ", "put", []string{"my file.txt", "x y"}},
		{`get a\ b`, "get", []string{"a b"}},
		{"!ls -l | wc", "!", []string{"ls -l | wc"}},
		{"!", "!", nil},
		{"$mac 1 2", "$", []string{"mac", "1", "2"}},
		{"$ mac", "$", []string{"mac"}},
		{`rename "" x`, "rename", []string{"", "x"}},
	} {
		name, args, err := splitCommandLine(tc.line)
		if err != nil || name != tc.name || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("splitCommandLine(%q) = %q %q %v; want %q %q", tc.line, name, args, err, tc.name, tc.args)
		}
	}
	for _, line := range []string{`get "open`, "   ", `put 'x`} {
		if _, _, err := splitCommandLine(line); err == nil {
			t.Errorf("splitCommandLine(%q) succeeded", line)
		}
	}
}

// TestClientCommandTable: names and aliases are unique, each command has
// help text and sane argument bounds, unique prefixes and aliases find
// their command, ambiguous prefixes none.
func TestClientCommandTable(t *testing.T) {
	seen := map[string]bool{}
	for _, cmd := range clientCommands {
		for _, n := range append([]string{cmd.name}, cmd.aliases...) {
			if seen[n] {
				t.Errorf("%s defined twice", n)
			}
			seen[n] = true
		}
		if cmd.help == "" || cmd.run == nil || (cmd.maxArgs >= 0 && cmd.maxArgs < cmd.minArgs) {
			t.Errorf("%s: help %q, run %v, args %d..%d", cmd.name, cmd.help, cmd.run != nil, cmd.minArgs, cmd.maxArgs)
		}
		if cmd.minArgs > 0 && cmd.usage == "" {
			t.Errorf("%s takes arguments but has no usage", cmd.name)
		}
	}
	for in, want := range map[string]string{"recv": "get", "?": "help", "disconnect": "close", "quit": "bye",
		"image": "binary", "GET": "get", "mkd": "mkdir", "sendp": "sendport", "rst": "rstatus"} {
		if cmd := lookupClientCommand(in); cmd == nil || cmd.name != want {
			t.Errorf("lookup %q = %v, want %s", in, cmd, want)
		}
	}
	for _, in := range []string{"m", "re", "nosuch", "s"} {
		if cmd := lookupClientCommand(in); cmd != nil {
			t.Errorf("lookup %q = %s, want none (ambiguous or unknown)", in, cmd.name)
		}
	}
	// every command named in the list is in the table
	for _, n := range strings.Fields(`open user account close disconnect bye quit help ? ! lcd cd cdup pwd ls dir
		nlist mls mdir get recv reget put send append mget mput mdelete newer restart runique sunique delete
		mkdir rmdir rename size modtime chmod umask idle type ascii binary image tenex form mode struct case cr
		nmap ntrans passive sendport hash bell tick verbose debug trace status quote site rhelp rstatus system
		macdef $ proxy prompt glob`) {
		if !seen[n] {
			t.Errorf("command %s missing", n)
		}
	}
}

func TestClientParseNetrc(t *testing.T) {
	text := "# comment\nmachine a.example login al password 'pw' # trailing\n" +
		"machine b.example\n\tlogin bo\n\tpassword secret\n\taccount acc\nmacdef init\ncd /x\nls\n\n" +
		"default login anon password guest\n"
	entries, err := parseNetrc(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries: %+v", len(entries), entries)
	}
	b := lookupNetrc(entries, "B.EXAMPLE")
	if b == nil || b.login != "bo" || b.password != "secret" || b.account != "acc" || !reflect.DeepEqual(b.macros["init"], []string{"cd /x", "ls"}) {
		t.Errorf("b.example: %+v", b)
	}
	if a := lookupNetrc(entries, "a.example"); a == nil || a.login != "al" || a.password != "'pw'" {
		t.Errorf("a.example: %+v", a)
	}
	if d := lookupNetrc(entries, "other"); d == nil || d.login != "anon" {
		t.Errorf("default: %+v", d)
	}
	if lookupNetrc(entries[:2], "other") != nil {
		t.Error("no default entry, yet one found")
	}
	for _, bad := range []string{"login x", "machine", "machine a frobnicate 1", "machine a login"} {
		if _, err := parseNetrc(bad); err == nil {
			t.Errorf("parseNetrc(%q) succeeded", bad)
		}
	}
}

// TestClientNetrcPermissions: a password in a file others can read is
// refused; without a password the mode does not matter; no file is no
// entry.
func TestClientNetrcPermissions(t *testing.T) {
	home := t.TempDir()
	if e, err := readNetrc(home); err != nil || e != nil {
		t.Errorf("no file: %v %v", e, err)
	}
	p := filepath.Join(home, ".netrc")
	for _, tc := range []struct {
		text string
		mode os.FileMode
		ok   bool
	}{
		{"machine h login u password p\n", 0o600, true},
		{"machine h login u password p\n", 0o640, false},
		{"machine h login u password p\n", 0o604, false},
		{"machine h login u\n", 0o644, true},
	} {
		os.WriteFile(p, []byte(tc.text), 0o600)
		os.Chmod(p, tc.mode)
		_, err := readNetrc(home)
		if (err == nil) != tc.ok {
			t.Errorf("%q mode %o: %v, want ok %v", tc.text, tc.mode, err, tc.ok)
		}
	}
}

func TestClientExpandMacro(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"get $1 $2", "get a b"},
		{"put $3x", "put x"},
		{`echo \$1 costs $$1`, "echo $1 costs $a"},
		{"mkdir $9", "mkdir "},
		{"$", "$"},
		{"get $i", "get cur"},
		{`echo \$i`, "echo $i"},
	} {
		if got := expandMacro(tc.line, []string{"a", "b"}, "cur"); got != tc.want {
			t.Errorf("expandMacro(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestClientMacroLoops(t *testing.T) {
	if !macroLoops([]string{"cd x", "get $i"}) || macroLoops([]string{`echo \$i`, "get $1"}) {
		t.Error("macroLoops")
	}
}

// TestClientMgetLocalName: names from a server's NLST cannot leave the
// local directory.
func TestClientMgetLocalName(t *testing.T) {
	for in, want := range map[string]string{"a.txt": "a.txt", "dir/b.txt": "b.txt", "../../etc/passwd": "passwd",
		"/abs/c": "c", "README": "README"} {
		if got, err := mgetLocalName(in, false); err != nil || got != want {
			t.Errorf("mgetLocalName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "/", ".", "a\\..\\b"} {
		if got, err := mgetLocalName(in, false); err == nil {
			t.Errorf("mgetLocalName(%q) = %q, want refused", in, got)
		}
	}
	if got, _ := mgetLocalName("UP.TXT", true); got != "up.txt" {
		t.Errorf("case: %q", got)
	}
	if got, _ := mgetLocalName("Mixed.TXT", true); got != "Mixed.TXT" {
		t.Errorf("case on a mixed-case name: %q", got)
	}
}

func TestClientQuotedPath(t *testing.T) {
	for in, want := range map[string]string{`"/a" is current`: "/a", `"/x ""y""" created`: `/x "y"`, "no quotes": "no quotes"} {
		if got := quotedPath(in); got != want {
			t.Errorf("quotedPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClientTextFilter: a listing shown on the output cannot carry
// terminal escapes.
func TestClientTextFilter(t *testing.T) {
	var b strings.Builder
	n, err := textFilter{&b}.Write([]byte("a\x1b[2Jb\tc\r\x7f\n"))
	if err != nil || n != 11 || b.String() != "a?[2Jb\tc??\n" {
		t.Errorf("textFilter wrote %q (%d, %v)", b.String(), n, err)
	}
}

// TestClientHistory: lines with a password and answers to questions stay
// out of the terminal's history; At(0) is the newest line.
func TestClientHistory(t *testing.T) {
	h := &clientHistory{}
	for _, l := range []string{"ls", "user bob secret", "account acct", "user bob", "get x"} {
		h.Add(l)
	}
	h.skip = true
	h.Add("y")
	if h.Len() != 3 || h.At(0) != "get x" || h.At(1) != "user bob" || h.At(2) != "ls" {
		t.Errorf("history %q", h.lines)
	}
	h.skip = false
	for i := range maxHistory + 10 {
		h.Add(fmt.Sprint("cmd", i))
	}
	if h.Len() != maxHistory || h.At(0) != fmt.Sprint("cmd", maxHistory+9) {
		t.Errorf("bounded history: %d lines, newest %q", h.Len(), h.At(0))
	}
}
