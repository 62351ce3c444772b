package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// This file holds the shape of the config file, as deploy/CONFIGURATION.md
// documents it, and the HCL decoding. Every optional key is optional here too; its
// default is applied in convert.go. Unknown keys are errors (gohcl without a
// "remain" field rejects them); the per-type blocks (backend, auth) keep a
// remain body that is decoded strictly by type in a second pass.

// fileConfig is the whole file.
type fileConfig struct {
	Server    *serverBlock    `hcl:"server,block"`
	TLS       *tlsBlock       `hcl:"tls,block"`
	Passive   *passiveBlock   `hcl:"passive,block"`
	Active    *activeBlock    `hcl:"active,block"`
	Metrics   *metricsBlock   `hcl:"metrics,block"`
	Log       *logBlock       `hcl:"log,block"`
	Defender  *defenderBlock  `hcl:"defender,block"`
	Backends  []backendBlock  `hcl:"backend,block"`
	Auth      []authBlock     `hcl:"auth,block"`
	Anonymous *anonymousBlock `hcl:"anonymous,block"`
	Groups    []groupBlock    `hcl:"group,block"`
	Users     []userBlock     `hcl:"user,block"`
	Admin     *adminBlock     `hcl:"admin,block"` // admin_config.go
	Hooks     []hookBlock     `hcl:"hook,block"`  // admin_hooks.go
}

type serverBlock struct {
	Listen           *[]string           `hcl:"listen,optional"`
	ImplicitListen   []string            `hcl:"implicit_listen,optional"`
	Banner           string              `hcl:"banner,optional"`
	BannerFile       string              `hcl:"banner_file,optional"`        // admin_config.go
	LoginMessageFile string              `hcl:"login_message_file,optional"` // admin_config.go
	LoginTimeout     string              `hcl:"login_timeout,optional"`
	IdleTimeout      string              `hcl:"idle_timeout,optional"`
	DataTimeout      string              `hcl:"data_timeout,optional"`
	OpTimeout        string              `hcl:"op_timeout,optional"`
	AuthTimeout      string              `hcl:"auth_timeout,optional"`
	MaxSessions      int                 `hcl:"max_sessions,optional"`
	MaxSessionsPerIP int                 `hcl:"max_sessions_per_ip,optional"`
	MaxPreauth       int                 `hcl:"max_preauth,optional"`
	MaxPreauthPerIP  int                 `hcl:"max_preauth_per_ip,optional"`
	DrainTimeout     string              `hcl:"drain_timeout,optional"`
	HashMaxSize      string              `hcl:"hash_max_size,optional"` // largest file HASH reads
	AllowFrom        []string            `hcl:"allow_from,optional"`    // global CIDR allow-list
	DenyFrom         []string            `hcl:"deny_from,optional"`     // global CIDR deny-list
	ProxyProtocol    *proxyProtocolBlock `hcl:"proxy_protocol,block"`
	Range            hcl.Range           `hcl:",def_range"`
}

type proxyProtocolBlock struct {
	TrustedCIDRs []string  `hcl:"trusted_cidrs"`
	Range        hcl.Range `hcl:",def_range"`
}

type tlsBlock struct {
	Source       string `hcl:"source"`
	CertFile     string `hcl:"cert_file,optional"`
	KeyFile      string `hcl:"key_file,optional"`
	MinVersion   string `hcl:"min_version,optional"`
	Require      string `hcl:"require,optional"`
	SessionReuse string `hcl:"session_reuse,optional"`
	ClientCAFile string `hcl:"client_ca_file,optional"`
	ClientCert   string `hcl:"client_cert,optional"`
	// Data-channel binding and its exemptions, revocation, SNI.
	SessionBinding        string     `hcl:"session_binding,optional"`          // "user" (default) | "session"
	ReuseExemptFrom       []string   `hcl:"reuse_exempt_from,optional"`        // CIDRs served as with session_reuse = "observe"
	CloseNotifyExemptFrom []string   `hcl:"close_notify_exempt_from,optional"` // CIDRs whose uploads may end without close_notify
	ClientCRLFile         string     `hcl:"client_crl_file,optional"`          // PEM or DER CRL of client_ca_file's CAs
	StrictSNI             bool       `hcl:"strict_sni,optional"`               // refuse SNI names the certificates do not cover
	StateDir              string     `hcl:"state_dir,optional"`                // self_signed: where the certificate is kept
	Hostnames             []string   `hcl:"hostnames,optional"`                // self_signed: names in the certificate
	ACME                  *acmeBlock `hcl:"acme,block"`
	Range                 hcl.Range  `hcl:",def_range"`
}

type acmeBlock struct {
	Domains      []string  `hcl:"domains"`
	Email        string    `hcl:"email,optional"`
	CAURL        string    `hcl:"ca_url,optional"`
	CARootFile   string    `hcl:"ca_root_file,optional"`
	Storage      string    `hcl:"storage,optional"`
	Challenges   []string  `hcl:"challenges,optional"`
	HTTPPort     *int      `hcl:"http_port,optional"`
	TLSALPNPort  *int      `hcl:"tls_alpn_port,optional"`
	ListenHost   string    `hcl:"listen_host,optional"`   // where the challenge solvers bind; "": all addresses
	OCSPStapling *bool     `hcl:"ocsp_stapling,optional"` // default true
	Range        hcl.Range `hcl:",def_range"`
}

type passiveBlock struct {
	PortRange     string            `hcl:"port_range,optional"`
	PublicAddress string            `hcl:"public_address,optional"`
	MaxPerClient  int               `hcl:"max_per_client,optional"` // passive ports one user holds from one address
	AddressFor    []addressForBlock `hcl:"address_for,block"`
	Range         hcl.Range         `hcl:",def_range"`
}

type addressForBlock struct {
	Network string    `hcl:"network,label"`
	Address string    `hcl:"address"`
	Range   hcl.Range `hcl:",def_range"`
}

type activeBlock struct {
	Enabled bool      `hcl:"enabled,optional"`
	Range   hcl.Range `hcl:",def_range"`
}

type metricsBlock struct {
	Listen                *string   `hcl:"listen,optional"`
	PerUser               bool      `hcl:"per_user,optional"`
	BasicAuthUser         string    `hcl:"basic_auth_user,optional"`
	BasicAuthPasswordFile string    `hcl:"basic_auth_password_file,optional"`
	TLSCertFile           string    `hcl:"tls_cert_file,optional"`
	TLSKeyFile            string    `hcl:"tls_key_file,optional"`
	Range                 hcl.Range `hcl:",def_range"`
}

type logBlock struct {
	Level          string    `hcl:"level,optional"`
	Format         string    `hcl:"format,optional"`
	TransferLog    string    `hcl:"transfer_log,optional"`
	TransferFormat string    `hcl:"transfer_format,optional"`
	Syslog         string    `hcl:"syslog,optional"` // also send every line to a syslog receiver (RFC 5424)
	Range          hcl.Range `hcl:",def_range"`
}

type defenderBlock struct {
	MaxFailures *int     `hcl:"max_failures,optional"`
	Window      string   `hcl:"window,optional"`
	Ban         string   `hcl:"ban,optional"`
	MaxBan      string   `hcl:"max_ban,optional"`
	Exempt      []string `hcl:"exempt,optional"` // CIDRs never counted or banned
	// The per-account throttle against password spraying.
	AccountFailures *int      `hcl:"account_failures,optional"`
	AccountMaxDelay string    `hcl:"account_max_delay,optional"`
	Range           hcl.Range `hcl:",def_range"`
}

// backendBlock is `backend "TYPE" "NAME" { ... }`; Body is decoded into
// the config struct that TYPE's package registered (gateway/backend).
type backendBlock struct {
	Type  string    `hcl:"type,label"`
	Name  string    `hcl:"name,label"`
	Body  hcl.Body  `hcl:",remain"`
	Range hcl.Range `hcl:",def_range"`
}

// authBlock is `auth "PROVIDER" { ... }`.
type authBlock struct {
	Type  string    `hcl:"type,label"`
	Body  hcl.Body  `hcl:",remain"`
	Range hcl.Range `hcl:",def_range"`
}

// upstreamBlock is `auth "upstream"` (convert_users.go).
type upstreamBlock struct {
	Backend  string   `hcl:"backend"`
	Home     string   `hcl:"home,optional"`
	Groups   []string `hcl:"groups,optional"`
	CacheTTL string   `hcl:"cache_ttl,optional"`
}

type ldapBlock struct {
	URL            string `hcl:"url"`
	BindDNTemplate string `hcl:"bind_dn_template"`
	GroupAttribute string `hcl:"group_attribute,optional"`
	StartTLS       bool   `hcl:"start_tls,optional"`
	CAFile         string `hcl:"ca_file,optional"`
	Timeout        string `hcl:"timeout,optional"`
	CacheTTL       string `hcl:"cache_ttl,optional"`
	DefaultBackend string `hcl:"default_backend,optional"`
	DefaultHome    string `hcl:"default_home,optional"`
}

type anonymousBlock struct {
	Backend     string    `hcl:"backend,optional"`
	Home        string    `hcl:"home,optional"`
	Permissions []string  `hcl:"permissions,optional"`
	Range       hcl.Range `hcl:",def_range"`
}

type groupBlock struct {
	Name         string       `hcl:"name,label"`
	Permissions  []string     `hcl:"permissions,optional"`
	Rules        []ruleBlock  `hcl:"rule,block"`
	Backend      string       `hcl:"backend,optional"`
	Home         string       `hcl:"home,optional"`
	Mounts       []mountBlock `hcl:"mount,block"`
	SessionReuse string       `hcl:"session_reuse,optional"`
	Range        hcl.Range    `hcl:",def_range"`
}

type ruleBlock struct {
	Path        string    `hcl:"path,label"`
	Permissions []string  `hcl:"permissions"`
	Range       hcl.Range `hcl:",def_range"`
}

type userBlock struct {
	Name              string          `hcl:"name,label"`
	PasswordHash      string          `hcl:"password_hash,optional"`
	Groups            []string        `hcl:"groups,optional"`
	Backend           string          `hcl:"backend,optional"`
	Home              string          `hcl:"home,optional"`
	AllowFrom         []string        `hcl:"allow_from,optional"`
	Permissions       []string        `hcl:"permissions,optional"`
	Rules             []ruleBlock     `hcl:"rule,block"`
	MaxSessions       int             `hcl:"max_sessions,optional"`
	MaxFileSize       string          `hcl:"max_file_size,optional"`
	Quota             string          `hcl:"quota,optional"`
	QuotaFiles        int64           `hcl:"quota_files,optional"`
	ClientCertSubject string          `hcl:"client_cert_subject,optional"`
	CertOnly          bool            `hcl:"cert_only,optional"`
	Bandwidth         *bandwidthBlock `hcl:"bandwidth,block"`
	Mounts            []mountBlock    `hcl:"mount,block"`
	SessionReuse      string          `hcl:"session_reuse,optional"`
	Range             hcl.Range       `hcl:",def_range"`
}

type bandwidthBlock struct {
	Upload   string    `hcl:"upload,optional"`
	Download string    `hcl:"download,optional"`
	Range    hcl.Range `hcl:",def_range"`
}

// problem is one thing wrong with the config file, at a place in it.
type problem struct {
	rng     hcl.Range
	msg     string
	warning bool
}

// problems collects every problem found while loading a config file.
type problems struct {
	file string // fallback file name for problems without a range
	list []problem
}

func (p *problems) add(r hcl.Range, format string, args ...any) {
	p.list = append(p.list, problem{rng: p.fix(r), msg: fmt.Sprintf(format, args...)})
}

func (p *problems) warn(r hcl.Range, format string, args ...any) {
	p.list = append(p.list, problem{rng: p.fix(r), msg: fmt.Sprintf(format, args...), warning: true})
}

// fix fills in the file name of a range that has none; a range without a
// line stands for the whole file.
func (p *problems) fix(r hcl.Range) hcl.Range {
	if r.Filename == "" {
		r.Filename = p.file
	}
	return r
}

// addDiags records HCL diagnostics.
func (p *problems) addDiags(diags hcl.Diagnostics) {
	for _, d := range diags {
		var r hcl.Range
		if d.Subject != nil {
			r = *d.Subject
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		if d.Severity == hcl.DiagWarning {
			p.warn(r, "%s", msg)
		} else {
			p.add(r, "%s", msg)
		}
	}
}

// errors counts the problems that are not warnings.
func (p *problems) errors() int {
	n := 0
	for _, q := range p.list {
		if !q.warning {
			n++
		}
	}
	return n
}

// has reports whether an error is already recorded at r's line.
func (p *problems) has(r hcl.Range) bool {
	r = p.fix(r)
	for _, q := range p.list {
		if !q.warning && q.rng.Filename == r.Filename && q.rng.Start.Line == r.Start.Line {
			return true
		}
	}
	return false
}

// sorted returns the problems in file order.
func (p *problems) sorted() []problem {
	out := slices.Clone(p.list)
	slices.SortStableFunc(out, func(a, b problem) int {
		return cmp.Or(cmp.Compare(a.rng.Filename, b.rng.Filename),
			cmp.Compare(a.rng.Start.Line, b.rng.Start.Line),
			cmp.Compare(a.rng.Start.Column, b.rng.Start.Column))
	})
	return out
}

// print writes each problem as "file:line: message" ("file: message"
// for problems with the whole file).
func (p *problems) print(w io.Writer) {
	for _, q := range p.sorted() {
		msg := q.msg
		if q.warning {
			msg = "warning: " + msg
		}
		fmt.Fprintf(w, "%s: %s\n", q.where(), msg)
	}
}

// where is "file:line", or "file" for a problem with the whole file.
func (q problem) where() string {
	if q.rng.Start.Line == 0 {
		return q.rng.Filename
	}
	return fmt.Sprintf("%s:%d", q.rng.Filename, q.rng.Start.Line)
}

// parseFile decodes src, read from path. The returned config is usable (as
// far as it was decoded) even when problems were recorded, unless ok is
// false: the file is not valid HCL syntax.
func parseFile(path string, src []byte, probs *problems) (*fileConfig, *locator, bool) {
	parser := hclparse.NewParser()
	f, diags := parser.ParseHCL(src, path)
	probs.addDiags(diags)
	loc := newLocator(f)
	var fc fileConfig
	if f == nil || diags.HasErrors() {
		return &fc, loc, false
	}
	probs.addDiags(gohcl.DecodeBody(f.Body, nil, &fc))
	return &fc, loc, true
}

// locator finds the source range of blocks and attributes, so semantic
// problems found after decoding point at the offending line.
type locator struct {
	file   string
	top    *hclsyntax.Body
	blocks map[int]*hclsyntax.Block // by DefRange start byte
}

func newLocator(f *hcl.File) *locator {
	l := &locator{blocks: make(map[int]*hclsyntax.Block)}
	if f == nil {
		return l
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return l
	}
	l.top = body
	l.file = body.SrcRange.Filename
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, blk := range b.Blocks {
			l.blocks[blk.DefRange().Start.Byte] = blk
			walk(blk.Body)
		}
	}
	walk(body)
	return l
}

// attr returns the range of attribute name inside the block defined at
// block, or block itself when the attribute is absent.
func (l *locator) attr(block hcl.Range, name string) hcl.Range {
	if blk, ok := l.blocks[block.Start.Byte]; ok && block.Filename != "" {
		if a, ok := blk.Body.Attributes[name]; ok {
			return a.SrcRange
		}
	}
	return block
}

// elem returns the range of element i of the list attribute name inside
// the block defined at block; the attribute, or the block, when there is
// no such element.
func (l *locator) elem(block hcl.Range, name string, i int) hcl.Range {
	if blk, ok := l.blocks[block.Start.Byte]; ok && block.Filename != "" {
		if a, ok := blk.Body.Attributes[name]; ok {
			if tup, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(tup.Exprs) {
				return tup.Exprs[i].Range()
			}
			return a.SrcRange
		}
	}
	return block
}

// find returns the top-level block of type typ whose last label is name
// ("" matches a block without labels).
func (l *locator) find(typ, name string) (*hclsyntax.Block, bool) {
	if l.top == nil {
		return nil, false
	}
	return findIn(l.top, typ, name)
}

func findIn(b *hclsyntax.Body, typ, name string) (*hclsyntax.Block, bool) {
	for _, blk := range b.Blocks {
		if blk.Type != typ {
			continue
		}
		if name == "" && len(blk.Labels) == 0 || len(blk.Labels) > 0 && blk.Labels[len(blk.Labels)-1] == name {
			return blk, true
		}
	}
	return nil, false
}

// inBlock returns the range of field inside blk (an attribute, else a
// nested block of that type), or blk's definition.
func inBlock(blk *hclsyntax.Block, field string) hcl.Range {
	if field != "" {
		if a, ok := blk.Body.Attributes[field]; ok {
			return a.SrcRange
		}
		if typ, label, ok := strings.Cut(field, " "); ok { // "mount /archive"
			if nb, ok := findIn(blk.Body, typ, label); ok {
				return nb.DefRange()
			}
		}
		if nb, ok := findAny(blk.Body, field); ok {
			return nb.DefRange()
		}
	}
	return blk.DefRange()
}

func findAny(b *hclsyntax.Body, typ string) (*hclsyntax.Block, bool) {
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			return blk, true
		}
	}
	return nil, false
}

// start is the range of the file's first line, for problems that belong to
// no block.
func (l *locator) start() hcl.Range {
	return hcl.Range{Filename: l.file, Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
}
