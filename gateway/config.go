package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// ReuseMode is how data-connection TLS session binding is enforced.
type ReuseMode int

// Session reuse modes; the zero value is the safe one.
const (
	ReuseRequired ReuseMode = iota // refuse unbound data connections (522)
	ReuseObserve                   // accept, but log and count them
	ReuseOff                       // do not check
)

// ParseReuseMode parses the tls.session_reuse setting.
func ParseReuseMode(s string) (ReuseMode, error) {
	switch s {
	case "", "required":
		return ReuseRequired, nil
	case "observe":
		return ReuseObserve, nil
	case "off":
		return ReuseOff, nil
	}
	return 0, fmt.Errorf("session_reuse %q: want required, observe or off", s)
}

// AddressFor announces Address in PASV replies to clients inside Network.
type AddressFor struct {
	Network netip.Prefix
	Address netip.Addr
}

// Config is everything the gateway needs; cmd/ftpsgw builds it from the
// config file. Zero durations and limits take the defaults documented on
// each field, and the zero value of every security knob is the strict one.
type Config struct {
	Banner           string        // default "ftpsgw ready"
	LoginTimeout     time.Duration // connect -> logged in; default 30s
	IdleTimeout      time.Duration // no command and no transfer; default 5m
	DataTimeout      time.Duration // waiting for a data connection; default 30s
	MaxSessions      int           // default 2000
	MaxSessionsPerIP int           // default 32
	// MaxPreauth caps the connections that have not logged in yet, so
	// idle pre-login connections cannot take every session slot; default
	// (0) half of MaxSessions. MaxPreauthPerIP is the same per client
	// address; default (0) 64, so many clients behind one NAT get in.
	// At a cap the newest connection is refused (421): the login timeout
	// already ends the oldest, and refusing never cuts a client that is
	// about to log in.
	MaxPreauth      int
	MaxPreauthPerIP int
	// MaxPassivePerClient caps the passive ports one user holds at once
	// from one client address, across its sessions (each holds at most
	// one), so no user can take the whole range; default (0) 16.
	MaxPassivePerClient int
	// OpTimeout bounds one backend operation on the control path (a Stat,
	// a Mkdir, a rename); default (0) 2 minutes. Backends have their own
	// per-request timeouts below it.
	OpTimeout time.Duration
	// AuthTimeout bounds one password check, LDAP and upstream logins
	// included; default (0) 15 seconds.
	AuthTimeout time.Duration

	// AllowClearData is tls.require = "login": after an encrypted login,
	// PROT C data connections are allowed. False (the default) is "all".
	AllowClearData bool
	SessionReuse   ReuseMode
	// ReuseExemptFrom (tls.reuse_exempt_from) are client networks whose
	// unbound data connections are accepted, logged and counted as with
	// session_reuse = "observe", for legacy clients that cannot resume.
	ReuseExemptFrom []netip.Prefix
	// CloseNotifyExemptFrom (tls.close_notify_exempt_from) are client
	// networks whose uploads may end without a TLS close_notify: kept,
	// logged and counted instead of discarded with 426.
	CloseNotifyExemptFrom []netip.Prefix

	PassivePortMin, PassivePortMax int        // inclusive; default 50000-50999
	PublicAddress                  netip.Addr // zero: the control connection's local address
	AddressFor                     []AddressFor
	ActiveEnabled                  bool

	// TrustedProxies are the networks whose PROXY protocol headers are
	// believed; empty: PROXY protocol off.
	TrustedProxies []netip.Prefix
	// DataConnWrapper, when set, receives every accepted passive data
	// connection before the peer check. It returns the connection to use
	// (with RemoteAddr taken from a PROXY header when the peer is a trusted
	// proxy that forwards the passive range), or an error to drop it.
	// cmd/ftpsgw sets it with TrustedProxies; the gateway stays free of
	// PROXY-protocol code.
	DataConnWrapper func(net.Conn) (net.Conn, error)

	TLS       TLSProvider
	Backends  map[string]backend.Opener
	Policy    func() *policy.Policy // the snapshot in force (swapped on reload)
	Defender  *policy.Defender
	Bandwidth *policy.Bandwidth
	Quotas    *policy.Quotas

	// HashMaxSize is the largest file HASH, XCRC, XMD5, XSHA1, XSHA256 and
	// XSHA512 read to compute a digest (larger: 556). 0 means the default,
	// 10 GiB; negative means no limit. Answers from the hash cache cost no
	// read and are not limited.
	HashMaxSize int64

	// Notices, when set, returns the banner_file and login_message_file
	// lines (see NoticeLines); called at each greeting and login, so a
	// reload takes effect for new sessions.
	Notices func() Notices

	Observer    Observer       // nil: NopObserver
	Screener    Screener       // nil: uploads are published unscreened
	TransferLog TransferLogger // nil: transfers are logged to Logger
	Logger      hclog.Logger   // nil: hclog.NewNullLogger()
}

func (c *Config) setDefaults() {
	if c.Banner == "" {
		c.Banner = "ftpsgw ready"
	}
	if c.LoginTimeout == 0 {
		c.LoginTimeout = 30 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.DataTimeout == 0 {
		c.DataTimeout = 30 * time.Second
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 2000
	}
	if c.MaxSessionsPerIP == 0 {
		c.MaxSessionsPerIP = 32
	}
	if c.MaxPreauth == 0 {
		c.MaxPreauth = max(1, c.MaxSessions/2)
	}
	if c.MaxPreauthPerIP == 0 {
		c.MaxPreauthPerIP = 64
	}
	if c.MaxPassivePerClient == 0 {
		c.MaxPassivePerClient = 16
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 2 * time.Minute
	}
	if c.AuthTimeout == 0 {
		c.AuthTimeout = 15 * time.Second
	}
	if c.PassivePortMin == 0 && c.PassivePortMax == 0 {
		c.PassivePortMin, c.PassivePortMax = 50000, 50999
	}
	if c.Defender == nil {
		c.Defender = policy.NewDefender(policy.DefenderConfig{}, time.Now)
	}
	if c.Bandwidth == nil {
		c.Bandwidth = policy.NewBandwidth()
	}
	if c.Quotas == nil {
		c.Quotas = policy.NewQuotas()
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
}

// Validate reports every problem in c that setDefaults cannot fix.
func (c *Config) Validate() error {
	var errs []error
	if c.TLS == nil {
		errs = append(errs, errors.New("gateway: no TLS provider"))
	}
	if c.Policy == nil {
		errs = append(errs, errors.New("gateway: no policy"))
	}
	if len(c.Backends) == 0 {
		errs = append(errs, errors.New("gateway: no backend"))
	}
	lo, hi := c.PassivePortMin, c.PassivePortMax
	if !(lo == 0 && hi == 0) && (lo < 1024 || hi > 65535 || lo > hi) {
		errs = append(errs, fmt.Errorf("passive port_range %d-%d: want 1024 <= low <= high <= 65535", lo, hi))
	}
	if c.LoginTimeout < 0 || c.IdleTimeout < 0 || c.DataTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	return errors.Join(errs...)
}
