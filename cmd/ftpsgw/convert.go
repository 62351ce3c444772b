package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/hooks"
	"github.com/ftpsgw/ftpsgw/metrics"
	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// Defaults of the config keys (deploy/CONFIGURATION.md lists them).
const (
	defaultListen        = "0.0.0.0:21"
	defaultDrainTimeout  = 5 * time.Minute
	defaultPortRange     = "50000-50999"
	defaultMetricsListen = "127.0.0.1:9121"
	defaultStateDir      = "/var/lib/ftpsgw/tls"
	defaultACMEStorage   = "/var/lib/ftpsgw/acme"
)

// settings is a config file converted to the typed configuration of every
// package. Runtime parts (TLS provider, backends, policy snapshot, observer,
// loggers) are filled in by wire.go.
type settings struct {
	path     string
	gw       gateway.Config
	listen   []string // explicit FTPS listeners
	implicit []string // implicit FTPS listeners
	drain    time.Duration
	pol      policy.Config
	policy   *policy.Policy // pol compiled; nil when it has problems
	tls      tlsmgr.Config
	metrics  metrics.Config
	log      logSettings
	backends []backendSpec
	users    []string        // file user names, in file order
	admin    adminSettings   // admin_config.go
	notices  gateway.Notices // admin_config.go
	hooks    []hooks.Hook    // admin_hooks.go
}

// logSettings is the log block.
type logSettings struct {
	Level          string
	Format         string
	TransferLog    string
	TransferFormat string
	Syslog         string // "", unix:///dev/log, udp://HOST:PORT, tcp://HOST:PORT
}

// loadConfig reads, decodes, converts and validates the config file at
// path. Problems (errors and warnings) are returned with their file:line;
// the settings are only usable when probs.errors() == 0.
func loadConfig(path string) (*settings, *problems) { return load(path, false) }

// loadPolicyOnly is loadConfig without the checks that files named in
// the config exist on this machine (certificates, keys, log directory),
// for explain: a policy can be checked on a workstation before it is
// deployed. Everything else is validated as usual.
func loadPolicyOnly(path string) (*settings, *problems) { return load(path, true) }

func load(path string, skipFiles bool) (*settings, *problems) {
	probs := &problems{file: path}
	src, err := os.ReadFile(path)
	if err != nil {
		probs.add(hcl.Range{}, "cannot read config file: %v", fileError(path, err))
		return nil, probs
	}
	fc, loc, ok := parseFile(path, src, probs)
	if !ok {
		return nil, probs // syntax errors: semantic checks would only add noise
	}
	if loc.file == "" {
		loc.file = path
	}
	c := &converter{loc: loc, probs: probs, s: &settings{path: path}, skipFiles: skipFiles}
	c.convert(fc)
	c.compilePolicy()
	if probs.errors() == 0 {
		c.validatePackages()
	}
	return c.s, probs
}

// converter turns a decoded file into settings, recording problems.
type converter struct {
	// skipFiles: do not require the files the config names to exist.
	skipFiles bool
	loc       *locator
	probs     *problems
	s         *settings
	// backendNames maps each backend name to its type.
	backendNames map[string]string
}

func (c *converter) convert(fc *fileConfig) {
	c.server(fc.Server)
	c.tlsBlock(fc.TLS)
	c.passive(fc.Passive)
	if fc.Active != nil {
		c.s.gw.ActiveEnabled = fc.Active.Enabled
	}
	c.metricsBlock(fc.Metrics)
	c.logBlock(fc.Log)
	c.defender(fc.Defender)
	c.backendBlocks(fc.Backends)
	c.authBlocks(fc.Auth)
	c.anonymous(fc.Anonymous)
	c.groups(fc.Groups)
	c.users(fc.Users)
	c.adminBlock(fc.Admin)   // admin_config.go
	c.noticeFiles(fc.Server) // admin_config.go
	c.hookBlocks(fc.Hooks)   // admin_hooks.go
	if len(fc.Users) == 0 && c.s.pol.LDAP == nil && c.s.pol.Upstream == nil && c.s.pol.Anonymous == nil {
		c.probs.add(c.loc.start(), `no users: define at least one user "NAME" block (or auth "ldap", auth "upstream", or anonymous)`)
	}
	c.s.gw.AllowClearData = fc.TLS != nil && fc.TLS.Require == "login"
}

// dur parses an optional duration attribute; "" keeps def.
func (c *converter) dur(block hcl.Range, key, val string, def time.Duration) time.Duration {
	if val == "" {
		return def
	}
	d, err := parseDuration(val)
	if err != nil {
		c.probs.add(c.loc.attr(block, key), "%s: %v", key, err)
		return def
	}
	return d
}

// size parses an optional size attribute; "" is 0.
func (c *converter) size(block hcl.Range, key, val string) int64 {
	if val == "" {
		return 0
	}
	n, err := parseSize(val)
	if err != nil {
		c.probs.add(c.loc.attr(block, key), "%s: %v", key, err)
	}
	return n
}

// rate parses an optional rate attribute; "" is 0 (unlimited).
func (c *converter) rate(block hcl.Range, key, val string) int64 {
	if val == "" {
		return 0
	}
	n, err := parseRate(val)
	if err != nil {
		c.probs.add(c.loc.attr(block, key), "%s: %v", key, err)
	}
	return n
}

// prefixes parses a list of CIDRs (a bare address is a single host).
func (c *converter) prefixes(block hcl.Range, key string, vals []string) []netip.Prefix {
	var out []netip.Prefix
	for i, v := range vals {
		p, err := parsePrefix(v)
		if err != nil {
			c.probs.add(c.loc.elem(block, key, i), "%s: %v", key, err)
			continue
		}
		out = append(out, p)
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as \"10.0.0.0/8\"", s)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as \"10.0.0.0/8\"", s)
	}
	return p.Masked(), nil
}

// checkListen validates a listen address "IP:PORT" (":PORT" for all
// addresses, "localhost:PORT" allowed).
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not an address such as \"127.0.0.1:2121\"", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number between 0 and 65535", s, port)
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q: host %q is not an IP address", s, host)
		}
	}
	return nil
}

func (c *converter) server(b *serverBlock) {
	s := c.s
	s.listen = []string{defaultListen}
	s.drain = defaultDrainTimeout
	if b == nil {
		return
	}
	r := b.Range
	if b.Listen != nil {
		s.listen = *b.Listen
	}
	s.implicit = b.ImplicitListen
	seen := map[string]bool{}
	for _, l := range []struct {
		key  string
		list []string
	}{{"listen", s.listen}, {"implicit_listen", s.implicit}} {
		key := l.key
		for i, a := range l.list {
			if err := checkListen(a); err != nil {
				c.probs.add(c.loc.elem(r, key, i), "%s: %v", key, err)
			} else if seen[a] {
				c.probs.add(c.loc.elem(r, key, i), "%s: %q is listed twice", key, a)
			}
			seen[a] = true
		}
	}
	if len(s.listen) == 0 && len(s.implicit) == 0 {
		c.probs.add(r, "server: no listeners: set listen or implicit_listen")
	}
	if strings.ContainsAny(b.Banner, "\r\n\x00") || len(b.Banner) > 512 {
		c.probs.add(c.loc.attr(r, "banner"), "banner: must be one line of at most 512 bytes")
	}
	s.gw.Banner = b.Banner
	s.gw.LoginTimeout = c.dur(r, "login_timeout", b.LoginTimeout, 0)
	s.gw.IdleTimeout = c.dur(r, "idle_timeout", b.IdleTimeout, 0)
	s.gw.DataTimeout = c.dur(r, "data_timeout", b.DataTimeout, 0)
	s.gw.OpTimeout = c.dur(r, "op_timeout", b.OpTimeout, 0)
	s.gw.AuthTimeout = c.dur(r, "auth_timeout", b.AuthTimeout, 0)
	s.drain = c.dur(r, "drain_timeout", b.DrainTimeout, defaultDrainTimeout)
	for key, n := range map[string]int{"max_sessions": b.MaxSessions, "max_sessions_per_ip": b.MaxSessionsPerIP,
		"max_preauth": b.MaxPreauth, "max_preauth_per_ip": b.MaxPreauthPerIP} {
		if n < 0 {
			c.probs.add(c.loc.attr(r, key), "%s: must not be negative", key)
		}
	}
	s.gw.MaxSessions, s.gw.MaxSessionsPerIP = b.MaxSessions, b.MaxSessionsPerIP
	s.gw.MaxPreauth, s.gw.MaxPreauthPerIP = b.MaxPreauth, b.MaxPreauthPerIP
	s.gw.HashMaxSize = c.size(r, "hash_max_size", b.HashMaxSize)
	s.pol.Network.AllowFrom = c.prefixes(r, "allow_from", b.AllowFrom)
	s.pol.Network.DenyFrom = c.prefixes(r, "deny_from", b.DenyFrom)
	if pp := b.ProxyProtocol; pp != nil {
		if len(pp.TrustedCIDRs) == 0 {
			c.probs.add(c.loc.attr(pp.Range, "trusted_cidrs"), "proxy_protocol: trusted_cidrs must list the networks of the proxies")
		}
		s.gw.TrustedProxies = c.prefixes(pp.Range, "trusted_cidrs", pp.TrustedCIDRs)
		for _, p := range s.gw.TrustedProxies {
			if p.Bits() == 0 {
				c.probs.warn(c.loc.attr(pp.Range, "trusted_cidrs"),
					"proxy_protocol: trusting %s lets any client claim any address", p)
			}
		}
	}
}

func (c *converter) tlsBlock(b *tlsBlock) {
	if b == nil {
		c.probs.add(c.loc.start(), `missing tls block: set tls { source = "file" | "self_signed" | "acme" }`)
		return
	}
	r := b.Range
	t := tlsmgr.Config{
		Source:          b.Source,
		CertFile:        b.CertFile,
		KeyFile:         b.KeyFile,
		StateDir:        b.StateDir,
		SelfSignedNames: b.Hostnames,
		MinVersion:      b.MinVersion,
		ClientCAFile:    b.ClientCAFile,
		ClientCert:      b.ClientCert,
		ClientCRLFile:   b.ClientCRLFile,
		SessionBinding:  b.SessionBinding,
		StrictSNI:       b.StrictSNI,
	}
	switch b.Source {
	case tlsmgr.SourceFile:
		c.requireKey(r, "cert_file", b.CertFile, "source \"file\"")
		c.requireKey(r, "key_file", b.KeyFile, "source \"file\"")
		c.readable(r, "cert_file", b.CertFile)
		c.secret(r, "key_file", b.KeyFile)
	case tlsmgr.SourceSelfSigned:
		if t.StateDir == "" {
			t.StateDir = defaultStateDir
		}
	case tlsmgr.SourceACME:
		if b.ACME == nil {
			c.probs.add(c.loc.attr(r, "source"), `tls: source "acme" needs an acme block`)
		}
	default:
		c.probs.add(c.loc.attr(r, "source"), `tls: source %q: want "file", "self_signed" or "acme"`, b.Source)
	}
	if b.Source != tlsmgr.SourceFile && (b.CertFile != "" || b.KeyFile != "") {
		c.probs.warn(c.loc.attr(r, "cert_file"), "tls: cert_file and key_file are ignored with source %q", b.Source)
	}
	if b.Source != tlsmgr.SourceACME && b.ACME != nil {
		c.probs.warn(b.ACME.Range, "tls: the acme block is ignored with source %q", b.Source)
	}
	c.tlsChoices(b)
	c.readable(r, "client_ca_file", b.ClientCAFile)
	c.readable(r, "client_crl_file", b.ClientCRLFile)
	if b.ClientCRLFile != "" && b.ClientCAFile == "" {
		c.probs.add(c.loc.attr(r, "client_crl_file"), "tls: client_crl_file needs client_ca_file (the CRL is checked against its CAs)")
	}
	c.s.gw.ReuseExemptFrom = c.prefixes(r, "reuse_exempt_from", b.ReuseExemptFrom)
	c.s.gw.CloseNotifyExemptFrom = c.prefixes(r, "close_notify_exempt_from", b.CloseNotifyExemptFrom)
	if a := b.ACME; a != nil {
		t.ACME = c.acme(a)
	}
	c.s.tls = t
}

// tlsChoices checks the keys of the tls block that take one of a few
// values.
func (c *converter) tlsChoices(b *tlsBlock) {
	r := b.Range
	switch b.MinVersion {
	case "", "1.2", "1.3":
	default:
		c.probs.add(c.loc.attr(r, "min_version"), `tls: min_version %q: want "1.2" or "1.3" (older TLS is never allowed)`, b.MinVersion)
	}
	switch b.Require {
	case "", "all", "login":
	default:
		c.probs.add(c.loc.attr(r, "require"), `tls: require %q: want "all" or "login"`, b.Require)
	}
	mode, err := gateway.ParseReuseMode(b.SessionReuse)
	if err != nil {
		c.probs.add(c.loc.attr(r, "session_reuse"), `tls: session_reuse %q: want "required", "observe" or "off"`, b.SessionReuse)
	}
	c.s.gw.SessionReuse = mode
	switch b.SessionBinding {
	case "", tlsmgr.BindingUser, tlsmgr.BindingSession:
	default:
		c.probs.add(c.loc.attr(r, "session_binding"), `tls: session_binding %q: want "user" or "session"`, b.SessionBinding)
	}
	switch b.ClientCert {
	case "", tlsmgr.ClientCertNone, tlsmgr.ClientCertOptional, tlsmgr.ClientCertRequired:
		if b.ClientCert != "" && b.ClientCert != tlsmgr.ClientCertNone && b.ClientCAFile == "" {
			c.probs.add(c.loc.attr(r, "client_cert"), "tls: client_cert %q needs client_ca_file", b.ClientCert)
		}
		if b.ClientCert == tlsmgr.ClientCertNone && b.ClientCAFile != "" {
			c.probs.add(c.loc.attr(r, "client_ca_file"), `tls: client_ca_file is set but client_cert is "none"`)
		}
	default:
		c.probs.add(c.loc.attr(r, "client_cert"), `tls: client_cert %q: want "none", "optional" or "required"`, b.ClientCert)
	}
}

func (c *converter) acme(a *acmeBlock) tlsmgr.ACMEConfig {
	r := a.Range
	out := tlsmgr.ACMEConfig{
		Domains:    a.Domains,
		Email:      a.Email,
		CAURL:      a.CAURL,
		CARootFile: a.CARootFile,
		Storage:    a.Storage,
		Challenges: a.Challenges,
		HTTPPort:   80,
		ListenHost: a.ListenHost,
	}
	out.TLSALPNPort = 443
	if a.OCSPStapling != nil {
		out.DisableOCSPStapling = !*a.OCSPStapling
	}
	if out.Storage == "" {
		out.Storage = defaultACMEStorage
	}
	if len(a.Domains) == 0 {
		c.probs.add(c.loc.attr(r, "domains"), "tls.acme: domains must list at least one name")
	}
	if a.CAURL != "" && !strings.HasPrefix(a.CAURL, "https://") {
		c.probs.add(c.loc.attr(r, "ca_url"), "tls.acme: ca_url %q must be an https:// URL", a.CAURL)
	}
	for i, ch := range a.Challenges {
		if ch != tlsmgr.ChallengeHTTP01 && ch != tlsmgr.ChallengeTLSALPN01 {
			c.probs.add(c.loc.elem(r, "challenges", i), `tls.acme: challenge %q: want "http-01" or "tls-alpn-01"`, ch)
		}
	}
	for key, p := range map[string]*int{"http_port": a.HTTPPort, "tls_alpn_port": a.TLSALPNPort} {
		if p == nil {
			continue
		}
		if *p < 1 || *p > 65535 {
			c.probs.add(c.loc.attr(r, key), "tls.acme: %s %d: want a port between 1 and 65535", key, *p)
		}
	}
	if a.HTTPPort != nil {
		out.HTTPPort = *a.HTTPPort
	}
	if a.TLSALPNPort != nil {
		out.TLSALPNPort = *a.TLSALPNPort
	}
	if a.ListenHost != "" {
		if _, err := netip.ParseAddr(a.ListenHost); err != nil {
			c.probs.add(c.loc.attr(r, "listen_host"), "tls.acme: listen_host %q is not an IP address", a.ListenHost)
		}
	}
	c.readable(r, "ca_root_file", a.CARootFile)
	return out
}

func (c *converter) passive(b *passiveBlock) {
	pr := defaultPortRange
	var r hcl.Range
	if b != nil {
		r = b.Range
		if b.PortRange != "" {
			pr = b.PortRange
		}
	}
	lo, hi, err := parsePortRange(pr)
	if err != nil {
		c.probs.add(c.loc.attr(r, "port_range"), "passive: port_range: %v", err)
	}
	c.s.gw.PassivePortMin, c.s.gw.PassivePortMax = lo, hi
	if b == nil {
		return
	}
	if b.MaxPerClient < 0 {
		c.probs.add(c.loc.attr(r, "max_per_client"), "passive: max_per_client must not be negative")
	}
	c.s.gw.MaxPassivePerClient = b.MaxPerClient
	if b.PublicAddress != "" {
		a, err := netip.ParseAddr(b.PublicAddress)
		if err != nil {
			c.probs.add(c.loc.attr(r, "public_address"), "passive: public_address %q is not an IP address", b.PublicAddress)
		}
		c.s.gw.PublicAddress = a.Unmap()
	}
	for _, af := range b.AddressFor {
		p, err := parsePrefix(af.Network)
		if err != nil {
			c.probs.add(af.Range, "passive: address_for: %v", err)
		}
		a, err := netip.ParseAddr(af.Address)
		if err != nil {
			c.probs.add(c.loc.attr(af.Range, "address"), "passive: address_for %q: address %q is not an IP address", af.Network, af.Address)
		}
		c.s.gw.AddressFor = append(c.s.gw.AddressFor, gateway.AddressFor{Network: p, Address: a.Unmap()})
	}
}

// parsePortRange parses "LOW-HIGH" with 1024 <= LOW <= HIGH <= 65535.
func parsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q: want \"LOW-HIGH\" such as \"50000-50999\"", s)
	}
	if lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q: want 1024 <= LOW <= HIGH <= 65535", s)
	}
	return lo, hi, nil
}

func (c *converter) metricsBlock(b *metricsBlock) {
	m := metrics.Config{Listen: defaultMetricsListen}
	if b == nil {
		c.s.metrics = m
		return
	}
	r := b.Range
	if b.Listen != nil {
		m.Listen = *b.Listen
	}
	if m.Listen != "" {
		if err := checkListen(m.Listen); err != nil {
			c.probs.add(c.loc.attr(r, "listen"), "metrics: listen: %v", err)
		}
	}
	m.PerUser = b.PerUser
	m.BasicAuthUser, m.BasicAuthPasswordFile = b.BasicAuthUser, b.BasicAuthPasswordFile
	m.TLSCertFile, m.TLSKeyFile = b.TLSCertFile, b.TLSKeyFile
	if (b.BasicAuthUser == "") != (b.BasicAuthPasswordFile == "") {
		c.probs.add(r, "metrics: basic_auth_user and basic_auth_password_file go together")
	}
	if (b.TLSCertFile == "") != (b.TLSKeyFile == "") {
		c.probs.add(r, "metrics: tls_cert_file and tls_key_file go together")
	}
	c.secret(r, "basic_auth_password_file", b.BasicAuthPasswordFile)
	c.readable(r, "tls_cert_file", b.TLSCertFile)
	c.secret(r, "tls_key_file", b.TLSKeyFile)
	c.s.metrics = m
}

func (c *converter) logBlock(b *logBlock) {
	l := logSettings{Level: "info", Format: "json", TransferFormat: "json"}
	if b != nil {
		r := b.Range
		if b.Level != "" {
			l.Level = b.Level
			switch b.Level {
			case "trace", "debug", "info", "warn", "error":
			default:
				c.probs.add(c.loc.attr(r, "level"), `log: level %q: want "trace", "debug", "info", "warn" or "error"`, b.Level)
			}
		}
		if b.Format != "" {
			l.Format = b.Format
			if b.Format != "json" && b.Format != "text" {
				c.probs.add(c.loc.attr(r, "format"), `log: format %q: want "json" or "text"`, b.Format)
			}
		}
		if b.TransferFormat != "" {
			l.TransferFormat = b.TransferFormat
			if b.TransferFormat != "json" && b.TransferFormat != "xferlog" {
				c.probs.add(c.loc.attr(r, "transfer_format"), `log: transfer_format %q: want "json" or "xferlog"`, b.TransferFormat)
			}
		}
		l.Syslog = b.Syslog
		if b.Syslog != "" {
			u, err := url.Parse(b.Syslog)
			if err != nil || (u.Scheme != "unix" && u.Scheme != "udp" && u.Scheme != "tcp") || (u.Path == "" && u.Host == "") {
				c.probs.add(c.loc.attr(r, "syslog"), `log: syslog %q: want "unix:///dev/log", "udp://HOST:PORT" or "tcp://HOST:PORT"`, b.Syslog)
			}
		}
		l.TransferLog = b.TransferLog
		if b.TransferLog != "" && !c.skipFiles {
			if err := checkParentDir(b.TransferLog); err != nil {
				c.probs.add(c.loc.attr(r, "transfer_log"), "log: transfer_log: %v", err)
			}
		}
	}
	c.s.log = l
}

func (c *converter) defender(b *defenderBlock) {
	if b == nil {
		return
	}
	r := b.Range
	d := policy.DefenderConfig{
		Window:          c.dur(r, "window", b.Window, 0),
		Ban:             c.dur(r, "ban", b.Ban, 0),
		MaxBan:          c.dur(r, "max_ban", b.MaxBan, 0),
		Exempt:          c.prefixes(r, "exempt", b.Exempt),
		AccountMaxDelay: c.dur(r, "account_max_delay", b.AccountMaxDelay, 0),
	}
	if b.AccountFailures != nil {
		if *b.AccountFailures < 1 {
			c.probs.add(c.loc.attr(r, "account_failures"), "defender: account_failures must be at least 1")
		}
		d.AccountFailures = *b.AccountFailures
	}
	if b.MaxFailures != nil {
		if *b.MaxFailures < 1 {
			c.probs.add(c.loc.attr(r, "max_failures"), "defender: max_failures must be at least 1")
		}
		d.MaxFailures = *b.MaxFailures
	}
	c.s.pol.Defender = d
}

// requireKey records a problem when a key a setting depends on is empty.
func (c *converter) requireKey(block hcl.Range, key, val, what string) {
	if val == "" {
		c.probs.add(block, "%s needs %s", what, key)
	}
}

// secret checks a key or secret file named by key, when set.
func (c *converter) secret(block hcl.Range, key, path string) {
	if path == "" || c.skipFiles {
		return
	}
	if err := checkSecretFile(path); err != nil {
		c.probs.add(c.loc.attr(block, key), "%s: %v", key, err)
	}
}

// readable checks a non-secret file named by key, when set.
func (c *converter) readable(block hcl.Range, key, path string) {
	if path == "" || c.skipFiles {
		return
	}
	if err := checkReadableFile(path); err != nil {
		c.probs.add(c.loc.attr(block, key), "%s: %v", key, err)
	}
}
