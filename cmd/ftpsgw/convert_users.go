package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// attrIn finds attribute key in a remain body, else returns fallback.
func (c *converter) attrIn(body hcl.Body, fallback hcl.Range, key string) hcl.Range {
	if sb, ok := body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[key]; ok {
			return a.SrcRange
		}
	}
	return fallback
}

func (c *converter) authBlocks(blocks []authBlock) {
	seen := make(map[string]bool, len(blocks))
	for _, a := range blocks {
		if a.Type != "ldap" && a.Type != "upstream" {
			c.probs.add(a.Range, `auth %q: unknown provider: want "ldap" or "upstream"`, a.Type)
			continue
		}
		if seen[a.Type] {
			c.probs.add(a.Range, `auth %q is defined twice`, a.Type)
			continue
		}
		seen[a.Type] = true
		if a.Type == "upstream" {
			c.upstreamAuth(a)
			continue
		}
		var l ldapBlock
		c.probs.addDiags(gohcl.DecodeBody(a.Body, nil, &l))
		at := func(key string) hcl.Range { return c.attrIn(a.Body, a.Range, key) }
		if l.URL != "" {
			u, err := url.Parse(l.URL)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "ldap" && u.Scheme != "ldaps"):
				c.probs.add(at("url"), "auth \"ldap\": url %q: want ldaps://HOST:PORT or ldap://HOST:PORT", l.URL)
			case u.Scheme == "ldap" && !l.StartTLS:
				c.probs.add(at("url"), "auth \"ldap\": url %q would send passwords in clear: use ldaps:// or start_tls = true", l.URL)
			}
		}
		if l.BindDNTemplate != "" && !strings.Contains(l.BindDNTemplate, "{user}") {
			c.probs.add(at("bind_dn_template"), "auth \"ldap\": bind_dn_template must contain {user}")
		}
		if l.CAFile != "" && !c.skipFiles {
			if err := checkReadableFile(l.CAFile); err != nil {
				c.probs.add(at("ca_file"), "auth \"ldap\": ca_file: %v", err)
			}
		}
		cfg := &policy.LDAPConfig{
			URL:            l.URL,
			BindDNTemplate: l.BindDNTemplate,
			GroupAttribute: l.GroupAttribute,
			StartTLS:       l.StartTLS,
			CAFile:         l.CAFile,
			DefaultBackend: l.DefaultBackend,
			DefaultHome:    l.DefaultHome,
		}
		cfg.Timeout = c.durIn(a, "timeout", l.Timeout)
		cfg.CacheTTL = c.durIn(a, "cache_ttl", l.CacheTTL)
		c.backendRef(at("default_backend"), `auth "ldap"`, l.DefaultBackend)
		c.s.pol.LDAP = cfg
	}
}

// upstreamAuth converts `auth "upstream"`: users not in the file log in
// with the name and password the backend's storage accepts.
func (c *converter) upstreamAuth(a authBlock) {
	var b upstreamBlock
	diags := gohcl.DecodeBody(a.Body, nil, &b)
	c.probs.addDiags(diags)
	if diags.HasErrors() {
		return
	}
	at := func(key string) hcl.Range { return c.attrIn(a.Body, a.Range, key) }
	c.backendRef(at("backend"), `auth "upstream"`, b.Backend)
	for _, spec := range c.s.backends {
		if spec.Name != b.Backend {
			continue
		}
		if _, ok := spec.Config.(backend.PasswordChecker); !ok {
			c.probs.add(at("backend"), `auth "upstream": backend %q (type %s) cannot check passwords: name an ftp backend`, b.Backend, spec.Type)
		}
	}
	if len(b.Groups) == 0 {
		c.probs.warn(a.Range, `auth "upstream": no groups: users who log in upstream may do nothing`)
	}
	c.s.pol.Upstream = &policy.UpstreamConfig{
		Backend:  b.Backend,
		Home:     b.Home,
		Groups:   b.Groups,
		CacheTTL: c.durIn(a, "cache_ttl", b.CacheTTL),
	}
}

func (c *converter) durIn(a authBlock, key, val string) (d time.Duration) {
	if val == "" {
		return 0
	}
	d, err := parseDuration(val)
	if err != nil {
		c.probs.add(c.attrIn(a.Body, a.Range, key), "%s: %v", key, err)
	}
	return d
}

// backendRef checks that a referenced backend exists.
func (c *converter) backendRef(r hcl.Range, who, name string) {
	if name == "" {
		return
	}
	if _, ok := c.backendNames[name]; !ok {
		c.probs.add(r, "%s: backend %q is not defined%s", who, name, c.knownBackends())
	}
}

func (c *converter) knownBackends() string {
	if len(c.s.backends) == 0 {
		return ""
	}
	names := make([]string, 0, len(c.s.backends))
	for _, b := range c.s.backends {
		names = append(names, strconv.Quote(b.Name))
	}
	return " (defined: " + strings.Join(names, ", ") + ")"
}

// defaultBackend is the backend used when a block names none: the only
// one, if there is exactly one.
func (c *converter) defaultBackend() string {
	if len(c.s.backends) == 1 {
		return c.s.backends[0].Name
	}
	return ""
}

// perms checks a permission list with policy's parser.
func (c *converter) perms(r hcl.Range, who string, names []string) {
	if _, err := policy.ParsePerms(names); err != nil {
		c.probs.add(c.loc.attr(r, "permissions"), "%s: permissions: %v", who, err)
	}
}

func (c *converter) rules(parent string, rules []ruleBlock) []policy.RuleConfig {
	out := make([]policy.RuleConfig, 0, len(rules))
	for _, r := range rules {
		if !strings.HasPrefix(r.Path, "/") {
			c.probs.add(r.Range, "%s: rule %q: the path must start with /", parent, r.Path)
		}
		c.perms(r.Range, fmt.Sprintf("%s: rule %q", parent, r.Path), r.Permissions)
		out = append(out, policy.RuleConfig{Path: r.Path, Permissions: r.Permissions})
	}
	return out
}

func (c *converter) anonymous(b *anonymousBlock) {
	if b == nil {
		return
	}
	a := &policy.AnonymousConfig{Backend: b.Backend, Home: b.Home, Permissions: b.Permissions}
	if a.Backend == "" {
		a.Backend = c.defaultBackend()
		if a.Backend == "" {
			c.probs.add(b.Range, "anonymous: backend is required when more than one backend is defined")
		}
	}
	c.backendRef(c.loc.attr(b.Range, "backend"), "anonymous", b.Backend)
	c.perms(b.Range, "anonymous", b.Permissions)
	if p, err := policy.ParsePerms(b.Permissions); err == nil && p&^(policy.PermList|policy.PermDownload) != 0 {
		c.probs.add(c.loc.attr(b.Range, "permissions"), `anonymous: permissions: only "list" and "download" are allowed`)
	}
	c.s.pol.Anonymous = a
}

func (c *converter) groups(blocks []groupBlock) {
	for _, g := range blocks {
		who := fmt.Sprintf("group %q", g.Name)
		c.perms(g.Range, who, g.Permissions)
		c.backendRef(c.loc.attr(g.Range, "backend"), who, g.Backend)
		c.s.pol.Groups = append(c.s.pol.Groups, policy.GroupConfig{
			Name:         g.Name,
			Permissions:  g.Permissions,
			Rules:        c.rules(who, g.Rules),
			Backend:      g.Backend,
			Home:         g.Home,
			Mounts:       c.mounts(who, g.Mounts),
			SessionReuse: g.SessionReuse,
		})
	}
}

func (c *converter) users(blocks []userBlock) {
	for _, u := range blocks {
		who := fmt.Sprintf("user %q", u.Name)
		r := u.Range
		uc := policy.UserConfig{
			Name:              u.Name,
			PasswordHash:      u.PasswordHash,
			Groups:            u.Groups,
			Backend:           u.Backend,
			Home:              u.Home,
			AllowFrom:         c.prefixes(r, "allow_from", u.AllowFrom),
			Permissions:       u.Permissions,
			Rules:             c.rules(who, u.Rules),
			MaxSessions:       u.MaxSessions,
			MaxFileSize:       c.size(r, "max_file_size", u.MaxFileSize),
			QuotaBytes:        c.size(r, "quota", u.Quota),
			QuotaFiles:        u.QuotaFiles,
			ClientCertSubject: u.ClientCertSubject,
			CertOnly:          u.CertOnly,
			Mounts:            c.mounts(who, u.Mounts),
			SessionReuse:      u.SessionReuse,
		}
		if u.Backend == "" {
			uc.Backend = c.defaultBackend()
			if uc.Backend == "" && len(c.s.backends) > 1 {
				c.probs.add(r, "%s: backend is required when more than one backend is defined", who)
			}
		}
		c.backendRef(c.loc.attr(r, "backend"), who, u.Backend)
		c.perms(r, who, u.Permissions)
		if u.MaxSessions < 0 {
			c.probs.add(c.loc.attr(r, "max_sessions"), "%s: max_sessions must not be negative", who)
		}
		if u.QuotaFiles < 0 {
			c.probs.add(c.loc.attr(r, "quota_files"), "%s: quota_files must not be negative", who)
		}
		if (u.ClientCertSubject != "" || u.CertOnly) && c.s.tls.ClientCAFile == "" {
			c.probs.add(r, "%s: client certificates need tls.client_ca_file", who)
		}
		if bw := u.Bandwidth; bw != nil {
			uc.UploadRate = c.rate(bw.Range, "upload", bw.Upload)
			uc.DownloadRate = c.rate(bw.Range, "download", bw.Download)
		}
		c.s.pol.Users = append(c.s.pol.Users, uc)
		c.s.users = append(c.s.users, u.Name)
	}
}

// compilePolicy runs policy.Compile and maps each of its problems back to
// the file. A problem on a line that already has one is not repeated.
func (c *converter) compilePolicy() {
	p, err := policy.Compile(c.s.pol)
	c.policyErrors(err)
	c.s.policy = p
}

// policyErrors records the problems policy.Compile reported.
func (c *converter) policyErrors(err error) {
	for _, e := range flatten(err) {
		var ce *policy.ConfigError
		if !errors.As(e, &ce) {
			c.probs.add(c.loc.start(), "%v", e)
			continue
		}
		r := c.locateConfigError(ce)
		if c.probs.has(r) {
			continue
		}
		c.probs.add(r, "%s", ce.Error())
	}
}

// flatten unwraps errors.Join trees into their leaves.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// locateConfigError finds the attribute or block a policy problem is
// about.
func (c *converter) locateConfigError(ce *policy.ConfigError) hcl.Range {
	typ, name := ce.Block, ce.Name
	switch typ {
	case "network":
		typ, name = "server", ""
	case "anonymous", "defender":
		name = ""
	case "auth":
		if name == "" {
			name = "ldap"
		}
	}
	if typ == "rule" && ce.Parent != "" {
		ptyp, plabel, _ := strings.Cut(ce.Parent, " ")
		if l, err := strconv.Unquote(plabel); err == nil {
			plabel = l
		}
		if parent, ok := c.loc.find(ptyp, plabel); ok {
			if blk, ok := findIn(parent.Body, "rule", name); ok {
				return inBlock(blk, ce.Field)
			}
			return parent.DefRange()
		}
	}
	if blk, ok := c.loc.find(typ, name); ok {
		return inBlock(blk, ce.Field)
	}
	return c.loc.start()
}

// validatePackages runs the Validate methods of the package configs, for
// what cmd's own checks do not already cover.
func (c *converter) validatePackages() {
	at := func(typ string) hcl.Range {
		if blk, ok := c.loc.find(typ, ""); ok {
			return blk.DefRange()
		}
		return c.loc.start()
	}
	if c.s.tls.Source != "" {
		for _, e := range flatten(c.s.tls.Validate()) {
			c.probs.add(at("tls"), "%v", e)
		}
	}
	gw := c.s.gw
	gw.TLS = placeholderTLS{}
	gw.Policy = func() *policy.Policy { return nil }
	gw.Backends = make(map[string]backend.Opener, len(c.s.backends))
	for _, b := range c.s.backends {
		gw.Backends[b.Name] = nil
	}
	for _, e := range flatten(gw.Validate()) {
		c.probs.add(at("server"), "%v", e)
	}
}

// placeholderTLS stands in for the TLS provider when validating a gateway
// config without starting one.
type placeholderTLS struct{}

func (placeholderTLS) NewSession(string) gateway.TLSSession { return nil }
