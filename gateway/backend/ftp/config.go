package ftp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Defaults for the optional keys.
const (
	DefaultRoot           = "/"
	DefaultTLS            = TLSExplicit
	DefaultCredentials    = CredentialsService
	DefaultMaxConnections = 64
	DefaultKeepalive      = "60s"
	DefaultOpTimeout      = "30s"
)

// The values of the tls key.
const (
	TLSNone     = "none"
	TLSExplicit = "explicit"
	TLSImplicit = "implicit"
)

// The values of the credentials key.
const (
	CredentialsService     = "service"
	CredentialsPassthrough = "passthrough"
)

func init() {
	backend.Register(backend.Type{
		Name:      "ftp",
		NewConfig: func() backend.Config { return NewConfig() },
	})
}

// Config is one `backend "ftp" "NAME" { }` block. NewConfig fills in the
// defaults; the loader decodes the block over them.
type Config struct {
	// Address is the upstream server's HOST:PORT.
	Address string `hcl:"address"`
	// User is the service account (credentials = "service" only).
	User string `hcl:"user,optional"`
	// PasswordFile holds the service account's password (trailing
	// newline ignored); it must not be readable by group or others.
	PasswordFile string `hcl:"password_file,optional"`
	// Root is the absolute directory on the upstream under which homes
	// live.
	Root string `hcl:"root,optional"`
	// TLS is "explicit" (AUTH TLS, the default), "implicit" (TLS from the
	// first byte) or "none" (everything in clear, passwords included).
	TLS string `hcl:"tls,optional"`
	// CAFile holds the PEM certificates the upstream's certificate must
	// chain to; without it and without Fingerprint the system roots are
	// used.
	CAFile string `hcl:"ca_file,optional"`
	// Fingerprint pins the SHA-256 of the upstream's certificate, as
	// "SHA256:" followed by hex (colons allowed) or unpadded base64.
	Fingerprint string `hcl:"fingerprint,optional"`
	// Credentials is "service" (one account for every session) or
	// "passthrough" (each session logs in upstream as its own user).
	Credentials string `hcl:"credentials,optional"`
	// MaxConnections caps this backend's upstream control connections.
	MaxConnections int `hcl:"max_connections,optional"`
	// Keepalive is the NOOP interval on a session's idle connection; "0s"
	// turns it off.
	Keepalive string `hcl:"keepalive,optional"`
	// OpTimeout bounds each exchange with the upstream and each stall of
	// a transfer; it must be positive.
	OpTimeout string `hcl:"op_timeout,optional"`
}

var _ backend.PasswordChecker = (*Config)(nil)

// ChecksPasswords implements backend.PasswordChecker: the Opener logs in
// upstream with the user's name and password (Authenticate).
func (*Config) ChecksPasswords() {}

// NewConfig returns a Config holding the defaults.
func NewConfig() *Config {
	return &Config{
		Root:           DefaultRoot,
		TLS:            DefaultTLS,
		Credentials:    DefaultCredentials,
		MaxConnections: DefaultMaxConnections,
		Keepalive:      DefaultKeepalive,
		OpTimeout:      DefaultOpTimeout,
	}
}

// Validate implements backend.Config. It reads the CA file but does no
// network I/O.
func (c *Config) Validate(r backend.Reporter) {
	if err := checkAddress(c.Address); err != nil {
		r.Errorf("address", "%v", err)
	}
	c.validateCredentials(r)
	if !path.IsAbs(c.Root) || path.Clean(c.Root) != c.Root || hasCRLF(c.Root) {
		r.Errorf("root", "root %q must be a clean absolute path", c.Root)
	}
	c.validateTLS(r)
	if c.MaxConnections < 1 {
		r.Errorf("max_connections", "max_connections must be at least 1")
	}
	if d, err := time.ParseDuration(c.Keepalive); err != nil || d < 0 {
		r.Errorf("keepalive", "keepalive %q is not a duration of 0s or more", c.Keepalive)
	}
	if d, err := time.ParseDuration(c.OpTimeout); err != nil || d <= 0 {
		r.Errorf("op_timeout", "op_timeout %q is not a positive duration", c.OpTimeout)
	}
}

// checkAddress requires HOST:PORT with a port number.
func checkAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || hasCRLF(host) {
		return fmt.Errorf("address %q is not HOST:PORT", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q has no valid port number", addr)
	}
	return nil
}

func (c *Config) validateCredentials(r backend.Reporter) {
	switch c.Credentials {
	case CredentialsService:
		if c.User == "" || hasCRLF(c.User) {
			r.Errorf("user", "user must be set (without CR or LF) for credentials = %q", CredentialsService)
		}
		if c.PasswordFile == "" {
			r.Errorf("password_file", "password_file is required for credentials = %q", CredentialsService)
		} else {
			r.File("password_file", c.PasswordFile, true)
		}
	case CredentialsPassthrough:
		if c.User != "" || c.PasswordFile != "" {
			r.Errorf("credentials", "user and password_file are for credentials = %q; with %q each session logs in "+
				"upstream with its own name and password", CredentialsService, CredentialsPassthrough)
		}
	default:
		r.Errorf("credentials", "credentials %q: want %q or %q", c.Credentials, CredentialsService, CredentialsPassthrough)
	}
}

func (c *Config) validateTLS(r backend.Reporter) {
	switch c.TLS {
	case TLSExplicit, TLSImplicit:
	case TLSNone:
		who := "the service account's password"
		if c.Credentials == CredentialsPassthrough {
			who = "every user's password"
		}
		r.Warnf("tls", "tls = %q sends %s and all data in clear to %s; use it only on a network you trust", TLSNone, who, c.Address)
		if c.CAFile != "" || c.Fingerprint != "" {
			r.Errorf("tls", "ca_file and fingerprint need tls = %q or %q", TLSExplicit, TLSImplicit)
		}
	default:
		r.Errorf("tls", "tls %q: want %q, %q or %q", c.TLS, TLSExplicit, TLSImplicit, TLSNone)
	}
	if c.CAFile != "" {
		r.File("ca_file", c.CAFile, false)
		if _, err := loadPool(c.CAFile); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			r.Errorf("ca_file", "%v", err)
		}
	}
	if c.Fingerprint != "" {
		if _, err := parseFingerprint(c.Fingerprint); err != nil {
			r.Errorf("fingerprint", "%v", err)
		}
	}
}

// hasCRLF reports a CR or LF, which would end an FTP command early.
func hasCRLF(s string) bool { return strings.ContainsAny(s, "\r\n") }

// Open implements backend.Config: it reads the password and the TLS
// settings and returns the Opener. It does not connect; the caller
// probes.
func (c *Config) Open(ctx context.Context, name string, log hclog.Logger) (backend.Opener, error) {
	return c.open(name, log)
}

// open is Open with the concrete type, for the package's own tests.
func (c *Config) open(name string, log hclog.Logger) (*Opener, error) {
	st, err := c.settings()
	if err != nil {
		return nil, fmt.Errorf("ftp backend %s: %w", name, err)
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return newOpener(name, log, st), nil
}

// settings is a validated Config in the form the backend uses.
type settings struct {
	addr        string
	root        string
	mode        string // TLSNone, TLSExplicit, TLSImplicit
	tls         *tls.Config
	service     *backend.Credentials // nil with passthrough
	passthrough bool
	maxConns    int
	keepalive   time.Duration
	opTimeout   time.Duration
	// pasvNoted is set once a PASV reply named an address other than
	// the control connection's peer, so the log says it once.
	pasvNoted atomic.Bool
}

// settings converts c, reading the secret and CA files.
func (c *Config) settings() (*settings, error) {
	var problems []error
	c.Validate(collect{&problems})
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	st := &settings{addr: c.Address, root: c.Root, mode: c.TLS, maxConns: c.MaxConnections,
		passthrough: c.Credentials == CredentialsPassthrough}
	st.keepalive, _ = time.ParseDuration(c.Keepalive)
	st.opTimeout, _ = time.ParseDuration(c.OpTimeout)
	if !st.passthrough {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("password_file: %w", err)
		}
		pw := string(bytes.TrimRight(b, "\r\n"))
		if hasCRLF(pw) {
			return nil, errors.New("password_file: the password holds a CR or LF")
		}
		st.service = &backend.Credentials{User: c.User, Password: pw}
	}
	if c.TLS != TLSNone {
		conf, err := tlsConfig(c)
		if err != nil {
			return nil, err
		}
		st.tls = conf
	}
	return st, nil
}

// collect is a Reporter that keeps the errors (files are checked by
// reading them later).
type collect struct{ errs *[]error }

func (c collect) Errorf(key, format string, args ...any) {
	*c.errs = append(*c.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}
func (c collect) Warnf(string, string, ...any) {}
func (c collect) File(string, string, bool)    {}
