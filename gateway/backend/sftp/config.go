package sftp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Defaults for the optional keys.
const (
	DefaultRoot           = "/"
	DefaultMaxConnections = 64
	DefaultKeepalive      = "30s"
	DefaultOpTimeout      = "30s"
	DefaultConcurrency    = 64
	// maxConcurrency bounds the requests in flight per transfer (each
	// holds up to 32 KiB).
	maxConcurrency = 1024
)

func init() {
	backend.Register(backend.Type{
		Name:      "sftp",
		NewConfig: func() backend.Config { return NewConfig() },
	})
}

// Config is one `backend "sftp" "NAME" { }` block. NewConfig fills in the
// defaults; the loader decodes the block over them.
type Config struct {
	// Address is the server's HOST:PORT.
	Address string `hcl:"address"`
	// User is the SSH login name.
	User string `hcl:"user"`
	// PasswordFile holds the password (trailing newline ignored).
	PasswordFile string `hcl:"password_file,optional"`
	// PrivateKeyFile holds an unencrypted private key in OpenSSH or PEM
	// form. At least one of PasswordFile and PrivateKeyFile is required.
	PrivateKeyFile string `hcl:"private_key_file,optional"`
	// KnownHostsFile pins the server's host key; it is required.
	KnownHostsFile string `hcl:"known_hosts_file,optional"`
	// Root is the absolute directory on the server under which homes live.
	Root string `hcl:"root,optional"`
	// MaxConnections caps the SSH connections of this backend: one per
	// gateway session, plus one while a probe runs.
	MaxConnections int `hcl:"max_connections,optional"`
	// Keepalive is the interval of keepalive@openssh.com requests; "0s"
	// turns them off.
	Keepalive string `hcl:"keepalive,optional"`
	// OpTimeout bounds each request to the server, and each stall of a
	// transfer; it must be positive.
	OpTimeout string `hcl:"op_timeout,optional"`
	// Concurrency is the number of requests in flight per transfer.
	Concurrency int `hcl:"concurrency,optional"`
}

var _ backend.Config = (*Config)(nil)

// NewConfig returns a Config holding the defaults.
func NewConfig() *Config {
	return &Config{
		Root:           DefaultRoot,
		MaxConnections: DefaultMaxConnections,
		Keepalive:      DefaultKeepalive,
		OpTimeout:      DefaultOpTimeout,
		Concurrency:    DefaultConcurrency,
	}
}

// Validate implements backend.Config. It reads the key and known_hosts
// files but does no network I/O.
func (c *Config) Validate(r backend.Reporter) {
	if err := checkAddress(c.Address); err != nil {
		r.Errorf("address", "%v", err)
	}
	if c.User == "" {
		r.Errorf("user", "user must not be empty")
	}
	c.validateAuth(r)
	c.validateKnownHosts(r)
	if !path.IsAbs(c.Root) || path.Clean(c.Root) != c.Root {
		r.Errorf("root", "root %q must be a clean absolute path", c.Root)
	}
	if c.MaxConnections < 1 {
		r.Errorf("max_connections", "max_connections must be at least 1")
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		r.Errorf("concurrency", "concurrency must be between 1 and %d", maxConcurrency)
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
	if err != nil || host == "" {
		return fmt.Errorf("address %q is not HOST:PORT", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("address %q has no valid port number", addr)
	}
	return nil
}

func (c *Config) validateAuth(r backend.Reporter) {
	if c.PasswordFile == "" && c.PrivateKeyFile == "" {
		r.Errorf("private_key_file", "set private_key_file or password_file (or both)")
	}
	if c.PasswordFile != "" {
		r.File("password_file", c.PasswordFile, true)
	}
	if c.PrivateKeyFile != "" {
		r.File("private_key_file", c.PrivateKeyFile, true)
		if _, err := loadSigner(c.PrivateKeyFile); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			r.Errorf("private_key_file", "%v", err)
		}
	}
}

func (c *Config) validateKnownHosts(r backend.Reporter) {
	if c.KnownHostsFile == "" {
		r.Errorf("known_hosts_file", "known_hosts_file is required: host key pinning is mandatory "+
			"(fetch the key with ssh-keyscan, compare its fingerprint with the server's, and save the line)")
		return
	}
	r.File("known_hosts_file", c.KnownHostsFile, false)
	if _, err := os.Stat(c.KnownHostsFile); err != nil {
		return // reported by File
	}
	if checkAddress(c.Address) != nil {
		return
	}
	cb, err := knownhosts.New(c.KnownHostsFile)
	if err == nil {
		_, err = pinnedAlgorithms(cb, c.Address)
	}
	if err != nil {
		r.Errorf("known_hosts_file", "%v", err)
	}
}

// Open implements backend.Config: it loads the credentials and the pinned
// host keys and returns the Opener. It does not connect; the caller
// probes.
func (c *Config) Open(ctx context.Context, name string, log hclog.Logger) (backend.Opener, error) {
	return c.open(name, log)
}

// open is Open with the concrete type, for the package's own tests.
func (c *Config) open(name string, log hclog.Logger) (*Opener, error) {
	st, err := c.settings()
	if err != nil {
		return nil, fmt.Errorf("sftp backend %s: %w", name, err)
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return newOpener(name, log, st), nil
}

// settings is a validated Config in the form the backend uses.
type settings struct {
	addr, user   string
	root         string
	maxConns     int
	keepalive    time.Duration
	opTimeout    time.Duration
	concurrency  int
	auth         []ssh.AuthMethod
	hostKeys     ssh.HostKeyCallback
	hostKeyAlgos []string
	knownHosts   string
}

// settings converts c, reading the secret and known_hosts files.
func (c *Config) settings() (*settings, error) {
	var problems []error
	c.Validate(collect{&problems})
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	st := &settings{
		addr: c.Address, user: c.User, root: c.Root, maxConns: c.MaxConnections,
		concurrency: c.Concurrency, knownHosts: c.KnownHostsFile,
	}
	st.keepalive, _ = time.ParseDuration(c.Keepalive)
	st.opTimeout, _ = time.ParseDuration(c.OpTimeout)
	if c.PrivateKeyFile != "" {
		signer, err := loadSigner(c.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("private_key_file: %w", err)
		}
		st.auth = append(st.auth, ssh.PublicKeys(signer))
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("password_file: %w", err)
		}
		pw := string(bytes.TrimRight(b, "\r\n"))
		st.auth = append(st.auth, ssh.Password(pw))
	}
	cb, err := knownhosts.New(c.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("known_hosts_file: %w", err)
	}
	st.hostKeys = cb
	if st.hostKeyAlgos, err = pinnedAlgorithms(cb, c.Address); err != nil {
		return nil, fmt.Errorf("known_hosts_file: %w", err)
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

// loadSigner reads an unencrypted private key. Errors never quote the
// file's content.
func loadSigner(file string) (ssh.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, errors.New("encrypted private keys are not supported")
	}
	if err != nil {
		return nil, fmt.Errorf("not a private key: %w", err)
	}
	return signer, nil
}

// pinnedAlgorithms returns the host key algorithms of the keys pinned for
// addr, so the handshake asks the server for a key that can match. It
// asks the callback about a throwaway key: the mismatch error lists the
// pinned keys.
func pinnedAlgorithms(cb ssh.HostKeyCallback, addr string) ([]string, error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	err = cb(addr, remote, probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil, fmt.Errorf("checking the pinned key of %s: %w", addr, err)
	}
	if len(ke.Want) == 0 {
		return nil, fmt.Errorf("no host key for %s (known_hosts name %s)", addr, knownhosts.Normalize(addr))
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos, nil
}

// algorithmsFor maps a key type to the signature algorithms that use it.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
