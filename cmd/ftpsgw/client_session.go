package main

// Connection and identity: the TLS configuration (system roots, -ca,
// or a -fingerprint pin), open, the login sequence with ~/.netrc,
// user, account, close and bye.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"slices"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// clientTLSConfig builds the verification the command line asks for,
// and says it in words for status.
func clientTLSConfig(caFile, pin string) (*tls.Config, string, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	how := "system roots"
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, "", fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, "", fmt.Errorf("-ca %s: no PEM certificate in it", caFile)
		}
		conf.RootCAs, how = pool, "CA file "+caFile
	}
	if pin == "" {
		return conf, how, nil
	}
	want, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(pin), ":", ""))
	if err != nil || len(want) != sha256.Size {
		return nil, "", errors.New("-fingerprint: want the SHA-256 of the certificate in hex (64 digits, colons allowed)")
	}
	roots := conf.RootCAs
	// The pin replaces the chain check (a pinned self-signed certificate
	// has none), unless -ca is given too. VerifyConnection also runs on
	// resumed data connections.
	conf.InsecureSkipVerify = true
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		got := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if subtle.ConstantTimeCompare(got[:], want) != 1 {
			return fmt.Errorf("certificate fingerprint %x does not match -fingerprint", got)
		}
		if roots == nil {
			return nil
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName})
		return err
	}
	if roots != nil {
		how += " and pinned fingerprint"
	} else {
		how = "pinned fingerprint"
	}
	return conf, how, nil
}

func (c *ftpClient) cmdOpen(ctx context.Context, args []string) error {
	if c.conn != nil {
		return fmt.Errorf("already connected to %s, use close first", c.host)
	}
	port := "21"
	if c.implicit {
		port = "990"
	}
	if len(args) > 1 {
		port = args[1]
	}
	host := strings.TrimSuffix(strings.TrimPrefix(args[0], "["), "]")
	addr := net.JoinHostPort(host, port)
	conn, err := ftpclient.Dial(ctx, addr, ftpclient.Config{TLS: c.tls, Timeout: c.timeout, Implicit: c.implicit,
		OnCommand: c.showCommand, OnReply: c.showReply})
	if err != nil {
		return fmt.Errorf("open %s: %w", addr, err)
	}
	if !c.implicit {
		if err := conn.AuthTLS(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("open %s: %w", addr, err)
		}
	}
	c.conn, c.host, c.addr = conn, host, addr
	if c.verbose {
		c.printf("Connected to %s.\n", host)
		if cs, ok := conn.TLSState(); ok {
			c.printf("TLS %s, %s, certificate verified (%s).\n", tlsVersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), c.verified)
		}
	}
	if !c.autoLogin {
		return nil
	}
	return c.autoLoginNetrc(ctx)
}

// tlsVersionName names a TLS version as "1.3".
func tlsVersionName(v uint16) string {
	return strings.TrimPrefix(tls.VersionName(v), "TLS ")
}

// autoLoginNetrc logs in with the ~/.netrc entry of the host; without
// one, it asks on a terminal and leaves a script to use user.
func (c *ftpClient) autoLoginNetrc(ctx context.Context) error {
	entries, err := readNetrc(c.home)
	if err != nil {
		return err
	}
	if e := lookupNetrc(entries, c.host); e != nil && e.login != "" {
		for name, body := range e.macros {
			c.macros[name] = body
		}
		if err := c.login(e.login, e.password, e.account); err != nil {
			return err
		}
		if _, ok := c.macros["init"]; ok {
			return c.runMacro(ctx, "init", nil)
		}
		return nil
	}
	if !c.src.interactive() {
		if c.debug {
			c.printf("no ~/.netrc entry for %s: not logged in (use user)\n", c.host)
		}
		return nil
	}
	def := ""
	if u, err := user.Current(); err == nil {
		def = u.Username
	}
	name, err := c.src.readLine(fmt.Sprintf("Name (%s:%s): ", c.host, def))
	if err != nil {
		return err
	}
	if name = strings.TrimSpace(name); name == "" {
		name = def
	}
	return c.login(name, "", "")
}

// login runs USER, PASS (asked when needed and not given) and ACCT
// (when the server asks for one), then PBSZ 0, PROT P and the transfer
// type.
func (c *ftpClient) login(name, password, account string) error {
	rep, err := c.expect(0, "USER", name)
	if err != nil {
		return err
	}
	if rep.Code == 331 {
		if password == "" {
			if password, err = c.src.readPassword("Password:"); err != nil {
				return fmt.Errorf("login: password: %w", err)
			}
		}
		if rep, err = c.expect(0, "PASS", password); err != nil {
			return err
		}
	}
	if rep.Code == 332 {
		if account == "" {
			if account, err = c.src.readPassword("Account:"); err != nil {
				return fmt.Errorf("login: account: %w", err)
			}
		}
		if rep, err = c.expect(0, "ACCT", account); err != nil {
			return err
		}
	}
	if rep.Code != 230 && rep.Code != 202 {
		return fmt.Errorf("login failed: %s", cleanText(rep.String()))
	}
	c.loggedIn, c.user = true, name
	if err := c.conn.Prot("P"); err != nil {
		return fmt.Errorf("data protection: %w", err)
	}
	return c.setType(c.typeName)
}

func (c *ftpClient) cmdUser(ctx context.Context, args []string) error {
	var pw, acct string
	if len(args) > 1 {
		pw = args[1]
	}
	if len(args) > 2 {
		acct = args[2]
	}
	return c.login(args[0], pw, acct)
}

func (c *ftpClient) cmdAccount(ctx context.Context, args []string) error {
	acct := ""
	if len(args) > 0 {
		acct = args[0]
	} else {
		var err error
		if acct, err = c.src.readPassword("Account:"); err != nil {
			return fmt.Errorf("account: %w", err)
		}
	}
	_, err := c.expect(2, "ACCT", acct)
	return err
}

func (c *ftpClient) cmdClose(ctx context.Context, args []string) error {
	c.disconnect()
	return nil
}

func (c *ftpClient) cmdBye(ctx context.Context, args []string) error {
	c.disconnect()
	c.quit = true
	return nil
}

func (c *ftpClient) cmdProxy(ctx context.Context, args []string) error {
	return errors.New("proxy: not supported: it drives a second server for a server-to-server (FXP) copy, " +
		"which hardened FTPS servers, ftpsgw included, refuse by design (the data connection must come " +
		"from the client's own address and resume its TLS session); get the file, then put it")
}

func (c *ftpClient) cmdStatus(ctx context.Context, args []string) error {
	if c.conn == nil {
		c.printf("Not connected.\n")
	} else {
		c.printf("Connected to %s (%s).\n", c.host, c.addr)
		if cs, ok := c.conn.TLSState(); ok {
			c.printf("TLS %s, %s, certificate verified (%s); data protection private.\n",
				tlsVersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), c.verified)
		}
		if c.loggedIn {
			c.printf("Logged in as %s.\n", c.user)
		} else {
			c.printf("Not logged in.\n")
		}
		if c.lastData != "" {
			c.printf("Last data connection: %s.\n", c.lastData)
		}
	}
	mode := "passive (EPSV, PASV)"
	if !c.passive {
		mode = "active (EPRT, PORT)"
	}
	c.printf("Mode: stream; Type: %s; Form: non-print; Structure: file; Data connections: %s.\n", c.typeName, mode)
	c.printf("Verbose: %s; Bell: %s; Prompting: %s; Globbing: %s.\n", on(c.verbose), on(c.bell), on(c.prompt), on(c.glob))
	c.printf("Store unique: %s; Receive unique: %s; Case: %s; CR stripping: %s.\n", on(c.sunique), on(c.runique), on(c.caseMap), on(c.crStrip))
	c.printf("Nmap: off; Ntrans: off.\n")
	c.printf("Hash mark printing: %s; Tick counter printing: %s; Debugging: %s; Packet tracing: %s.\n", on(c.hash), on(c.tick), on(c.debug), on(c.trace))
	if c.restart > 0 {
		c.printf("Restart marker: %d.\n", c.restart)
	}
	names := make([]string, 0, len(c.macros))
	for n := range c.macros {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) > 0 {
		c.printf("Macros: %s.\n", strings.Join(names, " "))
	}
	return nil
}

// on is "on" or "off".
func on(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
