// Command ftpsgw is a hardened FTPS gateway: it speaks explicit (and
// optionally implicit) FTPS to ordinary FTP clients, decides per user what
// each command may touch, and serves sessions from a backend.
//
// Subcommands:
//
//	ftpsgw serve [-config FILE]         run the gateway (default ./ftpsgw.hcl)
//	ftpsgw check-config -config FILE [-offline]   validate, probe the backends, print every problem as file:line: message
//	ftpsgw hash-password                read a password on stdin, print its argon2id hash
//	ftpsgw explain -config FILE -user NAME -op OPERATION -path /virtual/path [-from IP]
//	ftpsgw doctor [flags] ftps://USER@HOST:PORT   check an FTPS endpoint from outside
//	ftpsgw client [-v] [-d] [-i] [-n] [-g] [-ca FILE] [host [port]]   the ftp(1) command set over FTPS
//	ftpsgw version
//
// SIGHUP re-reads the config file (users, groups, rules, limits, defender,
// certificates, transfer log); SIGTERM and SIGINT drain the sessions for up
// to server.drain_timeout and exit.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/ftpsgw/ftpsgw/policy"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usageText = `usage:
  ftpsgw serve [-config FILE]          run the gateway (default FILE: ./ftpsgw.hcl)
  ftpsgw check-config -config FILE [-offline]   validate FILE, probe each backend (not with -offline), print every problem as file:line: message
  ftpsgw hash-password                 read a password on stdin (no echo on a TTY), print its argon2id hash
  ftpsgw explain -config FILE -user NAME -op OPERATION -path /virtual/path [-from IP]
                                       show the policy decision for one operation
  ftpsgw admin sessions|kick ID|bans|unban ADDR|reload|drain|backends [-addr HOST:PORT] [-token-file FILE] [-json]
                                       query or act through the admin API
  ftpsgw doctor [-ca FILE] [-expect-range A-B] [-scan-passive N] [-no-reuse-check] [-password-file FILE] [-json] [-timeout D] ftps://USER@HOST:PORT
                                       check an FTPS endpoint from here (password from -password-file or $FTPS_PASSWORD)
  ftpsgw client [-v] [-d] [-i] [-n] [-g] [-ca FILE] [-fingerprint SHA256] [-implicit] [-c 'CMD; CMD'] [host [port]]
                                       the ftp(1) command set over FTPS (commands from a terminal, stdin or -c)
  ftpsgw version                       print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status: 0 success,
// 1 failure, 2 bad usage.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stderr)
	case "check-config":
		return cmdCheckConfig(args[1:], stdout, stderr)
	case "hash-password":
		return cmdHashPassword(args[1:], stdin, stdout, stderr)
	case "explain":
		return cmdExplain(args[1:], stdout, stderr)
	case "admin": // admin_cli.go
		return cmdAdmin(args[1:], stdout, stderr)
	case "doctor": // doctor.go
		return cmdDoctor(args[1:], stdout, stderr)
	case "client": // client.go
		return cmdClient(args[1:], stdin, stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 {
			return usage(stderr, "version takes no arguments")
		}
		fmt.Fprintf(stdout, "ftpsgw %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	}
	return usage(stderr, fmt.Sprintf("unknown command %q", args[0]))
}

// usage reports a command-line mistake and returns exit status 2.
func usage(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "ftpsgw: %s\n%s", msg, usageText)
	return 2
}

// parseFlags parses a subcommand's flags; it reports mistakes (including
// stray arguments) itself and returns false for them.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) bool {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stderr, fs.Name()+" help")
			return false
		}
		usage(stderr, fs.Name()+": "+err.Error())
		return false
	}
	if fs.NArg() > 0 {
		usage(stderr, fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)))
		return false
	}
	return true
}

func cmdServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "./ftpsgw.hcl", "config file")
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	s, probs := loadConfig(*path)
	if probs.errors() > 0 {
		probs.print(stderr)
		fmt.Fprintf(stderr, "ftpsgw: %s: %d problem(s), not starting\n", *path, probs.errors())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, s, probs, stderr); err != nil {
		fmt.Fprintf(stderr, "ftpsgw: %v\n", err)
		return 1
	}
	return 0
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	path := fs.String("config", "", "config file")
	offline := fs.Bool("offline", false, "do not open and probe the backends")
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	if *path == "" {
		return usage(stderr, "check-config: -config FILE is required")
	}
	s, probs := loadConfig(*path)
	if !*offline {
		probeBackends(context.Background(), s, probs) // checkconfig.go
	}
	probs.print(stdout)
	if n := probs.errors(); n > 0 {
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", *path, n)
		return 1
	}
	fmt.Fprintln(stdout, "config ok")
	return 0
}

// maxPasswordLen bounds what hash-password reads.
const maxPasswordLen = 1024

func cmdHashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw: hash-password: %v\n", err)
		return 1
	}
	h, err := hashPassword(pw)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw: hash-password: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

// readPassword reads one password: from a terminal without echo, asked
// twice; otherwise the first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords do not match")
		}
		return checkPassword(string(a))
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordLen+2), maxPasswordLen+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	if err != nil && len(line) > maxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLen)
	}
	return checkPassword(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
}

func checkPassword(pw string) (string, error) {
	switch {
	case pw == "":
		return "", errors.New("empty password")
	case len(pw) > maxPasswordLen:
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLen)
	}
	return pw, nil
}

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	path := fs.String("config", "", "config file")
	user := fs.String("user", "", "user name")
	op := fs.String("op", "", "operation: one of "+strings.Join(policy.PermNames(), ", "))
	vpath := fs.String("path", "", "virtual path as the user sees it")
	from := fs.String("from", "", "client IP address")
	if !parseFlags(fs, args, stderr) {
		return 2
	}
	if *path == "" || *user == "" || *op == "" || *vpath == "" {
		return usage(stderr, "explain: -config, -user, -op and -path are required")
	}
	perm, err := policy.ParsePerms([]string{*op})
	if err != nil || *op == "*" {
		return usage(stderr, fmt.Sprintf("explain: -op %q: want one of %s", *op, strings.Join(policy.PermNames(), ", ")))
	}
	var client netip.Addr
	if *from != "" {
		if client, err = netip.ParseAddr(*from); err != nil {
			return usage(stderr, fmt.Sprintf("explain: -from %q is not an IP address", *from))
		}
	}
	if !strings.HasPrefix(*vpath, "/") {
		return usage(stderr, fmt.Sprintf("explain: -path %q must start with /", *vpath))
	}
	s, probs := loadPolicyOnly(*path)
	if probs.errors() > 0 {
		probs.print(stderr)
		return 1
	}
	out, err := explain(s, *user, perm, *vpath, client.Unmap())
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw: explain: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}
