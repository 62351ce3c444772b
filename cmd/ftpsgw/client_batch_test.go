package main

// Script tests of `ftpsgw client`: batch exit codes and the "-" prefix,
// -c, macros, ~/.netrc logins, certificate verification, implicit FTPS,
// and the commands that must refuse honestly.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientBatchExit: the first failing command ends a script with a
// non-zero exit and runs nothing after it; a "-" prefix ignores the
// failure; -c runs ';'-separated commands the same way.
func TestClientBatchExit(t *testing.T) {
	e := newClientEnv(t, "")
	r := e.run(t, clientLogin+"mkdir before\nget missing.bin\nmkdir after\n", e.target()...)
	if r.code != 1 || !cliExists(filepath.Join(e.remote, "before")) || cliExists(filepath.Join(e.remote, "after")) {
		t.Errorf("failing script: exit %d; want 1, before made, after not", r.code)
	}
	cliContains(t, "stderr", r.err, "RETR: unexpected reply 550")
	r = e.run(t, clientLogin+"-get missing.bin\n-nosuchcommand\nmkdir after\n", e.target()...)
	if r.code != 0 || !cliExists(filepath.Join(e.remote, "after")) {
		t.Errorf("'-' prefixed failures: exit %d; want 0 and after made", r.code)
	}
	cliContains(t, "stderr", r.err, `invalid command "nosuchcommand"`)
	if cliExists(filepath.Join(e.work, "missing.bin")) && cliSum(t, filepath.Join(e.work, "missing.bin")) != cliSum(t, os.DevNull) {
		t.Error("a failed get left data in a local file")
	}
	args := append([]string{"-c", "user cli " + ixPassword + "; mkdir c1; cd nowhere; mkdir c2"}, e.target()...)
	r = e.run(t, "", args...)
	if r.code != 1 || !cliExists(filepath.Join(e.remote, "c1")) || cliExists(filepath.Join(e.remote, "c2")) {
		t.Errorf("-c: exit %d; want 1, c1 made, c2 not", r.code)
	}
	r = e.run(t, "", append([]string{"-c", "user cli " + ixPassword + "; mkdir c3; bye"}, e.target()...)...)
	if r.code != 0 || !cliExists(filepath.Join(e.remote, "c3")) {
		t.Errorf("-c success: exit %d", r.code)
	}
	// wrong password, command before open, bad usage
	r = e.run(t, "user cli wrong-password\nmkdir never\n", e.target()...)
	if r.code != 1 || cliExists(filepath.Join(e.remote, "never")) || !strings.Contains(r.err, "login failed: 530") {
		t.Errorf("bad login: exit %d", r.code)
	}
	r = e.run(t, "pwd\n")
	if r.code != 1 || !strings.Contains(r.err, "not connected") {
		t.Errorf("pwd before open: exit %d", r.code)
	}
	r = e.run(t, "open 127.0.0.1 "+e.g.port()+"\n"+clientLogin+"rename onlyone\n")
	if r.code != 1 || !strings.Contains(r.err, "usage: rename from to") {
		t.Errorf("rename with one argument: exit %d", r.code)
	}
}

// TestClientMacros: macdef in a script and $ with arguments ($1, $2, \$);
// a failing line stops the macro and the script.
func TestClientMacros(t *testing.T) {
	e := newClientEnv(t, "")
	sum := cliRandom(t, filepath.Join(e.work, "m.bin"), 7000)
	script := clientLogin + `macdef up
put $1 $2
mkdir \$2
size $2

$ up m.bin copy.bin
macdef broken
mkdir ok-before
cd /nowhere
mkdir never

macdef each
mkdir loop-$i

$ each one two
status
$ broken
mkdir not-after-macro
`
	r := e.run(t, script, e.target()...)
	if r.code != 1 {
		t.Errorf("exit %d, want 1 from the broken macro", r.code)
	}
	if got := cliSum(t, filepath.Join(e.remote, "copy.bin")); got != sum {
		t.Errorf("macro put: sha256 %s", got)
	}
	cliContains(t, "stdout", r.out, "copy.bin\t7000\n", "Macros: broken each up.")
	if !cliExists(filepath.Join(e.remote, "loop-one")) || !cliExists(filepath.Join(e.remote, "loop-two")) {
		t.Error("$i: want loop-one and loop-two")
	}
	if !cliExists(filepath.Join(e.remote, "$2")) || !cliExists(filepath.Join(e.remote, "ok-before")) {
		t.Error("\\$ not kept as $, or the macro's first line did not run")
	}
	if cliExists(filepath.Join(e.remote, "never")) || cliExists(filepath.Join(e.remote, "not-after-macro")) {
		t.Error("lines after the failure ran")
	}
	cliContains(t, "stderr", r.err, `$ broken: stopped at "cd /nowhere"`)
}

// writeNetrc writes $HOME/.netrc with mode.
func writeNetrc(t *testing.T, e *clientEnv, text string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(e.home, ".netrc")
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// TestClientNetrc: an auto-login from $HOME/.netrc with its init macro;
// -n turns it off; a .netrc with a password that others can read is
// refused; the default entry applies to other hosts.
func TestClientNetrc(t *testing.T) {
	e := newClientEnv(t, "")
	netrc := fmt.Sprintf("# test\nmachine example.invalid login nobody password nothing\nmachine 127.0.0.1\n  login cli\n  password %s\nmacdef init\nmkdir from-init\n\n", ixPassword)
	writeNetrc(t, e, netrc, 0o600)
	r := e.run(t, "pwd\nbye\n", append([]string{"-d"}, e.target()...)...)
	if r.code != 0 || !strings.Contains(r.out, "Remote directory: /") || !cliExists(filepath.Join(e.remote, "from-init")) {
		t.Errorf(".netrc login: exit %d; want logged in and the init macro run", r.code)
	}
	cliContains(t, "stdout", r.out, "---> USER cli\n", "---> PASS ****\n", "---> MKD from-init\n")
	if strings.Contains(r.out+r.err, ixPassword) {
		t.Error("the .netrc password appears in the output")
	}
	r = e.run(t, "pwd\n", append([]string{"-n"}, e.target()...)...)
	if r.code != 1 || !strings.Contains(r.err, "530") {
		t.Errorf("-n: exit %d; want no login and pwd refused", r.code)
	}
	writeNetrc(t, e, netrc, 0o644)
	r = e.run(t, "pwd\n", e.target()...)
	if r.code != 1 || !strings.Contains(r.err, "readable by others") {
		t.Errorf("world-readable .netrc: exit %d; want it refused", r.code)
	}
	writeNetrc(t, e, "default login cli password "+ixPassword+"\n", 0o600)
	r = e.run(t, "mkdir by-default\n", e.target()...)
	if r.code != 0 || !cliExists(filepath.Join(e.remote, "by-default")) {
		t.Errorf("default entry: exit %d", r.code)
	}
	// a .netrc without passwords may be readable; the client then has
	// no password and, without a terminal, fails honestly
	writeNetrc(t, e, "machine 127.0.0.1 login cli\n", 0o644)
	r = e.run(t, "pwd\n", e.target()...)
	if r.code != 1 || !strings.Contains(r.err, "no terminal to ask on") {
		t.Errorf("login without a password and no terminal: exit %d", r.code)
	}
}

// certFingerprint is the SHA-256 of the PEM certificate's DER, in hex.
func certFingerprint(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM in " + path)
	}
	s := sha256.Sum256(blk.Bytes)
	return hex.EncodeToString(s[:])
}

// TestClientVerification: the system roots refuse the test CA; a pinned
// fingerprint (with colons) works without -ca and a wrong one fails;
// data connections under the pin resume the control session.
func TestClientVerification(t *testing.T) {
	e := newClientEnv(t, "")
	script := clientLogin + "trace\nls\nbye\n"
	run := func(args ...string) clientRun {
		return runClientBinary(t, e, script, append(append([]string{"client"}, args...), e.target()...)...)
	}
	if r := run(); r.code != 1 || !strings.Contains(r.err, "certificate") {
		t.Errorf("system roots: exit %d; want the test certificate refused", r.code)
	}
	fp := certFingerprint(t, e.pki.Cert)
	var colons []string
	for i := 0; i < len(fp); i += 2 {
		colons = append(colons, strings.ToUpper(fp[i:i+2]))
	}
	r := run("-fingerprint", strings.Join(colons, ":"))
	if r.code != 0 || !strings.Contains(r.out, "session resumed: yes") {
		t.Errorf("pinned: exit %d", r.code)
	}
	wrong := strings.Repeat("ab", 32)
	if r := run("-fingerprint", wrong); r.code != 1 || !strings.Contains(r.err, "does not match -fingerprint") {
		t.Errorf("wrong pin: exit %d", r.code)
	}
	if r := run("-fingerprint", "xyz"); r.code != 2 {
		t.Errorf("malformed pin: exit %d, want 2", r.code)
	}
	if r := run("-ca", e.pki.CA, "-fingerprint", fp, "-v"); r.code != 0 || !strings.Contains(r.out, "CA file") || !strings.Contains(r.out, "pinned fingerprint") {
		t.Errorf("-ca and pin: exit %d", r.code)
	}
}

// TestClientImplicit: -implicit speaks TLS from the first byte to an
// implicit_listen listener.
func TestClientImplicit(t *testing.T) {
	p := ixNewPKI(t)
	port := freePort(t)
	cfg := strings.Replace(ixGatewayConfig(p, "10s", "", "cli"), `drain_timeout       = "2s"`,
		fmt.Sprintf("drain_timeout       = \"2s\"\n  implicit_listen     = [\"127.0.0.1:%d\"]", port), 1)
	g := startBinary(t, cfg)
	os.MkdirAll(filepath.Join(g.root, "cli"), 0o755)
	e := &clientEnv{g: g, pki: p, home: t.TempDir(), work: t.TempDir(), remote: filepath.Join(g.root, "cli")}
	r := e.run(t, clientLogin+"mkdir imp\nstatus\n", "-implicit", "127.0.0.1", fmt.Sprint(port))
	if r.code != 0 || !cliExists(filepath.Join(e.remote, "imp")) {
		t.Errorf("implicit: exit %d", r.code)
	}
	// explicit client to the implicit port fails cleanly
	r = e.run(t, clientLogin, "-timeout", "2s", "127.0.0.1", fmt.Sprint(port))
	if r.code != 1 {
		t.Errorf("explicit to an implicit port: exit %d", r.code)
	}
}

// TestClientRefusals: what the client or the server does not support
// answers so, with a failing exit; the ftp(1) defaults are accepted.
func TestClientRefusals(t *testing.T) {
	e := newClientEnv(t, "")
	os.WriteFile(filepath.Join(e.remote, "f"), []byte("x"), 0o644)
	ok := clientLogin + "debug\nform non-print\nmode stream\nstruct file\nform\nnmap\nntrans\ntype tenex\ntype\ntype image\n" +
		"prompt\nprompt on\nglob off\nverbose on\nverbose off\nsunique\nsunique off\nbye\n"
	r := e.run(t, ok, e.target()...)
	if r.code != 0 {
		t.Errorf("defaults: exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "Using non-print form.", "Using stream mode.", "Using file struct.", "Nmap off.", "Ntrans off.",
		"Using tenex mode to transfer files.", "Using binary mode to transfer files.", "---> TYPE L 8\n",
		"Interactive mode off.", "Interactive mode on.", "Globbing off.", "Verbose mode on.", "Debugging on.",
		"Verbose mode off.", "Store unique on.", "Store unique off.")
	for _, tc := range []struct{ line, want, sent string }{
		{"proxy open other.example", "proxy: not supported", ""},
		{"nmap $1.$2 $2.$1", "nmap: not supported", ""},
		{"ntrans abc xyz", "ntrans: not supported", ""},
		{"form telnet", "form telnet: not supported", ""},
		{"mode block", "mode block: not supported", ""},
		{"struct record", "struct record: not supported", ""},
		{"type ebcdic", "type ebcdic: not supported", ""},
		{"chmod 644 f", "SITE: unexpected reply 502", "---> SITE CHMOD 644 f\n"},
		{"umask 022", "SITE: unexpected reply 502", "---> SITE UMASK 022\n"},
		{"idle 60", "SITE: unexpected reply 502", "---> SITE IDLE 60\n"},
		{"site HELP", "SITE: unexpected reply 502", "---> SITE HELP\n"},
		{"quote NOSUCH", "NOSUCH: unexpected reply 500", ""},
		{"restart -5", "not a byte offset", ""},
		{"verbose maybe", "want on or off", ""},
		{"account acct-secret", "ACCT: unexpected reply 5", ""},
	} {
		r := e.run(t, clientLogin+tc.line+"\nmkdir after\n", append([]string{"-d"}, e.target()...)...)
		if r.code != 1 || !strings.Contains(r.err, tc.want) || cliExists(filepath.Join(e.remote, "after")) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", tc.line, r.code, r.err, tc.want)
		}
		if !strings.Contains(r.out, tc.sent) {
			t.Errorf("%q: did not send %q", tc.line, tc.sent)
		}
	}
}
