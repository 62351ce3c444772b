package main

// The interactive client on a real terminal: tmux runs it in a pane,
// the test types with send-keys and reads the screen with capture-pane.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// tmuxPane is one detached tmux session on a private socket.
type tmuxPane struct {
	t    *testing.T
	bin  string
	sock string
}

func (p *tmuxPane) cmd(args ...string) (string, error) {
	out, err := exec.Command(p.bin, append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// keys types keys (tmux key names, or literal text with -l).
func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	if out, err := p.cmd(append([]string{"send-keys", "-t", "cli"}, keys...)...); err != nil {
		p.t.Fatalf("send-keys %v: %v %s", keys, err, out)
	}
}

// line types text and Enter.
func (p *tmuxPane) line(text string) {
	p.t.Helper()
	p.keys("-l", text)
	p.keys("Enter")
}

// screen is the pane with its scrollback.
func (p *tmuxPane) screen() string {
	out, _ := p.cmd("capture-pane", "-p", "-t", "cli", "-S", "-1000")
	return out
}

// waitFor waits until the screen matches re.
func (p *tmuxPane) waitFor(what string, re *regexp.Regexp) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !re.MatchString(p.screen()) {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; screen:\n%s", what, p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// promptRE is the client's prompt at a line start (capture-pane drops
// trailing blanks).
var promptRE = regexp.MustCompile(`(?m)^ftp>`)

// promptCount waits until the screen shows n prompts, that is n-1
// commands were answered.
func (p *tmuxPane) promptCount(n int) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(promptRE.FindAllString(p.screen(), -1)) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for prompt %d; screen:\n%s", n, p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClientInteractive: the login prompts (no echo of the password),
// the ftp> prompt, history (Up recalls the last command), mget asking
// y/n, and a progress bar on a large get.
func TestClientInteractive(t *testing.T) {
	bin := testkit.RequireTool(t, "tmux")
	e := newClientEnv(t, "")
	bigSum := cliRandom(t, filepath.Join(e.remote, "big.bin"), 48<<20)
	for _, n := range []string{"a1.txt", "a2.txt"} {
		cliRandom(t, filepath.Join(e.remote, n), 100)
	}
	p := &tmuxPane{t: t, bin: bin, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	shell := "env HOME=" + e.home + " " + binPath + " client -ca " + e.pki.CA + " 127.0.0.1 " + e.g.port()
	if out, err := p.cmd("new-session", "-d", "-s", "cli", "-x", "120", "-y", "50", "-c", e.work, shell); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	first := p
	t.Cleanup(func() { first.cmd("kill-server") })
	p.waitFor("the name prompt", regexp.MustCompile(`Name \(127\.0\.0\.1:[^)]*\):`))
	p.line("cli")
	p.waitFor("the password prompt", regexp.MustCompile(`Password:`))
	p.line(ixPassword)
	p.promptCount(1)
	s := p.screen()
	if strings.Contains(s, ixPassword) {
		t.Error("the password was echoed")
	}
	cliContains(t, "screen", s, "230 Login successful.", "Connected to 127.0.0.1.")

	p.line("mkdir hist1")
	p.promptCount(2)
	p.keys("Up")
	p.waitFor("the recalled line", regexp.MustCompile(`(?m)^ftp> mkdir hist1\s*$`))
	p.keys("Enter")
	p.promptCount(3)
	if n := strings.Count(p.screen(), "ftp> mkdir hist1"); n != 2 {
		t.Errorf("mkdir hist1 shown %d times, want 2 (typed, then recalled with Up)", n)
	}
	if !strings.Contains(p.screen(), "550") {
		t.Error("the recalled mkdir was not sent (no 550 for the existing directory)")
	}

	p.line("mget a*.txt")
	p.waitFor("the first question", regexp.MustCompile(`mget a1\.txt \[anpqy\?\]\?`))
	p.line("y")
	p.waitFor("the second question", regexp.MustCompile(`mget a2\.txt \[anpqy\?\]\?`))
	p.line("n")
	p.promptCount(4)
	if !cliExists(filepath.Join(e.work, "a1.txt")) || cliExists(filepath.Join(e.work, "a2.txt")) {
		t.Error("mget: want a1.txt fetched (y) and a2.txt not (n)")
	}
	// the answers are not in the history: Up recalls the mget; Ctrl-U
	// clears the line again
	p.keys("Up")
	p.waitFor("the recalled mget", regexp.MustCompile(`(?m)^ftp> mget a\*\.txt\s*\z`))
	p.keys("C-u")
	p.waitFor("the cleared line", regexp.MustCompile(`(?m)^ftp>\s*\z`))

	p.line("hash")
	p.promptCount(5)
	p.line("get big.bin")
	p.promptCount(6)
	if !regexp.MustCompile(`100% \|\*{30}\| +48\.0 MiB`).MatchString(p.screen()) {
		t.Errorf("no full progress bar for the 48 MiB get")
	}
	if strings.Contains(p.screen(), "#####") {
		t.Error("hash marks instead of a progress bar on a terminal")
	}
	if got := cliSum(t, filepath.Join(e.work, "big.bin")); got != bigSum {
		t.Errorf("big.bin sha256 %s, want %s", got, bigSum)
	}
	t.Logf("screen:\n%s", p.screen())
	p.line("bye")
	p.waitGone()
	if _, err := os.Stat(filepath.Join(e.remote, "hist1")); err != nil {
		t.Errorf("hist1: %v", err)
	}

	// -i and a .netrc: no name or password prompt, no questions in mget
	os.WriteFile(filepath.Join(e.home, ".netrc"), []byte("machine 127.0.0.1 login cli password "+ixPassword+"\n"), 0o600)
	shell = "env HOME=" + e.home + " " + binPath + " client -i -ca " + e.pki.CA + " 127.0.0.1 " + e.g.port()
	// a fresh tmux server: the first one exits with its last session
	p = &tmuxPane{t: t, bin: bin, sock: filepath.Join(t.TempDir(), "tmux2.sock")}
	second := p
	t.Cleanup(func() { second.cmd("kill-server") })
	if out, err := p.cmd("new-session", "-d", "-s", "cli", "-x", "120", "-y", "50", "-c", e.work, shell); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	p.promptCount(1)
	p.line("mget a*.txt")
	p.promptCount(2)
	if s := p.screen(); strings.Contains(s, "anpqy") || strings.Contains(s, "Name (") || strings.Contains(s, "Password:") {
		t.Errorf("-i with .netrc asked something:\n%s", s)
	}
	if !cliExists(filepath.Join(e.work, "a2.txt")) {
		t.Error("mget -i did not fetch a2.txt")
	}
	p.line("quit")
	p.waitGone()
}

// waitGone waits until the client has exited and its session with it.
func (p *tmuxPane) waitGone() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := p.cmd("has-session", "-t", "cli"); err != nil {
			return // the client exited, and with it the session
		}
		if time.Now().After(deadline) {
			p.t.Fatal("the client did not exit")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClientInterrupt: Ctrl-C during a slow download (a bandwidth-limited
// user) ends the transfer, not the client; the partial file is resumed
// with reget.
func TestClientInterrupt(t *testing.T) {
	bin := testkit.RequireTool(t, "tmux")
	extra := `user "slow" {
  password_hash = "` + ixHash() + `"
  home          = "/slow"
  permissions   = ["*"]
  bandwidth {
    download = "2MiB/s"
  }
}
`
	e := newClientEnv(t, extra)
	os.MkdirAll(filepath.Join(e.g.root, "slow"), 0o755)
	sum := cliRandom(t, filepath.Join(e.g.root, "slow", "big.bin"), 8<<20)
	os.WriteFile(filepath.Join(e.home, ".netrc"), []byte("machine 127.0.0.1 login slow password "+ixPassword+"\n"), 0o600)
	p := &tmuxPane{t: t, bin: bin, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	shell := "env HOME=" + e.home + " " + binPath + " client -ca " + e.pki.CA + " 127.0.0.1 " + e.g.port()
	if out, err := p.cmd("new-session", "-d", "-s", "cli", "-x", "120", "-y", "50", "-c", e.work, shell); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	t.Cleanup(func() { p.cmd("kill-server") })
	p.promptCount(1)
	p.line("hash")
	p.promptCount(2)
	p.line("get big.bin")
	p.waitFor("a progress bar under way", regexp.MustCompile(`\s[1-9]\d?% \|\*+ +\|`))
	p.keys("C-c")
	p.promptCount(3)
	t.Logf("screen:\n%s", p.screen())
	cliContains(t, "screen", p.screen(), "get: interrupted")
	fi, err := os.Stat(filepath.Join(e.work, "big.bin"))
	if err != nil || fi.Size() == 0 || fi.Size() >= 8<<20 {
		t.Fatalf("after the interrupt: %v, want a partial file", fi)
	}
	p.line("bye")
	p.waitGone()
	// the client survived the interrupt; reget resumes the partial file
	r := e.run(t, "reget big.bin\n", append([]string{"-d"}, e.target()...)...)
	if r.code != 0 || !strings.Contains(r.out, "---> REST ") {
		t.Errorf("reget: exit %d", r.code)
	}
	if got := cliSum(t, filepath.Join(e.work, "big.bin")); got != sum {
		t.Errorf("reget after the interrupt: sha256 %s, want %s", got, sum)
	}
}
