package policy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAP defaults and bounds.
const (
	ldapDefaultTimeout  = 5 * time.Second
	ldapMaxTimeout      = time.Minute
	ldapDefaultGroupAtt = "memberOf"
)

// ldapProvider binds as the user over TLS (ldaps:// or StartTLS; plain
// ldap:// without StartTLS is refused at Compile) and reads the user's
// group attribute. Successful logins are cached for CacheTTL (the raw
// group names from the directory, before mapping; credcache.go).
type ldapProvider struct {
	cfg      LDAPConfig // defaults applied
	hostPort string
	ldaps    bool
	tls      *tls.Config
	cache    *credCache[[]string]
}

func compileLDAP(c LDAPConfig, errs *[]error) *ldapProvider {
	bad := func(field, msg string) {
		*errs = append(*errs, &ConfigError{Block: "auth", Name: "ldap", Field: field, Msg: msg})
	}
	lp := &ldapProvider{cfg: c}
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		bad("url", "want ldaps://host[:port] or ldap://host[:port] with start_tls")
	case u.Scheme == "ldaps":
		lp.ldaps = true
		if c.StartTLS {
			bad("start_tls", "not with ldaps://")
		}
	case u.Scheme == "ldap":
		if !c.StartTLS {
			bad("url", "ldap:// without start_tls would send passwords in clear; use ldaps:// or start_tls = true")
		}
	default:
		bad("url", "scheme must be ldaps or ldap")
	}
	if err == nil && u.Host != "" {
		port := u.Port()
		if port == "" {
			port = "389"
			if lp.ldaps {
				port = "636"
			}
		}
		lp.hostPort = net.JoinHostPort(u.Hostname(), port)
	}
	if strings.Count(c.BindDNTemplate, "{user}") != 1 {
		bad("bind_dn_template", "must contain {user} exactly once")
	} else if _, err := ldap.ParseDN(strings.ReplaceAll(c.BindDNTemplate, "{user}", "x")); err != nil {
		bad("bind_dn_template", "not a valid DN")
	}
	if lp.cfg.GroupAttribute == "" {
		lp.cfg.GroupAttribute = ldapDefaultGroupAtt
	}
	switch {
	case c.Timeout < 0 || c.Timeout > ldapMaxTimeout:
		bad("timeout", "must be between 0 (default 5s) and 1m")
	case c.Timeout == 0:
		lp.cfg.Timeout = ldapDefaultTimeout
	}
	lp.cfg.CacheTTL = cacheTTL(c.CacheTTL, bad)
	lp.cache = newCredCache[[]string](lp.cfg.CacheTTL)
	if c.DefaultHome != "" && !isCleanAbs(strings.ReplaceAll(c.DefaultHome, "{user}", "x")) {
		bad("default_home", "must be a clean absolute path")
	}
	lp.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if u != nil {
		lp.tls.ServerName = u.Hostname()
	}
	if c.CAFile != "" {
		pool, err := loadCAFile(c.CAFile)
		if err != nil {
			bad("ca_file", err.Error())
		}
		lp.tls.RootCAs = pool
	}
	return lp
}

func loadCAFile(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("no PEM certificate in CA file")
	}
	return pool, nil
}

// authLDAP authenticates a user that is not in the file.
func (p *Policy) authLDAP(ctx context.Context, req LoginRequest) (*Identity, error) {
	lp := p.ldap
	raw, ok := lp.cache.get(req.User, req.Password)
	if !ok {
		var err error
		if raw, err = lp.bind(ctx, req.User, req.Password); err != nil {
			return nil, err
		}
		lp.cache.put(req.User, req.Password, raw)
	}
	return p.ldapIdentity(req.User, raw)
}

// ldapIdentity maps directory groups to group blocks and picks the
// backend and home: the first mapped group that names them, else the
// LDAP defaults.
func (p *Policy) ldapIdentity(name string, raw []string) (*Identity, error) {
	lp := p.ldap
	id := &Identity{User: name, Source: "ldap"}
	seen := make(map[string]bool, len(raw))
	var groups []*group
	for _, v := range raw {
		g := p.groups[v]
		if g == nil || seen[v] {
			continue
		}
		seen[v] = true
		groups = append(groups, g)
		id.Groups = append(id.Groups, v)
		if id.Backend == "" && g.cfg.Backend != "" {
			id.Backend = g.cfg.Backend
		}
		if id.Home == "" && g.cfg.Home != "" {
			id.Home = g.cfg.Home
		}
	}
	if id.Backend == "" {
		id.Backend = lp.cfg.DefaultBackend
	}
	if id.Home == "" && lp.cfg.DefaultHome != "" {
		id.Home = strings.ReplaceAll(lp.cfg.DefaultHome, "{user}", name)
	}
	id.Home = homeOr(id.Home)
	id.Mounts = mountsFor(nil, groups)
	id.ReuseExempt = reuseExempt("", groups)
	if !isCleanAbs(id.Home) {
		return nil, &AuthError{Reason: ReasonUnknownUser, Err: errors.New("ldap user has no valid home")}
	}
	if id.Backend == "" {
		return nil, &AuthError{Reason: ReasonUnknownUser, Err: errors.New("ldap user has no backend (set default_backend or a group backend)")}
	}
	return id, nil
}

// bind connects, binds as the user and reads the group attribute, all
// within the LDAP timeout and ctx.
func (lp *ldapProvider) bind(ctx context.Context, user, password string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, lp.cfg.Timeout)
	defer cancel()
	unavailable := func(err error) error { return &AuthError{Reason: ReasonUnavailable, Err: err} }

	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", lp.hostPort)
	if err != nil {
		return nil, unavailable(fmt.Errorf("ldap dial: %w", err))
	}
	if lp.ldaps {
		tc := tls.Client(nc, lp.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, unavailable(fmt.Errorf("ldap tls: %w", err))
		}
		nc = tc
	}
	conn := ldap.NewConn(nc, lp.ldaps)
	conn.Start()
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetTimeout(time.Until(dl))
	}
	if lp.cfg.StartTLS {
		if err := conn.StartTLS(lp.tls); err != nil {
			return nil, unavailable(fmt.Errorf("ldap starttls: %w", err))
		}
	}
	dn := strings.ReplaceAll(lp.cfg.BindDNTemplate, "{user}", ldap.EscapeDN(user))
	if err := conn.Bind(dn, password); err != nil {
		return nil, classifyBind(ctx, err)
	}
	sr, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, int(lp.cfg.Timeout/time.Second)+1, false, "(objectClass=*)", []string{lp.cfg.GroupAttribute}, nil))
	if err != nil {
		if ctx.Err() != nil || ldap.IsErrorWithCode(err, ldap.ErrorNetwork) {
			return nil, unavailable(fmt.Errorf("ldap search: %w", err))
		}
		return nil, nil // no readable groups: fewer permissions, never more
	}
	var groups []string
	for _, e := range sr.Entries {
		for _, v := range e.GetAttributeValues(lp.cfg.GroupAttribute) {
			if n := groupNameFromValue(v); n != "" {
				groups = append(groups, n)
			}
		}
	}
	return groups, nil
}

// classifyBind maps a bind error: invalid credentials (and refusals such
// as a locked account) are a bad password; network trouble, timeouts and
// busy or unavailable servers are provider_unavailable.
func classifyBind(ctx context.Context, err error) error {
	unavailable := &AuthError{Reason: ReasonUnavailable, Err: fmt.Errorf("ldap bind: %w", err)}
	if ctx.Err() != nil {
		return unavailable
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		return unavailable
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultOther,
		ldap.ErrorUnexpectedResponse, ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded:
		return unavailable
	}
	return &AuthError{Reason: ReasonBadPassword, Err: fmt.Errorf("ldap bind: result code %d", le.ResultCode)}
}

// groupNameFromValue maps a group attribute value to a group block name:
// the value of a DN's first RDN (cn=readers,ou=groups,... -> "readers"),
// or the value itself when it is not a DN.
func groupNameFromValue(v string) string {
	if dn, err := ldap.ParseDN(v); err == nil && len(dn.RDNs) > 0 && len(dn.RDNs[0].Attributes) > 0 {
		return dn.RDNs[0].Attributes[0].Value
	}
	return strings.TrimSpace(v)
}
