package main

// Where the client's commands come from: a terminal (line editing and
// history through golang.org/x/term), a script on standard input, or
// the -c list.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// lineSource yields command lines, answers to confirmations and
// passwords.
type lineSource interface {
	readLine(prompt string) (string, error)
	// readPassword reads a secret without echo; it fails where there
	// is no terminal to ask.
	readPassword(prompt string) (string, error)
	// interactive is true on a terminal: prompts, confirmations, and a
	// failed command does not end the session.
	interactive() bool
}

// maxClientLine bounds one command line of a script.
const maxClientLine = 64 << 10

// errNoTerminal is reported for a password or answer needed where there
// is no terminal.
var errNoTerminal = errors.New("no terminal to ask on (give it in the script or ~/.netrc)")

// batchSource reads commands from a script on standard input.
type batchSource struct{ r *bufio.Reader }

func newBatchSource(r io.Reader) *batchSource {
	return &batchSource{r: bufio.NewReaderSize(r, 4096)}
}

func (b *batchSource) readLine(string) (string, error) {
	var line []byte
	for {
		part, isPrefix, err := b.r.ReadLine()
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return string(line), nil
			}
			return "", err
		}
		line = append(line, part...)
		if len(line) > maxClientLine {
			return "", fmt.Errorf("script line longer than %d bytes", maxClientLine)
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

func (b *batchSource) readPassword(string) (string, error) { return "", errNoTerminal }
func (b *batchSource) interactive() bool                   { return false }

// listSource yields the commands of -c; passwords come from standard
// input when it is a terminal.
type listSource struct {
	lines []string
	stdin io.Reader
}

func newListSource(lines []string, stdin io.Reader) *listSource {
	return &listSource{lines: lines, stdin: stdin}
}

func (l *listSource) readLine(string) (string, error) {
	if len(l.lines) == 0 {
		return "", io.EOF
	}
	line := l.lines[0]
	l.lines = l.lines[1:]
	return line, nil
}

func (l *listSource) readPassword(prompt string) (string, error) {
	f, ok := l.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errNoTerminal
	}
	fmt.Fprint(os.Stderr, prompt)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(os.Stderr)
	return string(pw), err
}

func (l *listSource) interactive() bool { return false }

// ttySource reads from a terminal with line editing and history. The
// terminal is in raw mode only while a line is read, so output,
// progress bars and shell escapes see a normal terminal.
type ttySource struct {
	f    *os.File
	t    *term.Terminal
	hist *clientHistory
}

func newTTYSource(f *os.File, out io.Writer) *ttySource {
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{f, out}, "")
	h := &clientHistory{}
	t.History = h
	return &ttySource{f: f, t: t, hist: h}
}

// raw puts the terminal in raw mode, sized to the window; the returned
// function restores it.
func (s *ttySource) raw() (func(), error) {
	fd := int(s.f.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	if w, h, err := term.GetSize(fd); err == nil {
		s.t.SetSize(w, h)
	}
	return func() { term.Restore(fd, old) }, nil
}

func (s *ttySource) readLine(prompt string) (string, error) {
	restore, err := s.raw()
	if err != nil {
		return "", err
	}
	defer restore()
	s.t.SetPrompt(prompt)
	// Only commands go into the history, not answers and names.
	s.hist.skip = prompt != "ftp> "
	return s.t.ReadLine()
}

func (s *ttySource) readPassword(prompt string) (string, error) {
	restore, err := s.raw()
	if err != nil {
		return "", err
	}
	defer restore()
	return s.t.ReadPassword(prompt)
}

func (s *ttySource) interactive() bool { return true }

// maxHistory bounds the remembered command lines.
const maxHistory = 500

// clientHistory is the terminal's history (At(0) the newest line),
// leaving out lines that carry a password ("user NAME PASSWORD",
// "account PASSWORD").
type clientHistory struct {
	lines []string
	skip  bool // the line being read is not a command
}

func (h *clientHistory) Add(line string) {
	if h.skip {
		return
	}
	if f := strings.Fields(line); len(f) > 0 {
		switch cmd := strings.ToLower(f[0]); {
		case cmd == "user" && len(f) > 2, cmd == "account" && len(f) > 1:
			return
		}
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > maxHistory {
		h.lines = h.lines[1:]
	}
}

func (h *clientHistory) Len() int { return len(h.lines) }

func (h *clientHistory) At(i int) string { return h.lines[len(h.lines)-1-i] }

// confirm asks a yes/no question on a terminal when prompting is on; in
// a script, or with prompting off, the answer is yes. "a" answers yes
// to the rest (returned in all).
func (c *ftpClient) confirm(question string) (yes, all bool, err error) {
	if !c.prompt || !c.src.interactive() {
		return true, false, nil
	}
	for {
		ans, err := c.src.readLine(question + " [anpqy?]? ")
		if err != nil {
			return false, false, err
		}
		switch strings.ToLower(strings.TrimSpace(ans)) {
		case "", "y", "yes":
			return true, false, nil
		case "n", "no":
			return false, false, nil
		case "a":
			return true, true, nil
		case "p":
			c.prompt = false
			c.printf("Interactive mode: off.\n")
			return true, false, nil
		case "q":
			return false, false, errors.New("stopped at the user's request")
		default:
			c.printf("a  answer yes to all\nn  answer no\np  turn off prompt mode\nq  stop\ny  answer yes\n")
		}
	}
}
