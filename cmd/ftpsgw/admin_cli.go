package main

// admin_cli.go: ftpsgw admin sessions|kick ID|bans|unban ADDR|reload|drain|backends

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/admin"
)

const adminUsage = `usage: ftpsgw admin sessions|kick ID|bans|unban ADDR|reload|drain|backends [flags]
  -addr HOST:PORT     admin listener (default 127.0.0.1:9122)
  -token-file FILE    file holding the bearer token (default: $FTPSGW_ADMIN_TOKEN)
  -tls                use https (-ca-file FILE to trust a private CA)
  -cert FILE -key FILE  a client certificate (mutual TLS, admin.client_ca_file); no token needed
  -json               print the API's JSON instead of a table
`

type adminCall struct {
	method, path string
	arg          bool // takes one positional argument
	print        func(w io.Writer, body []byte) error
}

var adminCalls = map[string]adminCall{
	"sessions": {http.MethodGet, "/api/v1/sessions", false, printSessions},
	"kick":     {http.MethodDelete, "/api/v1/sessions/", true, printKV},
	"bans":     {http.MethodGet, "/api/v1/bans", false, printBans},
	"unban":    {http.MethodDelete, "/api/v1/bans/", true, printKV},
	"reload":   {http.MethodPost, "/api/v1/reload", false, printReload},
	"drain":    {http.MethodPost, "/api/v1/drain", false, printKV},
	"backends": {http.MethodGet, "/api/v1/backends", false, printBackends},
}

func cmdAdmin(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	call, ok := adminCalls[args[0]]
	if !ok {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9122", "")
	tokenFile := fs.String("token-file", "", "")
	useTLS := fs.Bool("tls", false, "")
	caFile := fs.String("ca-file", "", "")
	asJSON := fs.Bool("json", false, "")
	certFile := fs.String("cert", "", "")
	keyFile := fs.String("key", "", "")
	rest := args[1:]
	var pos []string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		pos, rest = rest[:1], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	pos = append(pos, fs.Args()...)
	if call.arg != (len(pos) == 1) || len(pos) > 1 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	if (*certFile == "") != (*keyFile == "") {
		fmt.Fprintln(stderr, "ftpsgw admin: -cert and -key go together")
		return 2
	}
	tok, err := adminToken(*tokenFile)
	if err != nil && *certFile == "" {
		fmt.Fprintf(stderr, "ftpsgw admin: %v\n", err)
		return 1
	}
	https := *useTLS || *caFile != "" || *certFile != ""
	client, err := adminClient(https, *caFile, *certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw admin: %v\n", err)
		return 1
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	u := scheme + "://" + *addr + call.path
	if call.arg {
		u += url.PathEscape(pos[0])
	}
	req, _ := http.NewRequest(call.method, u, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw admin: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		fmt.Fprintf(stderr, "ftpsgw admin: %v\n", err)
		return 1
	}
	if *asJSON {
		stdout.Write(body)
	} else if resp.StatusCode/100 == 2 || args[0] == "reload" {
		if err := call.print(stdout, body); err != nil {
			fmt.Fprintf(stderr, "ftpsgw admin: bad response: %v\n", err)
			return 1
		}
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		fmt.Fprintf(stderr, "ftpsgw admin: %s (HTTP %d)\n", e.Error, resp.StatusCode)
		return 1
	}
	return 0
}

func adminToken(file string) (string, error) {
	if file == "" {
		if t := os.Getenv("FTPSGW_ADMIN_TOKEN"); t != "" {
			return t, nil
		}
		return "", errors.New("no token: pass -token-file FILE or set FTPSGW_ADMIN_TOKEN")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func adminClient(useTLS bool, caFile, certFile, keyFile string) (*http.Client, error) {
	c := &http.Client{Timeout: 60 * time.Second}
	if !useTLS {
		return c, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := loadCertPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		conf.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	c.Transport = &http.Transport{TLSClientConfig: conf}
	return c, nil
}

// loadCertPool reads a PEM bundle of CA certificates.
func loadCertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

func table(w io.Writer, head string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func printSessions(w io.Writer, body []byte) error {
	var v struct{ Sessions []gateway.SessionInfo }
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	var rows [][]string
	for _, s := range v.Sessions {
		xfer := "-"
		if x := s.Transfer; x != nil {
			xfer = fmt.Sprintf("%s %s %d B %.0f B/s", x.Direction, x.Path, x.Bytes, x.BytesPerSec)
		}
		rows = append(rows, []string{s.ID, dash(s.User), s.Client, dash(s.TLSVersion), dash(s.Cwd),
			dash(s.LastCommand), fmt.Sprintf("%.0fs", s.IdleSeconds), xfer})
	}
	table(w, "ID\tUSER\tCLIENT\tTLS\tCWD\tLAST\tIDLE\tTRANSFER", rows)
	return nil
}

func printBans(w io.Writer, body []byte) error {
	var v struct{ Bans []admin.Ban }
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	var rows [][]string
	for _, b := range v.Bans {
		rows = append(rows, []string{b.Client, b.Until.Format(time.RFC3339), fmt.Sprint(b.Offences)})
	}
	table(w, "CLIENT\tUNTIL\tOFFENCES", rows)
	return nil
}

func printBackends(w io.Writer, body []byte) error {
	var v struct{ Backends []admin.BackendHealth }
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	var rows [][]string
	for _, b := range v.Backends {
		st := "ok"
		if !b.OK {
			st = b.Error
		}
		rows = append(rows, []string{b.Name, st})
	}
	table(w, "BACKEND\tHEALTH", rows)
	return nil
}

func printReload(w io.Writer, body []byte) error {
	var v admin.ReloadResult
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	if v.OK {
		fmt.Fprintln(w, "config reloaded")
		return nil
	}
	for _, p := range v.Problems {
		fmt.Fprintln(w, p)
	}
	return nil
}

func printKV(w io.Writer, body []byte) error {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	var b bytes.Buffer
	for k, x := range v {
		fmt.Fprintf(&b, "%s: %v\n", k, x)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
