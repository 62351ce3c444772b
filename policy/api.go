package policy

// This file fixes the types the gateway and cmd/ftpsgw use; signatures
// change only with the gateway's call sites. The behaviour lives in
// users.go (Compile), auth.go, ldap.go, rules.go, eval.go, network.go,
// limits.go and defender.go.

import (
	"context"
	"crypto/x509"
	"net/netip"
	"time"
)

// Perm is a set of permissions.
type Perm uint16

// Permissions, as named in the config file.
const (
	PermList Perm = 1 << iota
	PermDownload
	PermUpload
	PermOverwrite
	PermAppend
	PermDelete
	PermRename
	PermMkdir
	PermRmdir

	PermNone Perm = 0
	PermAll       = PermList | PermDownload | PermUpload | PermOverwrite | PermAppend |
		PermDelete | PermRename | PermMkdir | PermRmdir
)

// Config is the whole policy part of the config file, already decoded.
type Config struct {
	Users     []UserConfig
	Groups    []GroupConfig
	LDAP      *LDAPConfig      // nil: no LDAP provider
	Upstream  *UpstreamConfig  // nil: no upstream provider (upstream.go)
	Anonymous *AnonymousConfig // nil: anonymous login impossible
	Network   NetworkConfig
	Defender  DefenderConfig
}

// UserConfig is one `user "name"` block.
type UserConfig struct {
	Name              string
	PasswordHash      string // argon2id PHC string or bcrypt $2a$/$2b$/$2y$
	Groups            []string
	Backend           string
	Home              string // clean slash path inside the backend, default "/"
	AllowFrom         []netip.Prefix
	Permissions       []string
	Rules             []RuleConfig
	MaxSessions       int    // 0: unlimited
	MaxFileSize       int64  // bytes, 0: unlimited
	QuotaBytes        int64  // 0: unlimited
	QuotaFiles        int64  // 0: unlimited
	UploadRate        int64  // bytes per second, 0: unlimited
	DownloadRate      int64  // bytes per second, 0: unlimited
	ClientCertSubject string // "" : no certificate required for this user
	CertOnly          bool   // certificate instead of the password
	Mounts            []MountConfig
	// SessionReuse "observe" exempts this user's data connections from
	// the TLS session-reuse requirement (logged and counted); "required"
	// keeps it even when a group exempts; "" follows the groups.
	SessionReuse string
}

// MountConfig is one `mount "/virtual/path"` block: another backend's
// directory shown at a virtual path of the user's tree (a virtual folder).
type MountConfig struct {
	Path    string // clean absolute virtual path, not "/"
	Backend string // backend name
	Dir     string // clean absolute directory inside that backend, default "/"
}

// GroupConfig is one `group "name"` block.
type GroupConfig struct {
	Name        string
	Permissions []string
	Rules       []RuleConfig
	Backend     string // default backend for LDAP users of this group
	Home        string
	Mounts      []MountConfig // virtual folders for every member
	// SessionReuse "observe" exempts the members' data connections from
	// the TLS session-reuse requirement (a user's own setting wins).
	SessionReuse string
}

// RuleConfig is one `rule "GLOB"` block.
type RuleConfig struct {
	Path        string
	Permissions []string
}

// LDAPConfig is the `auth "ldap"` block.
type LDAPConfig struct {
	URL            string
	BindDNTemplate string // "uid={user},ou=people,dc=example,dc=com"
	GroupAttribute string // "memberOf"
	StartTLS       bool
	CAFile         string
	Timeout        time.Duration
	CacheTTL       time.Duration
	DefaultBackend string
	DefaultHome    string // may contain {user}
}

// AnonymousConfig is the optional `anonymous` block; read-only at most.
type AnonymousConfig struct {
	Backend     string
	Home        string
	Permissions []string
}

// NetworkConfig holds the global CIDR rules, checked at accept.
type NetworkConfig struct {
	AllowFrom []netip.Prefix // empty: everyone not denied
	DenyFrom  []netip.Prefix
}

// DefenderConfig is the `defender` block. It holds a slice, so it is not
// comparable with ==.
type DefenderConfig struct {
	MaxFailures int           // default 5
	Window      time.Duration // default 10m
	Ban         time.Duration // default 30m, doubling on repeat
	MaxBan      time.Duration // cap on doubling, default 24h
	// Exempt lists networks whose failures are never counted and which are
	// never banned (monitoring hosts, trusted NATs). IPv4-mapped prefixes
	// are unmapped; empty: none.
	Exempt []netip.Prefix
	// AccountFailures is how many failed logins one user name may collect
	// (from any address, exempt ones included) before attempts on it are
	// spaced out; default 5.
	AccountFailures int
	// AccountMaxDelay caps the spacing between attempts on a throttled
	// user name, and so the delay any one attempt waits; default 10s.
	AccountMaxDelay time.Duration
}

// LoginRequest is one login attempt.
type LoginRequest struct {
	User     string
	Password string
	Client   netip.Addr
	// PeerCertificates are the verified client certificates of the control
	// connection, if any.
	PeerCertificates []*x509.Certificate
	// Upstream checks a password against the storage of the named
	// backend, for the `auth "upstream"` provider: nil, or an error
	// wrapping fs.ErrPermission for a refused login, any other error when
	// the storage cannot answer. The gateway supplies it (it owns the
	// backends); nil makes upstream logins unavailable.
	Upstream func(ctx context.Context, backend, user, password string) error
}

// Identity is a logged-in user. Decisions are always taken against the
// current Policy snapshot, so a reload applies to sessions in flight.
type Identity struct {
	User    string
	Backend string
	Home    string
	Groups  []string // resolved group names (file groups, or LDAP groups mapped to group blocks)
	Source  string   // "file", "ldap", "upstream", "anonymous"
	// Mounts are the virtual folders of this login: the user's own, then
	// its groups' for paths the user does not mount, sorted by path.
	Mounts []MountConfig
	// ReuseExempt: this login's data connections need not resume its TLS
	// session (session_reuse = "observe" on the user or one of its groups).
	ReuseExempt bool
}

// Limits are the per-user limits in force.
type Limits struct {
	MaxSessions  int
	MaxFileSize  int64
	QuotaBytes   int64
	QuotaFiles   int64
	UploadRate   int64
	DownloadRate int64
}

// Decision is the answer to one question, with what made it.
type Decision struct {
	Allowed bool
	// Hidden: the path matches a rule with no permissions; the gateway
	// answers as if it did not exist and leaves it out of listings.
	Hidden bool
	// Reason names what decided: "user:alice", "group:readers",
	// "rule:/incoming/** (user alice)", "network:deny_from 10.0.0.0/8", "default".
	Reason string
}

// AuthError is the error Authenticate returns; Reason is one of the
// Reason* constants. Its text never contains the password.
type AuthError struct {
	Reason string
	Err    error
}

// Error returns "login failed: REASON[: detail]"; it never contains the
// password.
func (e *AuthError) Error() string {
	if e.Err != nil {
		return "login failed: " + e.Reason + ": " + e.Err.Error()
	}
	return "login failed: " + e.Reason
}

// Unwrap returns the underlying error.
func (e *AuthError) Unwrap() error { return e.Err }

// Authentication failure reasons.
const (
	ReasonUnknownUser   = "unknown_user"
	ReasonBadPassword   = "bad_password"
	ReasonDeniedNetwork = "denied_network"
	ReasonCertificate   = "certificate"
	ReasonUnavailable   = "provider_unavailable"
)

// ConfigError is one validation problem, located by block and field so the
// caller can point at file:line.
type ConfigError struct {
	Block string // "user", "group", "rule", "auth", "anonymous", "network", "defender"
	Name  string // block label, e.g. the user name or the rule's glob
	Field string // key, e.g. "password_hash"
	Msg   string
	// Parent is the enclosing block of a rule, e.g. `user "alice"`;
	// empty for top-level blocks.
	Parent string
}

// Error returns `[parent: ]block ["name"][: field]: message`.
func (e *ConfigError) Error() string {
	s := ""
	if e.Parent != "" {
		s = e.Parent + ": "
	}
	s += e.Block
	if e.Name != "" {
		s += " " + `"` + e.Name + `"`
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}
