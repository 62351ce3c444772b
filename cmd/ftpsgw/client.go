package main

// ftpsgw client: the classic ftp(1) command set, always over FTPS
// (explicit AUTH TLS, or implicit with -implicit), on gateway/ftpclient.
// This file holds the command line, the client's state and the command
// loop; the command table is in client_commands.go, transfers in
// client_transfer.go, ~/.netrc in client_netrc.go, macros in
// client_macro.go and the terminal in client_tty.go.

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// ftpClient is one client session: the command source, the connection
// (nil when closed) and the settings the toggles change. It is used by
// one goroutine.
type ftpClient struct {
	src       lineSource
	out       io.Writer // replies, listings, messages
	errOut    io.Writer // errors
	stdoutTTY bool      // hash shows a progress bar instead of marks
	tls       *tls.Config
	verified  string // how the certificate is checked, for status
	implicit  bool
	timeout   time.Duration
	home      string // for ~/.netrc and lcd without an argument

	conn     *ftpclient.Conn
	host     string
	addr     string
	loggedIn bool
	user     string
	lastData string // the last data connection, for status and trace

	verbose, debug, trace   bool
	prompt, glob, autoLogin bool
	hash, tick, bell        bool
	passive                 bool
	sunique, runique        bool
	caseMap, crStrip        bool
	typeName                string // "binary", "ascii" or "tenex"
	restart                 int64  // the next get/put starts here (restart)

	silent bool // verbose does not show the replies now (get's SIZE, MDTM)

	macros     map[string][]string
	macroDepth int
	quit       bool
}

// clientTimeout bounds each network operation of the client.
const clientTimeout = 30 * time.Second

func cmdClient(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "show every server reply")
	debug := fs.Bool("d", false, "show every command sent (PASS as ****)")
	noPrompt := fs.Bool("i", false, "no confirmation in mget, mput and mdelete")
	noLogin := fs.Bool("n", false, "no auto-login from ~/.netrc")
	noGlob := fs.Bool("g", false, "no file name globbing")
	ca := fs.String("ca", "", "PEM file of the CA certificates to trust instead of the system roots")
	pin := fs.String("fingerprint", "", "SHA-256 (hex) of the server certificate to pin instead of a CA")
	implicit := fs.Bool("implicit", false, "implicit FTPS (TLS from the first byte, port 990)")
	script := fs.String("c", "", "run these commands, separated by ';', then exit")
	timeout := fs.Duration("timeout", clientTimeout, "bound on each network operation")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usage(stderr, "client help")
		}
		return usage(stderr, "client: "+err.Error())
	}
	if fs.NArg() > 2 {
		return usage(stderr, "client: want at most host and port after the flags")
	}
	conf, verified, err := clientTLSConfig(*ca, *pin)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw: client: %v\n", err)
		return 2
	}
	c := &ftpClient{out: stdout, errOut: stderr, tls: conf, verified: verified, implicit: *implicit,
		timeout: *timeout, home: os.Getenv("HOME"), debug: *debug, prompt: !*noPrompt, glob: !*noGlob,
		autoLogin: !*noLogin, passive: true, crStrip: true, typeName: "binary", macros: map[string][]string{}}
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.stdoutTTY = true
	}
	if *script != "" {
		c.src = newListSource(strings.Split(*script, ";"), stdin)
	} else if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.src = newTTYSource(f, stdout)
	} else {
		c.src = newBatchSource(stdin)
	}
	// ftp(1): verbose by default on a terminal.
	c.verbose = *verbose || c.src.interactive()
	return c.main(fs.Args())
}

// main opens the host of the command line, if any, and runs the command
// loop; it returns the exit status.
func (c *ftpClient) main(target []string) int {
	defer c.disconnect()
	if len(target) > 0 {
		if err := c.runCommand("open", target); err != nil {
			c.fail(err)
			if !c.src.interactive() {
				return 1
			}
		}
	}
	for !c.quit {
		line, err := c.src.readLine("ftp> ")
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.fail(err)
				return 1
			}
			break
		}
		if !c.execLine(line) && !c.src.interactive() {
			return 1
		}
	}
	return 0
}

// execLine runs one command line and reports whether it succeeded; a
// failure of a line prefixed with "-" counts as success.
func (c *ftpClient) execLine(line string) bool {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return true
	}
	ignore := false
	if rest, ok := strings.CutPrefix(line, "-"); ok {
		ignore, line = true, strings.TrimSpace(rest)
	}
	name, args, err := splitCommandLine(line)
	if err == nil {
		err = c.runCommand(name, args)
	}
	if err != nil {
		c.fail(err)
		return ignore
	}
	return true
}

// runCommand looks name up in the command table, checks its arguments
// and runs it, with a context that an interrupt (on a terminal) ends.
func (c *ftpClient) runCommand(name string, args []string) error {
	cmd := lookupClientCommand(name)
	if cmd == nil {
		return fmt.Errorf("invalid command %q (try help)", name)
	}
	if len(args) < cmd.minArgs || (cmd.maxArgs >= 0 && len(args) > cmd.maxArgs) {
		return fmt.Errorf("usage: %s %s", cmd.name, cmd.usage)
	}
	if cmd.needConn && c.conn == nil {
		return errors.New("not connected (use open host [port])")
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if c.src.interactive() {
		var cancel context.CancelFunc
		ctx, cancel = signal.NotifyContext(ctx, os.Interrupt)
		defer cancel()
	}
	err := cmd.run(c, ctx, args)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted", cmd.name)
	}
	return err
}

// fail reports a command's error. Server text in it is sanitised by
// ftpclient. On a terminal under verbose, a refusal whose reply was just
// shown is not repeated.
func (c *ftpClient) fail(err error) {
	var ferr *ftpclient.Error
	if c.verbose && c.src.interactive() && errors.As(err, &ferr) && err == error(ferr) {
		return
	}
	fmt.Fprintln(c.errOut, err)
}

// printf writes a message to the output.
func (c *ftpClient) printf(format string, args ...any) { fmt.Fprintf(c.out, format, args...) }

// showCommand is ftpclient's OnCommand: under debug, each line sent.
func (c *ftpClient) showCommand(line string) {
	if c.debug {
		c.printf("---> %s\n", line)
	}
}

// showReply is ftpclient's OnReply: under verbose, each reply.
func (c *ftpClient) showReply(rep ftpclient.Reply) {
	if c.verbose && !c.silent {
		c.printReply(rep)
	}
}

// printReply writes a reply as the server sent it, control bytes
// replaced.
func (c *ftpClient) printReply(rep ftpclient.Reply) {
	n := len(rep.Lines)
	for i, l := range rep.Lines {
		l = cleanText(l)
		switch {
		case n == 1 || i == n-1:
			c.printf("%d %s\n", rep.Code, l)
		case i == 0:
			c.printf("%d-%s\n", rep.Code, l)
		default:
			c.printf("%s\n", l)
		}
	}
}

// quietReply prints rep unless verbose already did: for the commands
// whose answer is the reply (quote, site, rhelp, rstatus, system).
func (c *ftpClient) quietReply(rep ftpclient.Reply) {
	if !c.verbose {
		c.printReply(rep)
	}
}

// cleanText replaces control bytes in server text, so that a hostile
// server cannot drive the terminal.
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// expect sends a command and returns an error unless its reply has the
// class of want (2 for any 2xx) or the code want; want 0 takes any
// reply (an error is then a failed connection).
func (c *ftpClient) expect(want int, verb string, args ...string) (ftpclient.Reply, error) {
	rep, err := c.conn.Cmd(verb, args...)
	if err != nil {
		c.lost(err)
		return rep, err
	}
	if (want > 0 && want < 10 && rep.Class() != want) || (want >= 100 && rep.Code != want) {
		return rep, &ftpclient.Error{Cmd: verb, Reply: rep}
	}
	return rep, nil
}

// lost checks the control connection after an error that is not a
// server's refusal (a network error, a timeout): when NOOP fails too,
// the connection is dropped.
func (c *ftpClient) lost(err error) {
	var ferr *ftpclient.Error
	if c.conn == nil || errors.As(err, &ferr) || errors.Is(err, ftpclient.ErrBadArgument) {
		return
	}
	c.silent = true
	rep, nerr := c.conn.Cmd("NOOP")
	c.silent = false
	if nerr == nil && rep.Class() == 2 {
		return
	}
	c.printf("Lost connection to %s.\n", c.host)
	c.conn.Close()
	c.conn, c.loggedIn, c.user = nil, false, ""
}

// disconnect sends QUIT and forgets the connection.
func (c *ftpClient) disconnect() {
	if c.conn == nil {
		return
	}
	c.conn.Quit()
	c.conn, c.loggedIn, c.user = nil, false, ""
}

// onOff reads an optional "on" or "off" argument of a toggle; without
// one the setting flips.
func onOff(cur bool, args []string) (bool, error) {
	if len(args) == 0 {
		return !cur, nil
	}
	switch strings.ToLower(args[0]) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return cur, fmt.Errorf("want on or off, not %q", args[0])
}

// splitCommandLine splits a command line into the command and its
// arguments: "!" and "$" stand alone even when not followed by a space,
// double or single quotes group, a backslash escapes the next byte.
func splitCommandLine(line string) (string, []string, error) {
	if rest, ok := strings.CutPrefix(line, "!"); ok {
		if rest = strings.TrimSpace(rest); rest == "" {
			return "!", nil, nil
		}
		return "!", []string{rest}, nil // the shell splits it
	}
	if rest, ok := strings.CutPrefix(line, "$"); ok {
		line = "$ " + rest
	}
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(line); i++ {
		b := line[i]
		switch {
		case quote != 0 && b == quote:
			quote = 0
		case quote == 0 && (b == '"' || b == '\''):
			quote, inWord = b, true
		case b == '\\' && quote != '\'' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case quote == 0 && (b == ' ' || b == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(b)
			inWord = true
		}
	}
	if quote != 0 {
		return "", nil, errors.New("unmatched quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return "", nil, errors.New("empty command")
	}
	return words[0], words[1:], nil
}
