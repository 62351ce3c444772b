package main

// Script tests of `ftpsgw client`: the real binary, driven through its
// standard input or -c, against the real gateway binary; outputs and
// the files on both sides (by sha256) are compared.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// clientEnv is a gateway with one user "cli" (password ixPassword), a
// temporary $HOME and a local working directory for the client.
type clientEnv struct {
	g      *gatewayProc
	pki    *ixPKI
	home   string // $HOME of the client
	work   string // the client's working directory
	remote string // the user's home on the gateway's disk
}

// newClientEnv starts the gateway with extra appended to its config.
func newClientEnv(t *testing.T, extra string) *clientEnv {
	t.Helper()
	p := ixNewPKI(t)
	g := startBinary(t, ixGatewayConfig(p, "10s", "", "cli")+extra)
	e := &clientEnv{g: g, pki: p, home: t.TempDir(), work: t.TempDir(), remote: filepath.Join(g.root, "cli")}
	if err := os.MkdirAll(e.remote, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// clientRun is the outcome of one client run.
type clientRun struct {
	out, err string
	code     int
}

// target is host and port for the command line.
func (e *clientEnv) target() []string { return []string{"127.0.0.1", e.g.port()} }

// run runs `ftpsgw client -ca CA args...` with script on standard input,
// in e.work with HOME=e.home.
func (e *clientEnv) run(t *testing.T, script string, args ...string) clientRun {
	t.Helper()
	return runClientBinary(t, e, script, append([]string{"client", "-ca", e.pki.CA}, args...)...)
}

// runClientBinary runs `ftpsgw args...` as run does.
func runClientBinary(t *testing.T, e *clientEnv, script string, args ...string) clientRun {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "HOME="+e.home)
	cmd.Stdin = strings.NewReader(script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("client did not finish:\n%s\n%s", out.String(), errOut.String())
	}
	r := clientRun{out: out.String(), err: errOut.String(), code: cmd.ProcessState.ExitCode()}
	t.Logf("client %v exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.out, r.err)
	return r
}

// login is the script line that logs in as cli.
const clientLogin = "user cli " + ixPassword + "\n"

// writeRandom writes n random bytes to path and returns their sha256.
func cliRandom(t *testing.T, path string, n int) string {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return ixSum(b)
}

// fileSum is the sha256 of a file, or "missing".
func cliSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "missing"
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func cliExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// mustContain fails for each want that s lacks.
func cliContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// TestClientBasicCommands: group 1 (navigation, listing, transfers,
// remote files, server commands, local side) in one script; files
// compared by sha256, each data connection resumed the control session.
func TestClientBasicCommands(t *testing.T) {
	e := newClientEnv(t, "")
	upSum := cliRandom(t, filepath.Join(e.work, "up.bin"), 200_000)
	os.Mkdir(filepath.Join(e.work, "ldir"), 0o755)
	os.WriteFile(filepath.Join(e.work, "hello.txt"), []byte("hello from the server\x01?\n"), 0o644)
	script := clientLogin + `pwd
mkdir sub
cd sub
pwd
trace
put up.bin
size up.bin
modtime up.bin
get up.bin down.bin
ls
nlist
dir . listing.txt
cdup
rename sub/up.bin sub/moved.bin
nlist sub
mls sub/moved.bin names.txt
put up.bin del.bin
delete del.bin
-delete sub/never-there.bin
system
rhelp
rstatus
quote NOOP
type
status
append up.bin twice.bin
append up.bin twice.bin
put hello.txt
get hello.txt -
rstatus twice.bin
ls . "|grep -c twice > pipe.txt"
close
-pwd
open 127.0.0.1 PORT
user cli PASSWORD
lcd ldir
!echo shell ran > shell.txt
lcd
help get
bye
`
	script = strings.NewReplacer("PORT", e.g.port(), "PASSWORD", ixPassword).Replace(script)
	r := e.run(t, script, e.target()...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "213-Status of /twice.bin:", "Local directory now "+e.home,
		"Remote directory: /\n", "Remote directory: /sub\n",
		"up.bin\t200000\n", "215 UNIX Type: L8", "214-", "211-",
		"Using binary mode to transfer files.", "session resumed: yes",
		"Connected to 127.0.0.1 (127.0.0.1:"+e.g.port()+").", "Logged in as cli.",
		"Local directory now "+filepath.Join(e.work, "ldir"), "get, recv  download a file")
	if strings.Contains(r.out, "session resumed: no") {
		t.Error("a data connection did not resume the control session")
	}
	if !regexp.MustCompile(`up\.bin\t\d\d/\d\d/\d{4} \d\d:\d\d:\d\d GMT`).MatchString(r.out) {
		t.Error("modtime line missing")
	}
	// the listing on stdout has the file with its size; nlist has bare names
	if !regexp.MustCompile(`(?m)^-.*200000 .* up\.bin$`).MatchString(r.out) {
		t.Error("ls output lacks up.bin with its size")
	}
	if !regexp.MustCompile(`(?m)^moved\.bin$|^sub/moved\.bin$`).MatchString(r.out) {
		t.Error("nlist sub lacks moved.bin")
	}
	if got := cliSum(t, filepath.Join(e.work, "down.bin")); got != upSum {
		t.Errorf("down.bin sha256 %s, want %s", got, upSum)
	}
	if got := cliSum(t, filepath.Join(e.remote, "sub", "moved.bin")); got != upSum {
		t.Errorf("remote moved.bin sha256 %s, want %s", got, upSum)
	}
	if cliExists(filepath.Join(e.remote, "sub", "up.bin")) || cliExists(filepath.Join(e.remote, "del.bin")) {
		t.Error("rename left sub/up.bin, or delete left del.bin")
	}
	listing, _ := os.ReadFile(filepath.Join(e.work, "listing.txt"))
	if !bytes.Contains(listing, []byte("up.bin")) || bytes.Contains(listing, []byte("\r")) {
		t.Errorf("listing.txt %q: want up.bin, LF line ends", listing)
	}
	names, _ := os.ReadFile(filepath.Join(e.work, "names.txt"))
	if !bytes.Contains(names, []byte("moved.bin")) {
		t.Errorf("names.txt %q lacks moved.bin", names)
	}
	up, _ := os.ReadFile(filepath.Join(e.work, "up.bin"))
	if got := cliSum(t, filepath.Join(e.remote, "twice.bin")); got != ixSum(append(append([]byte{}, up...), up...)) {
		t.Errorf("append twice: sha256 %s, want the file twice", got)
	}
	if !strings.Contains(r.out, "\nhello from the server\x01?\n") {
		t.Error("get hello.txt - did not write the file to the output unchanged")
	}
	if b, _ := os.ReadFile(filepath.Join(e.work, "pipe.txt")); string(b) != "1\n" {
		t.Errorf("ls into a pipe: pipe.txt %q, want 1", b)
	}
	cliContains(t, "stderr", r.err, "not connected")
	shell, _ := os.ReadFile(filepath.Join(e.work, "ldir", "shell.txt"))
	if string(shell) != "shell ran\n" {
		t.Errorf("shell.txt %q", shell)
	}
	if !strings.Contains(r.err, "DELE") || !strings.Contains(r.err, "550") {
		t.Errorf("the ignored delete's error is not reported: %q", r.err)
	}
}

// TestClientDirsAndDebug: mkdir, rmdir, cd, cdup, verbose replies, and
// -d shows every command with the password as ****.
func TestClientDirsAndDebug(t *testing.T) {
	e := newClientEnv(t, "")
	r := e.run(t, clientLogin+"mkdir a\nmkdir a/b\ncd a/b\ncdup\npwd\ncd /\nrmdir a/b\nbye\n", append([]string{"-d", "-v"}, e.target()...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "---> USER cli\n", "---> PASS ****\n", "---> PBSZ 0\n", "---> PROT P\n",
		"---> MKD a/b\n", "---> CWD a/b\n", "---> CDUP\n", "---> RMD a/b\n", "230 ", "257 \"/a\"", "Connected to 127.0.0.1.")
	if strings.Contains(r.out+r.err, ixPassword) {
		t.Error("the password appears in the output")
	}
	if !cliExists(filepath.Join(e.remote, "a")) || cliExists(filepath.Join(e.remote, "a", "b")) {
		t.Error("want a without a/b on the server")
	}
}

// TestClientASCII: ascii mode sends CRLF on the wire (the byte counts
// include a CR per line) and keeps LF on both disks; cr off keeps the
// CRs of a download.
func TestClientASCII(t *testing.T) {
	e := newClientEnv(t, "")
	text := strings.Repeat("a line of text\n", 100) // 1500 bytes, 100 lines
	os.WriteFile(filepath.Join(e.work, "text.txt"), []byte(text), 0o644)
	script := clientLogin + `ascii
put text.txt up.txt
get up.txt back.txt
cr
get up.txt crlf.txt
binary
get up.txt bin.txt
bye
`
	r := e.run(t, script, append([]string{"-v"}, e.target()...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "1600 bytes sent", "1600 bytes received", "Carriage Return stripping off.")
	if b, _ := os.ReadFile(filepath.Join(e.remote, "up.txt")); string(b) != text {
		t.Errorf("server copy %d bytes, CR in it %v; want the LF text", len(b), bytes.Contains(b, []byte("\r")))
	}
	if b, _ := os.ReadFile(filepath.Join(e.work, "back.txt")); string(b) != text {
		t.Errorf("ascii download %d bytes; want the LF text", len(b))
	}
	if b, _ := os.ReadFile(filepath.Join(e.work, "crlf.txt")); string(b) != strings.ReplaceAll(text, "\n", "\r\n") {
		t.Errorf("cr off download %d bytes; want CRLF", len(b))
	}
	if b, _ := os.ReadFile(filepath.Join(e.work, "bin.txt")); string(b) != text {
		t.Errorf("binary download %d bytes; want the file unchanged", len(b))
	}
}

// TestClientRegetAndRestart: reget after a cut download (a partial local
// file) fetches only the rest; restart marker resumes an upload.
func TestClientRegetAndRestart(t *testing.T) {
	e := newClientEnv(t, "")
	sum := cliRandom(t, filepath.Join(e.remote, "big.bin"), 300_000)
	full, _ := os.ReadFile(filepath.Join(e.remote, "big.bin"))
	os.WriteFile(filepath.Join(e.work, "big.bin"), full[:100_000], 0o644) // the cut transfer
	os.WriteFile(filepath.Join(e.work, "up.bin"), full, 0o644)
	os.WriteFile(filepath.Join(e.remote, "up.bin"), full[:120_000], 0o644) // a cut upload
	script := clientLogin + `reget big.bin
reget big.bin
restart 120000
put up.bin
bye
`
	r := e.run(t, script, append([]string{"-d", "-v"}, e.target()...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "---> REST 100000\n", "200000 bytes received", "Local file big.bin is complete (300000 bytes).",
		"---> REST 120000\n", "180000 bytes sent")
	if got := cliSum(t, filepath.Join(e.work, "big.bin")); got != sum {
		t.Errorf("reget result sha256 %s, want %s", got, sum)
	}
	if got := cliSum(t, filepath.Join(e.remote, "up.bin")); got != sum {
		t.Errorf("restarted upload sha256 %s, want %s", got, sum)
	}
}

// TestClientNewer: newer downloads when the remote file is newer, and
// not when the local copy is (no RETR is sent).
func TestClientNewer(t *testing.T) {
	e := newClientEnv(t, "")
	sum := cliRandom(t, filepath.Join(e.remote, "n.bin"), 5000)
	local := filepath.Join(e.work, "n.bin")
	os.WriteFile(local, []byte("old"), 0o644)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(local, old, old)
	r := e.run(t, clientLogin+"newer n.bin\nbye\n", append([]string{"-d"}, e.target()...)...)
	if r.code != 0 || !strings.Contains(r.out, "---> RETR n.bin") {
		t.Fatalf("exit %d; want a RETR", r.code)
	}
	if got := cliSum(t, local); got != sum {
		t.Errorf("newer did not fetch the newer remote file")
	}
	// now the local copy carries the remote time; make it newer still
	future := time.Now().Add(time.Hour)
	os.WriteFile(local, []byte("mine"), 0o644)
	os.Chtimes(local, future, future)
	r = e.run(t, clientLogin+"newer n.bin\nbye\n", append([]string{"-d"}, e.target()...)...)
	if r.code != 0 || strings.Contains(r.out, "RETR") {
		t.Errorf("exit %d; a RETR for an older remote file", r.code)
	}
	cliContains(t, "stdout", r.out, `Local file "n.bin" is newer than remote file "n.bin".`)
	if b, _ := os.ReadFile(local); string(b) != "mine" {
		t.Errorf("local file replaced: %q", b)
	}
}

// TestClientGlobbing: mget with remote globbing (dot files only for dot
// patterns, case mapping), mput with local globbing, mdelete, and -g.
func TestClientGlobbing(t *testing.T) {
	e := newClientEnv(t, "")
	sums := map[string]string{}
	for _, n := range []string{"a1.txt", "a2.txt", "b.txt", ".hidden.txt", "other.dat", "UPPER.TXT"} {
		sums[n] = cliRandom(t, filepath.Join(e.remote, n), 3000)
	}
	os.Mkdir(filepath.Join(e.remote, "sub"), 0o755)
	sums["sub/c.txt"] = cliRandom(t, filepath.Join(e.remote, "sub", "c.txt"), 100)
	for _, n := range []string{"x1.up", "x2.up", "y.keep"} {
		sums[n] = cliRandom(t, filepath.Join(e.work, n), 2000)
	}
	script := clientLogin + `mget *.txt
mget sub/*.txt
case
mget *.TXT
mput x*.up
mdelete a?.txt
bye
`
	r := e.run(t, script, e.target()...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, n := range []string{"a1.txt", "a2.txt", "b.txt"} {
		if got := cliSum(t, filepath.Join(e.work, n)); got != sums[n] {
			t.Errorf("mget %s: sha256 %s", n, got)
		}
	}
	if got := cliSum(t, filepath.Join(e.work, "c.txt")); got != sums["sub/c.txt"] {
		t.Errorf("mget sub/*.txt: c.txt sha256 %s", got)
	}
	if got := cliSum(t, filepath.Join(e.work, "upper.txt")); got != sums["UPPER.TXT"] {
		t.Errorf("case: upper.txt sha256 %s", got)
	}
	for _, n := range []string{".hidden.txt", "other.dat", "UPPER.TXT"} {
		if cliExists(filepath.Join(e.work, n)) {
			t.Errorf("mget fetched %s", n)
		}
	}
	for _, n := range []string{"x1.up", "x2.up"} {
		if got := cliSum(t, filepath.Join(e.remote, n)); got != sums[n] {
			t.Errorf("mput %s: sha256 %s", n, got)
		}
	}
	if cliExists(filepath.Join(e.remote, "y.keep")) {
		t.Error("mput x*.up sent y.keep")
	}
	if cliExists(filepath.Join(e.remote, "a1.txt")) || cliExists(filepath.Join(e.remote, "a2.txt")) || !cliExists(filepath.Join(e.remote, "b.txt")) {
		t.Error("mdelete a?.txt: want a1 and a2 gone, b kept")
	}
	// -g: no globbing, the pattern is a name
	r = e.run(t, clientLogin+"mget b*.txt\n", append([]string{"-g"}, e.target()...)...)
	if r.code == 0 || !strings.Contains(r.err, "550") {
		t.Errorf("-g mget b*.txt: exit %d, want the literal name refused", r.code)
	}
	r = e.run(t, clientLogin+"glob\nmget b*.txt\n", e.target()...)
	if r.code == 0 || !strings.Contains(r.out, "Globbing off.") || !strings.Contains(r.err, "550") {
		t.Errorf("glob off, mget b*.txt: exit %d, want the literal name refused", r.code)
	}
}

// TestClientUnique: runique keeps the local file and writes name.1;
// sunique uploads with STOU under a name the server chooses.
func TestClientUnique(t *testing.T) {
	e := newClientEnv(t, "")
	sum := cliRandom(t, filepath.Join(e.remote, "f.bin"), 4000)
	os.WriteFile(filepath.Join(e.work, "f.bin"), []byte("keep me"), 0o644)
	upSum := cliRandom(t, filepath.Join(e.work, "u.bin"), 6000)
	script := clientLogin + `runique
get f.bin
get f.bin
sunique
put u.bin
put u.bin
bye
`
	r := e.run(t, script, append([]string{"-d"}, e.target()...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	if b, _ := os.ReadFile(filepath.Join(e.work, "f.bin")); string(b) != "keep me" {
		t.Errorf("runique replaced f.bin: %q", b)
	}
	for _, n := range []string{"f.bin.1", "f.bin.2"} {
		if got := cliSum(t, filepath.Join(e.work, n)); got != sum {
			t.Errorf("%s sha256 %s, want %s", n, got, sum)
		}
	}
	cliContains(t, "stdout", r.out, "Receiving f.bin as f.bin.1 (runique).", "---> STOU u.bin")
	stored := regexp.MustCompile(`Stored as (\S+) \(sunique\)`).FindAllStringSubmatch(r.out, -1)
	if len(stored) != 2 || stored[0][1] == stored[1][1] {
		t.Fatalf("want two different STOU names, got %v", stored)
	}
	for _, m := range stored {
		if got := cliSum(t, filepath.Join(e.remote, m[1])); got != upSum {
			t.Errorf("STOU file %s sha256 %s", m[1], got)
		}
	}
	if cliExists(filepath.Join(e.remote, "u.bin")) {
		t.Error("sunique stored under the local name")
	}
}

// TestClientHashTickBell: without a terminal, hash prints one # per 1024
// bytes and a newline; tick counts; bell rings after the transfer.
func TestClientHashTickBell(t *testing.T) {
	e := newClientEnv(t, "")
	cliRandom(t, filepath.Join(e.remote, "h.bin"), 10*1024+500)
	r := e.run(t, clientLogin+"hash\nget h.bin\nhash\ntick\nbell\nget h.bin t.bin\nbye\n", e.target()...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "Hash mark printing on.\n(1024 bytes/hash mark).\n##########\n", "Hash mark printing off.",
		"Bytes transferred: 10740\n\a", "Bell mode on.")
	if strings.Contains(r.out, "###########") {
		t.Error("more than one # per 1024 bytes")
	}
}

// TestClientSendport: active mode against a gateway with active mode
// on: EPRT to the client's address, the client accepts and is the TLS
// client, sessions resumed; with active mode off the transfer fails.
func TestClientSendport(t *testing.T) {
	e := newClientEnv(t, "active {\n  enabled = true\n}\n")
	upSum := cliRandom(t, filepath.Join(e.work, "a.bin"), 100_000)
	script := clientLogin + `passive
passive
sendport
trace
put a.bin
get a.bin b.bin
ls
status
bye
`
	r := e.run(t, script, append([]string{"-d"}, e.target()...)...)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	cliContains(t, "stdout", r.out, "Passive mode off.", "Passive mode on.", "Use of PORT cmds on.", "---> EPRT |1|127.0.0.1|", "data: EPRT 127.0.0.1:",
		"session resumed: yes", "Data connections: active (EPRT, PORT).", "a.bin")
	if strings.Contains(r.out, "EPSV") || strings.Contains(r.out, "PASV") || strings.Contains(r.out, "session resumed: no") {
		t.Error("passive mode used, or a data session not resumed")
	}
	if cliSum(t, filepath.Join(e.remote, "a.bin")) != upSum || cliSum(t, filepath.Join(e.work, "b.bin")) != upSum {
		t.Error("active transfers: sha256 mismatch")
	}
	// a gateway with active mode off refuses EPRT and PORT
	off := newClientEnv(t, "")
	os.WriteFile(filepath.Join(off.work, "a.bin"), []byte("x"), 0o644)
	r = off.run(t, clientLogin+"sendport\nput a.bin\nmkdir after\n", off.target()...)
	if r.code == 0 || cliExists(filepath.Join(off.remote, "after")) || cliExists(filepath.Join(off.remote, "a.bin")) {
		t.Errorf("exit %d with active mode off; want a failure that stops the script", r.code)
	}
}
