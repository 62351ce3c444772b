package policy

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Policy is a compiled, immutable snapshot of Config. All its methods are
// safe for concurrent use. Only Authenticate for LDAP users does I/O; the
// LDAP result cache is the only mutable state and is guarded by its own
// mutex.
type Policy struct {
	users     map[string]*user
	groups    map[string]*group
	anonymous *anonymous // nil: no anonymous login
	network   netRules
	defender  DefenderConfig            // with defaults applied
	ldap      *ldapProvider             // nil: no LDAP
	upstream  *upstreamProvider         // nil: no upstream provider
	dummy     *passwordHash             // verified for unknown users (timing parity)
	hidden    bool                      // some rule anywhere has no permissions
	hashSlots chan struct{}             // bounds concurrent password hashing
	verified  *credCache[*passwordHash] // recent successful checks of file users' passwords (auth.go)
	hashRuns  atomic.Int64              // password verifications run (tests check parity)
}

// user is one compiled `user` block.
type user struct {
	cfg       UserConfig
	groups    []*group
	perms     Perm
	rules     []rule
	allowFrom netRules
	hash      *passwordHash // nil only with CertOnly
	cert      certMatcher
	reason    string // "user:alice"
}

// group is one compiled `group` block.
type group struct {
	cfg    GroupConfig
	perms  Perm
	rules  []rule
	reason string // "group:readers"
}

// anonymous is the compiled `anonymous` block.
type anonymous struct {
	cfg    AnonymousConfig
	perms  Perm
	reason string
}

// anonymousNames are the login names that select the anonymous block when
// no file user has that name.
func isAnonymousName(name string) bool { return name == "anonymous" || name == "ftp" }

// Compile validates cfg and builds a snapshot. The error joins every
// problem found (errors.Join of *ConfigError), so check-config can print
// them all. It reads LDAP's CA file but does no network I/O.
func Compile(cfg Config) (*Policy, error) {
	var errs []error
	p := &Policy{
		users:  make(map[string]*user, len(cfg.Users)),
		groups: make(map[string]*group, len(cfg.Groups)),
	}
	for _, gc := range cfg.Groups {
		g := compileGroup(gc, &errs)
		if _, dup := p.groups[gc.Name]; dup {
			errs = append(errs, &ConfigError{Block: "group", Name: gc.Name, Msg: "duplicate group name"})
			continue
		}
		p.groups[gc.Name] = g
	}
	for _, uc := range cfg.Users {
		u := p.compileUser(uc, &errs)
		if _, dup := p.users[uc.Name]; dup {
			errs = append(errs, &ConfigError{Block: "user", Name: uc.Name, Msg: "duplicate user name"})
			continue
		}
		p.users[uc.Name] = u
	}
	if cfg.Anonymous != nil {
		p.anonymous = compileAnonymous(*cfg.Anonymous, &errs)
	}
	p.network = compileNetRules(cfg.Network.AllowFrom, cfg.Network.DenyFrom, "network", "", &errs)
	p.defender = compileDefender(cfg.Defender, &errs)
	if cfg.LDAP != nil {
		p.ldap = compileLDAP(*cfg.LDAP, &errs)
	}
	if cfg.Upstream != nil {
		p.upstream = p.compileUpstream(*cfg.Upstream, cfg.LDAP != nil, &errs)
	}
	p.dummy = newDummyHash()
	p.verified = newCredCache[*passwordHash](verifiedTTL)
	p.hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	p.hidden = p.anyHiddenRule()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func compileGroup(gc GroupConfig, errs *[]error) *group {
	g := &group{cfg: gc, reason: "group:" + gc.Name}
	if err := checkName(gc.Name); err != nil {
		*errs = append(*errs, &ConfigError{Block: "group", Name: gc.Name, Msg: err.Error()})
	}
	var err error
	if g.perms, err = ParsePerms(gc.Permissions); err != nil {
		*errs = append(*errs, &ConfigError{Block: "group", Name: gc.Name, Field: "permissions", Msg: err.Error()})
	}
	if gc.Home != "" && !isCleanAbs(gc.Home) {
		*errs = append(*errs, &ConfigError{Block: "group", Name: gc.Name, Field: "home", Msg: "must be a clean absolute path"})
	}
	gbad := func(field, msg string) {
		*errs = append(*errs, &ConfigError{Block: "group", Name: gc.Name, Field: field, Msg: msg})
	}
	checkMounts(gc.Mounts, gbad)
	checkReuse(gc.SessionReuse, gbad)
	g.rules = compileRules(gc.Rules, "group", gc.Name, errs)
	return g
}

func (p *Policy) compileUser(uc UserConfig, errs *[]error) *user {
	u := &user{cfg: uc, reason: "user:" + uc.Name}
	bad := func(field, msg string) {
		*errs = append(*errs, &ConfigError{Block: "user", Name: uc.Name, Field: field, Msg: msg})
	}
	if err := checkName(uc.Name); err != nil {
		bad("", err.Error())
	}
	var err error
	if u.perms, err = ParsePerms(uc.Permissions); err != nil {
		bad("permissions", err.Error())
	}
	for _, gn := range uc.Groups {
		g, ok := p.groups[gn]
		if !ok {
			bad("groups", fmt.Sprintf("unknown group %q", gn))
			continue
		}
		u.groups = append(u.groups, g)
	}
	switch {
	case uc.CertOnly && uc.ClientCertSubject == "":
		bad("cert_only", "needs client_cert_subject")
	case uc.CertOnly && uc.PasswordHash != "":
		bad("password_hash", "must be empty with cert_only")
	case uc.CertOnly:
	case uc.PasswordHash == "":
		bad("password_hash", "missing (argon2id or bcrypt hash; see ftpsgw hash-password)")
	default:
		if u.hash, err = parseHash(uc.PasswordHash); err != nil {
			bad("password_hash", err.Error())
		}
	}
	if uc.ClientCertSubject != "" {
		if u.cert, err = parseCertSubject(uc.ClientCertSubject); err != nil {
			bad("client_cert_subject", err.Error())
		}
	}
	if uc.Home != "" && !isCleanAbs(uc.Home) {
		bad("home", "must be a clean absolute path")
	}
	checkMounts(uc.Mounts, bad)
	checkReuse(uc.SessionReuse, bad)
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max_sessions", int64(uc.MaxSessions)}, {"max_file_size", uc.MaxFileSize},
		{"quota", uc.QuotaBytes}, {"quota_files", uc.QuotaFiles},
		{"bandwidth.upload", uc.UploadRate}, {"bandwidth.download", uc.DownloadRate},
	} {
		if f.v < 0 {
			bad(f.name, "must not be negative")
		}
	}
	u.allowFrom = compileNetRules(uc.AllowFrom, nil, "user", uc.Name, errs)
	u.rules = compileRules(uc.Rules, "user", uc.Name, errs)
	return u
}

func compileAnonymous(ac AnonymousConfig, errs *[]error) *anonymous {
	a := &anonymous{cfg: ac, reason: "anonymous"}
	var err error
	if a.perms, err = ParsePerms(ac.Permissions); err != nil {
		*errs = append(*errs, &ConfigError{Block: "anonymous", Field: "permissions", Msg: err.Error()})
	}
	if w := a.perms & writePerms; w != 0 {
		*errs = append(*errs, &ConfigError{Block: "anonymous", Field: "permissions",
			Msg: "anonymous access is read-only; remove " + w.String()})
		a.perms &^= writePerms
	}
	if ac.Home != "" && !isCleanAbs(ac.Home) {
		*errs = append(*errs, &ConfigError{Block: "anonymous", Field: "home", Msg: "must be a clean absolute path"})
	}
	return a
}

// checkName validates a user or group name: 1-256 bytes of UTF-8 without
// control bytes, "/" or spaces at either end.
func checkName(n string) error {
	switch {
	case n == "":
		return errors.New("empty name")
	case len(n) > 256:
		return errors.New("name longer than 256 bytes")
	case !utf8.ValidString(n):
		return errors.New("name is not valid UTF-8")
	case strings.TrimSpace(n) != n:
		return errors.New("name has leading or trailing space")
	case strings.ContainsRune(n, '/'):
		return errors.New("name contains /")
	case n == "." || n == "..":
		return errors.New("name must not be a dot or two dots")
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x20 || n[i] == 0x7f {
			return errors.New("name contains a control byte")
		}
	}
	return nil
}

func isCleanAbs(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.ContainsRune(p, 0)
}

func (p *Policy) anyHiddenRule() bool {
	check := func(rs []rule) bool {
		for i := range rs {
			if rs[i].hidden() {
				return true
			}
		}
		return false
	}
	for _, u := range p.users {
		if check(u.rules) {
			return true
		}
	}
	for _, g := range p.groups {
		if check(g.rules) {
			return true
		}
	}
	return false
}

// HasUser reports whether name is a user defined in the file.
func (p *Policy) HasUser(name string) bool {
	_, ok := p.users[name]
	return ok
}
