package main

// ftpsgw doctor: check an FTPS endpoint from where it runs, one line per
// check (✓ passed, ✗ failed with a fix in plain words, – skipped), or
// JSON for monitoring; exit 1 on any ✗. The checks are in
// doctor_checks.go, the protocol in gateway/ftpclient.

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// doctorOpts is the parsed command line.
type doctorOpts struct {
	target      string // the URL as given, without a password
	user        string
	host        string
	addr        string // host:port
	dir         string // the URL's path: where the round trip runs
	roots       *x509.CertPool
	expectLo    int // 0: no -expect-range
	expectHi    int
	scan        int
	noReuse     bool
	password    string
	hasPassword bool
	timeout     time.Duration
}

// checkStatus is a check's outcome.
type checkStatus string

const (
	statusPass checkStatus = "pass"
	statusFail checkStatus = "fail"
	statusSkip checkStatus = "skip"
)

// checkResult is one line of the report.
type checkResult struct {
	Name   string      `json:"name"`
	Status checkStatus `json:"status"`
	Detail string      `json:"detail,omitempty"`
	Fix    string      `json:"fix,omitempty"`
}

// doctorReport is the whole report, as -json prints it.
type doctorReport struct {
	Target string        `json:"target"`
	OK     bool          `json:"ok"`
	Checks []checkResult `json:"checks"`
}

// maxDoctorScan bounds -scan-passive.
const maxDoctorScan = 1000

func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	ca := fs.String("ca", "", "PEM file of the CA certificates to trust instead of the system roots")
	expect := fs.String("expect-range", "", "passive ports the firewall opens, A-B")
	scan := fs.Int("scan-passive", 0, "connect to N passive ports, rate-limited")
	noReuse := fs.Bool("no-reuse-check", false, "skip the data-channel binding check")
	pwFile := fs.String("password-file", "", "file holding the password (else $FTPS_PASSWORD)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on each network operation")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usage(stderr, "doctor help")
		}
		return usage(stderr, "doctor: "+err.Error())
	}
	if fs.NArg() != 1 {
		return usage(stderr, "doctor: want one ftps://USER@HOST:PORT after the flags")
	}
	o, err := parseDoctorURL(fs.Arg(0))
	if err == nil {
		err = o.setFlags(*ca, *expect, *scan, *pwFile, *timeout)
	}
	if err != nil {
		return usage(stderr, "doctor: "+err.Error())
	}
	o.noReuse = *noReuse
	rep := runDoctor(o)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printDoctorReport(stdout, rep)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

// parseDoctorURL reads ftps://USER@HOST[:PORT][/DIR].
func parseDoctorURL(s string) (*doctorOpts, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.New("the target is not a URL")
	}
	if u.Scheme != "ftps" {
		return nil, fmt.Errorf("target %q: want ftps://USER@HOST:PORT", u.Redacted())
	}
	if _, has := u.User.Password(); has {
		return nil, errors.New("put the password in -password-file or $FTPS_PASSWORD, not in the URL")
	}
	if u.User.Username() == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("target %q: want ftps://USER@HOST:PORT", s)
	}
	port := u.Port()
	if port == "" {
		port = "21"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("target %q: bad port", s)
	}
	return &doctorOpts{target: s, user: u.User.Username(), host: u.Hostname(),
		addr: net.JoinHostPort(u.Hostname(), port), dir: u.Path}, nil
}

// setFlags validates and stores the flags' values.
func (o *doctorOpts) setFlags(ca, expect string, scan int, pwFile string, timeout time.Duration) error {
	if ca != "" {
		pool, err := loadCertPool(ca)
		if err != nil {
			return fmt.Errorf("-ca: %w", err)
		}
		o.roots = pool
	}
	if expect != "" {
		a, b, ok := strings.Cut(expect, "-")
		lo, err1 := strconv.Atoi(strings.TrimSpace(a))
		hi, err2 := strconv.Atoi(strings.TrimSpace(b))
		if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
			return fmt.Errorf("-expect-range %q: want A-B, 1 <= A <= B <= 65535", expect)
		}
		o.expectLo, o.expectHi = lo, hi
	}
	if scan < 0 || scan > maxDoctorScan {
		return fmt.Errorf("-scan-passive %d: want 0-%d", scan, maxDoctorScan)
	}
	if timeout <= 0 {
		return errors.New("-timeout must be positive")
	}
	o.scan, o.timeout = scan, timeout
	return o.readPassword(pwFile)
}

// readPassword takes the first line of pwFile, else $FTPS_PASSWORD.
func (o *doctorOpts) readPassword(pwFile string) error {
	if pwFile == "" {
		o.password, o.hasPassword = os.LookupEnv("FTPS_PASSWORD")
		o.hasPassword = o.hasPassword && o.password != ""
		return nil
	}
	f, err := os.Open(pwFile)
	if err != nil {
		return fmt.Errorf("-password-file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, maxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("-password-file: %w", err)
	}
	pw, err := checkPassword(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
	if err != nil {
		return fmt.Errorf("-password-file %s: %w", pwFile, err)
	}
	o.password, o.hasPassword = pw, true
	return nil
}

// printDoctorReport writes the report for a person.
func printDoctorReport(w io.Writer, rep doctorReport) {
	fmt.Fprintf(w, "ftpsgw doctor %s\n", rep.Target)
	for _, c := range rep.Checks {
		mark := map[checkStatus]string{statusPass: "✓", statusFail: "✗", statusSkip: "–"}[c.Status]
		fmt.Fprintf(w, "%s %-22s %s\n", mark, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", c.Fix)
		}
	}
	fails := 0
	for _, c := range rep.Checks {
		if c.Status == statusFail {
			fails++
		}
	}
	if fails == 0 {
		fmt.Fprintln(w, "all checks passed")
		return
	}
	fmt.Fprintf(w, "%d check(s) failed\n", fails)
}
