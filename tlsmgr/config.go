package tlsmgr

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Certificate sources accepted in Config.Source.
const (
	SourceFile       = "file"
	SourceSelfSigned = "self_signed"
	SourceACME       = "acme"
)

// Client-certificate modes accepted in Config.ClientCert.
const (
	ClientCertNone     = "none"
	ClientCertOptional = "optional"
	ClientCertRequired = "required"
)

// Data-connection binding modes accepted in Config.SessionBinding.
const (
	// BindingUser accepts, on a data connection, a ticket minted in any FTP
	// session of this process that authenticated as the same user from the
	// same client address, open or closed. It is the default.
	BindingUser = "user"
	// BindingSession accepts only tickets minted in the data connection's
	// own FTP session.
	BindingSession = "session"
)

// ACME challenge names accepted in ACMEConfig.Challenges.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// DefaultPollInterval is how often the file source checks its files for
// changes when Config.PollInterval is zero.
const DefaultPollInterval = 5 * time.Second

// ExpiryWarning is how long before a certificate's NotAfter the manager
// starts logging a warning about it.
const ExpiryWarning = 14 * 24 * time.Hour

// Config is the tls block of the configuration file. The zero value is not
// valid (it has no source); every security knob is strict at zero:
// MinVersion "" is TLS 1.2, ClientCert "" is "none" (or "optional" when a
// ClientCAFile is given), OCSP stapling is on, SessionBinding "" is "user"
// (data connections bound to the user and the client address).
type Config struct {
	// Source is "file", "self_signed" or "acme".
	Source string

	// CertFile and KeyFile are the PEM chain (leaf first) and private key
	// for source "file". The key file must not be accessible to others.
	CertFile string
	KeyFile  string
	// PollInterval is how often the file source looks for changed files;
	// zero means DefaultPollInterval.
	PollInterval time.Duration

	// StateDir is where source "self_signed" keeps its certificate and key.
	StateDir string
	// SelfSignedNames are the DNS names and IP addresses the self-signed
	// certificate covers; empty means localhost, 127.0.0.1 and ::1.
	SelfSignedNames []string

	// MinVersion is "1.2" (the default when empty) or "1.3".
	MinVersion string

	// ClientCAFile is a PEM bundle of CAs that client certificates must
	// chain to. ClientCert is "none", "optional" (verify if given) or
	// "required".
	ClientCAFile string
	ClientCert   string
	// ClientCRLFile is a CRL (PEM, one or more "X509 CRL" blocks, or DER)
	// issued by CAs of ClientCAFile. A client certificate it lists fails
	// the handshake. It is re-read by Reload, with the CA file.
	ClientCRLFile string

	// SessionBinding is "user" (the default when empty) or "session"; see
	// BindingUser and BindingSession.
	SessionBinding string

	// StrictSNI refuses a handshake whose SNI name the certificates do not
	// cover. A ClientHello without SNI is always accepted.
	StrictSNI bool

	// ACME configures source "acme".
	ACME ACMEConfig
}

// ACMEConfig is the tls.acme block. Configuring it means accepting the
// CA's subscriber agreement (the issuer is built with Agreed set).
type ACMEConfig struct {
	Domains []string // names to obtain certificates for; the first is the default for clients without SNI
	Email   string   // account contact; optional
	// CAURL is the ACME directory; empty means Let's Encrypt production.
	CAURL string
	// CARootFile is a PEM bundle trusted for the CA's own HTTPS endpoint
	// (for private ACME CAs); empty means the system roots.
	CARootFile string
	// Storage is the directory for accounts, keys and certificates.
	Storage string
	// Challenges is any of "http-01" and "tls-alpn-01"; empty means
	// ["http-01"].
	Challenges []string
	// HTTPPort and TLSALPNPort are where the challenge solvers listen
	// (forwarded from :80 and :443); zero means 80 and 443.
	HTTPPort    int
	TLSALPNPort int
	// ListenHost is the address the solvers bind; empty means all.
	ListenHost string
	// DisableOCSPStapling turns OCSP stapling off (it is on by default).
	DisableOCSPStapling bool

	// Test hooks: a renewal check interval and renewal window ratio other
	// than certmagic's defaults. Zero keeps the defaults.
	renewCheckInterval time.Duration
	renewalWindowRatio float64
}

// Validate reports every problem in c, joined with errors.Join, or nil.
// It does not touch the file system.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("tls: "+format, args...))
	}
	switch c.Source {
	case SourceFile:
		if c.CertFile == "" {
			bad("source %q needs cert_file", c.Source)
		}
		if c.KeyFile == "" {
			bad("source %q needs key_file", c.Source)
		}
	case SourceSelfSigned:
		if c.StateDir == "" {
			bad("source %q needs a state directory", c.Source)
		}
	case SourceACME:
		errs = append(errs, c.ACME.validate()...)
	case "":
		bad("source is required: file, self_signed or acme")
	default:
		bad("source %q is unknown: want file, self_signed or acme", c.Source)
	}
	if c.PollInterval < 0 {
		bad("poll interval %s is negative", c.PollInterval)
	}
	if _, err := parseMinVersion(c.MinVersion); err != nil {
		errs = append(errs, err)
	}
	switch c.ClientCert {
	case "":
	case ClientCertNone:
		if c.ClientCAFile != "" {
			bad("client_ca_file is set but client_cert is \"none\": set client_cert to \"optional\" or \"required\", or drop client_ca_file")
		}
	case ClientCertOptional, ClientCertRequired:
		if c.ClientCAFile == "" {
			bad("client_cert %q needs client_ca_file", c.ClientCert)
		}
	default:
		bad("client_cert %q is unknown: want none, optional or required", c.ClientCert)
	}
	if c.ClientCRLFile != "" && c.ClientCAFile == "" {
		bad("client_crl_file needs client_ca_file: the CRL is checked against its CAs")
	}
	switch c.SessionBinding {
	case "", BindingUser, BindingSession:
	default:
		bad("session_binding %q is unknown: want user or session", c.SessionBinding)
	}
	return errors.Join(errs...)
}

func (a ACMEConfig) validate() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("tls.acme: "+format, args...))
	}
	if len(a.Domains) == 0 {
		bad("domains is empty: list at least one name")
	}
	for _, d := range a.Domains {
		if d == "" || strings.ContainsAny(d, " /:@") || net.ParseIP(d) != nil {
			bad("domain %q is not a DNS name", d)
		}
	}
	if a.Storage == "" {
		bad("storage directory is required")
	}
	if a.CAURL != "" && !strings.HasPrefix(a.CAURL, "https://") {
		bad("ca_url %q must be an https:// URL", a.CAURL)
	}
	for _, ch := range a.Challenges {
		if ch != ChallengeHTTP01 && ch != ChallengeTLSALPN01 {
			bad("challenge %q is unknown: want http-01 or tls-alpn-01", ch)
		}
	}
	for name, p := range map[string]int{"http_port": a.HTTPPort, "tls_alpn_port": a.TLSALPNPort} {
		if p < 0 || p > 65535 {
			bad("%s %d is out of range", name, p)
		}
	}
	return errs
}

// parseMinVersion maps min_version to a crypto/tls version; only 1.2 and
// 1.3 are accepted.
func parseMinVersion(s string) (uint16, error) {
	switch s {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("tls: min_version %q is not allowed: use \"1.2\" or \"1.3\" (TLS 1.0 and 1.1 are broken)", s)
}

// clientAuth maps the client-certificate settings to crypto/tls.
func (c Config) clientAuth() tls.ClientAuthType {
	mode := c.ClientCert
	if mode == "" && c.ClientCAFile != "" {
		mode = ClientCertOptional
	}
	switch mode {
	case ClientCertOptional:
		return tls.VerifyClientCertIfGiven
	case ClientCertRequired:
		return tls.RequireAndVerifyClientCert
	}
	return tls.NoClientCert
}

// challenges reports which ACME challenges are enabled.
func (a ACMEConfig) challenges() (http01, tlsalpn01 bool) {
	if len(a.Challenges) == 0 {
		return true, false
	}
	for _, ch := range a.Challenges {
		switch ch {
		case ChallengeHTTP01:
			http01 = true
		case ChallengeTLSALPN01:
			tlsalpn01 = true
		}
	}
	return http01, tlsalpn01
}
