package policy

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"time"
)

// UpstreamConfig is the `auth "upstream"` block: a user not defined in
// the file logs in with whatever name and password the storage behind
// Backend accepts (an upstream FTP server, credentials = "passthrough"),
// so that server stays the one place where accounts live.
type UpstreamConfig struct {
	// Backend is the backend whose storage checks the password; such
	// users are served from it.
	Backend string
	// Home is the directory inside the backend that becomes the user's
	// "/" and may contain {user}; default "/".
	Home string
	// Groups are the group blocks every such user belongs to: their
	// permissions, rules and mounts apply. Without groups, the users may
	// do nothing.
	Groups []string
	// CacheTTL keeps a successful check this long (0: 30s, negative: no
	// cache, at most 1h), so a burst of sessions costs the upstream one
	// login.
	CacheTTL time.Duration
}

// upstreamProvider is a compiled UpstreamConfig.
type upstreamProvider struct {
	cfg    UpstreamConfig
	groups []*group
	cache  *credCache[struct{}]
}

// compileUpstream checks the block against the snapshot's groups.
func (p *Policy) compileUpstream(c UpstreamConfig, withLDAP bool, errs *[]error) *upstreamProvider {
	bad := func(field, msg string) {
		*errs = append(*errs, &ConfigError{Block: "auth", Name: "upstream", Field: field, Msg: msg})
	}
	up := &upstreamProvider{cfg: c}
	if withLDAP {
		bad("", `only one of auth "ldap" and auth "upstream" may decide who users not in the file are`)
	}
	if c.Backend == "" {
		bad("backend", "required: the backend whose storage checks the passwords")
	}
	if c.Home != "" && !isCleanAbs(strings.ReplaceAll(c.Home, "{user}", "x")) {
		bad("home", "must be a clean absolute path")
	}
	for _, n := range c.Groups {
		g := p.groups[n]
		if g == nil {
			bad("groups", "group "+n+" is not defined")
			continue
		}
		up.groups = append(up.groups, g)
	}
	up.cfg.CacheTTL = cacheTTL(c.CacheTTL, bad)
	up.cache = newCredCache[struct{}](up.cfg.CacheTTL)
	return up
}

// authUpstream authenticates a user that is not in the file against the
// upstream storage, through the gateway's req.Upstream.
func (p *Policy) authUpstream(ctx context.Context, req LoginRequest) (*Identity, error) {
	up := p.upstream
	if _, ok := up.cache.get(req.User, req.Password); !ok {
		if req.Upstream == nil {
			return nil, &AuthError{Reason: ReasonUnavailable, Err: errors.New("no upstream authenticator")}
		}
		if err := req.Upstream(ctx, up.cfg.Backend, req.User, req.Password); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				// Unknown and wrong are one answer upstream, and here.
				return nil, &AuthError{Reason: ReasonBadPassword, Err: err}
			}
			return nil, &AuthError{Reason: ReasonUnavailable, Err: err}
		}
		up.cache.put(req.User, req.Password, struct{}{})
	}
	home := homeOr(strings.ReplaceAll(up.cfg.Home, "{user}", req.User))
	if !isCleanAbs(home) {
		return nil, &AuthError{Reason: ReasonUnknownUser, Err: errors.New("upstream user has no valid home")}
	}
	id := &Identity{User: req.User, Backend: up.cfg.Backend, Home: home, Source: "upstream"}
	for _, g := range up.groups {
		id.Groups = append(id.Groups, g.cfg.Name)
	}
	id.Mounts = mountsFor(nil, up.groups)
	id.ReuseExempt = reuseExempt("", up.groups)
	return id, nil
}
