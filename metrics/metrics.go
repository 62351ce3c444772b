package metrics

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ftpsgw/ftpsgw/gateway"
)

const namespace = "ftpsgw"

// Config configures the metrics listener and label policy. The zero value
// is valid: no per-user labels, no authentication, plain HTTP.
type Config struct {
	// Listen is the address of the /metrics, /healthz and /readyz
	// listener; "" turns it off. The binary binds it and passes the
	// listener to Serve.
	Listen string
	// PerUser adds a "user" label to logins (successful ones only),
	// ACL denials and transfers. Off by default: user names are then
	// ignored entirely.
	PerUser bool
	// BasicAuthUser, when set, requires HTTP basic authentication on
	// /metrics and /readyz; the password is the first line of
	// BasicAuthPasswordFile, which must not be accessible to others.
	BasicAuthUser         string
	BasicAuthPasswordFile string
	// TLSCertFile and TLSKeyFile, when both set, serve HTTPS (TLS 1.2+).
	// The key file must not be accessible to others.
	TLSCertFile string
	TLSKeyFile  string
	// Logger receives HTTP server and readiness errors; nil discards them.
	Logger hclog.Logger
}

// Metrics is the Prometheus side of the gateway: a private registry, the
// gateway.Observer implementation and the HTTP listener. Create it with
// New; all methods are safe for concurrent use.
type Metrics struct {
	cfg    Config
	reg    *prometheus.Registry
	logger hclog.Logger

	connAccepted   prometheus.Counter
	connRejected   *prometheus.CounterVec
	sessions       prometheus.Gauge
	logins         *prometheus.CounterVec
	handshakes     *prometheus.CounterVec
	commands       *prometheus.CounterVec
	denials        *prometheus.CounterVec
	transfers      *prometheus.CounterVec
	bytes          *prometheus.CounterVec
	xferDuration   *prometheus.HistogramVec
	pasvInUse      prometheus.Gauge
	pasvExhausted  prometheus.Counter
	dataRefused    *prometheus.CounterVec
	dataUnbound    *prometheus.CounterVec
	uploadUnclosed prometheus.Counter
	bans           prometheus.Counter
	backendDur     *prometheus.HistogramVec
	backendErrs    *prometheus.CounterVec
	backendUp      *prometheus.GaugeVec

	typesMu      sync.RWMutex
	backendTypes map[string]string // guarded by typesMu: backend name -> type
	reloads      *prometheus.CounterVec

	banSource  atomic.Pointer[func() int]
	thrSource  atomic.Pointer[func() int]
	certSource atomic.Pointer[func() map[string]time.Time]

	http httpState

	readyMu sync.Mutex
	ready   []readyCheck
}

var _ gateway.Observer = (*Metrics)(nil)

// New builds the registry with every ftpsgw_ metric, the Go runtime and
// process collectors and ftpsgw_build_info{version,goversion}. It reads the
// basic-auth password file and the TLS key pair, if configured, and fails
// if they are unusable.
func New(cfg Config, version string) (*Metrics, error) {
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry(), logger: cfg.Logger}
	if m.logger == nil {
		m.logger = hclog.NewNullLogger()
	}
	if err := m.http.load(cfg); err != nil {
		return nil, err
	}
	m.register(version)
	return m, nil
}

// Registry returns the private registry, for tests and for registering
// further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) userLabels(base ...string) []string {
	if m.cfg.PerUser {
		return append(base, "user")
	}
	return base
}

func (m *Metrics) register(version string) {
	f := factory{reg: m.reg}
	m.connAccepted = f.counter("connections_accepted_total", "Control connections accepted.")
	m.connRejected = f.counterVec("connections_rejected_total", "Control connections refused at accept.", "reason")
	m.sessions = f.gauge("sessions_active", "FTP sessions currently open.")
	m.logins = f.counterVec("logins_total", "Login attempts by result.", m.userLabels("result")...)
	m.handshakes = f.counterVec("tls_handshakes_total", "TLS handshakes by channel, negotiated version and result.",
		"channel", "version", "result")
	m.commands = f.counterVec("commands_total", "FTP commands by verb (allow-listed, else OTHER) and reply class.",
		"command", "class")
	m.denials = f.counterVec("acl_denials_total", "Operations denied by the access policy.", m.userLabels("operation")...)
	m.transfers = f.counterVec("transfers_total", "Finished transfers by direction and result.",
		m.userLabels("direction", "result")...)
	m.bytes = f.counterVec("transfer_bytes_total", "Bytes moved by transfers, by direction.", m.userLabels("direction")...)
	m.xferDuration = f.histogramVec("transfer_duration_seconds", "Duration of finished transfers.",
		[]float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800}, "direction")
	m.pasvInUse = f.gauge("passive_ports_in_use", "Passive data ports currently allocated.")
	m.pasvExhausted = f.counter("passive_allocation_failures_total", "Passive port requests refused because the range was exhausted.")
	m.dataRefused = f.counterVec("data_connections_refused_total", "Data connections refused, by reason.", "reason")
	m.dataUnbound = f.counterVec("data_connections_unbound_accepted_total",
		"Data connections whose TLS session was not bound to their control session, accepted because session_reuse is \"observe\" "+
			"or the client is in reuse_exempt_from, by why they were not bound.", "reason")
	m.uploadUnclosed = f.counter("uploads_unclosed_accepted_total",
		"Uploads whose TLS stream ended without close_notify, kept because the client is in close_notify_exempt_from.")
	m.bans = f.counter("defender_bans_total", "Client IPs banned by the defender.")
	m.backendDur = f.histogramVec("backend_operation_duration_seconds", "Latency of backend operations.",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "backend", "type", "operation")
	m.backendErrs = f.counterVec("backend_errors_total", "Backend operations that returned an error.", "backend", "type", "operation")
	m.backendUp = f.gaugeVec("backend_up", "1 when the backend's last readiness probe passed, else 0.", "backend", "type")
	m.reloads = f.counterVec("config_reloads_total", "Configuration reloads by result.", "result")

	f.mustRegister(sourceGauge("defender_bans_active", "Client IPs currently banned.", &m.banSource))
	f.mustRegister(sourceGauge("defender_accounts_throttled",
		"User names whose login attempts are being spaced out after repeated failures (password spraying).", &m.thrSource))
	f.mustRegister(&certCollector{m: m})
	f.mustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info", Help: "Always 1; labels carry the version and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	}, func() float64 { return 1 }))
	f.mustRegister(collectors.NewGoCollector())
	f.mustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.precreate()
}

// precreate initialises the series of closed label sets at zero, so that
// rate() and ratio alerts see a series from the first scrape on.
func (m *Metrics) precreate() {
	for _, r := range rejectReasons.members() {
		m.connRejected.WithLabelValues(r)
	}
	for _, r := range refuseReasons.members() {
		m.dataRefused.WithLabelValues(r)
	}
	for _, r := range unboundReasons.members() {
		m.dataUnbound.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "error"} {
		m.reloads.WithLabelValues(r)
	}
	if m.cfg.PerUser {
		return // user-labelled series appear with their users
	}
	for _, r := range loginResults.members() {
		m.logins.WithLabelValues(r)
	}
	for _, d := range directions.members() {
		m.bytes.WithLabelValues(d)
		for _, r := range transferResult.members() {
			m.transfers.WithLabelValues(d, r)
		}
	}
}

// ConnAccepted counts an accepted control connection.
func (m *Metrics) ConnAccepted() { m.connAccepted.Inc() }

// ConnRejected counts a connection refused at accept.
func (m *Metrics) ConnRejected(reason gateway.RejectReason) {
	m.connRejected.WithLabelValues(closed(rejectReasons, string(reason))).Inc()
}

// SessionOpened raises ftpsgw_sessions_active.
func (m *Metrics) SessionOpened() { m.sessions.Inc() }

// SessionClosed lowers ftpsgw_sessions_active.
func (m *Metrics) SessionClosed() { m.sessions.Dec() }

// Login counts a login attempt. With PerUser the user label carries the
// name of successful logins only; failed attempts get user="" because the
// name is whatever the client typed.
func (m *Metrics) Login(result gateway.LoginResult, user string) {
	r := closed(loginResults, string(result))
	if !m.cfg.PerUser {
		m.logins.WithLabelValues(r).Inc()
		return
	}
	if result != gateway.LoginOK {
		user = ""
	}
	m.logins.WithLabelValues(r, nameLabel(user)).Inc()
}

// TLSHandshake counts a finished TLS handshake; version is the negotiated
// crypto/tls version (0 or anything unknown becomes "unknown"/"none").
func (m *Metrics) TLSHandshake(channel gateway.Channel, version uint16, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	v := TLSVersionName(version)
	if v == "none" {
		v = "unknown"
	}
	m.handshakes.WithLabelValues(closed(channels, string(channel)), v, result).Inc()
}

// Command counts a command and the class of its reply. Verbs outside the
// FTP allow-list are counted as OTHER.
func (m *Metrics) Command(verb string, code int) {
	m.commands.WithLabelValues(verbLabel(verb), codeClass(code)).Inc()
}

// Denied counts an operation refused by the access policy. Operations
// outside policy.PermNames are counted as "other".
func (m *Metrics) Denied(op string, user string) {
	o := closed(operations, op)
	if m.cfg.PerUser {
		m.denials.WithLabelValues(o, nameLabel(user)).Inc()
		return
	}
	m.denials.WithLabelValues(o).Inc()
}

// Transfer counts a finished transfer, its bytes and its duration. Path
// and client address are never used.
func (m *Metrics) Transfer(rec gateway.TransferRecord) {
	d := closed(directions, string(rec.Direction))
	r := closed(transferResult, string(rec.Result))
	if m.cfg.PerUser {
		u := nameLabel(rec.User)
		m.transfers.WithLabelValues(d, r, u).Inc()
		m.bytes.WithLabelValues(d, u).Add(nonNegative(rec.Bytes))
	} else {
		m.transfers.WithLabelValues(d, r).Inc()
		m.bytes.WithLabelValues(d).Add(nonNegative(rec.Bytes))
	}
	m.xferDuration.WithLabelValues(d).Observe(rec.Duration.Seconds())
}

func nonNegative(n int64) float64 {
	if n < 0 {
		return 0
	}
	return float64(n)
}

// PassivePorts sets the number of passive ports in use.
func (m *Metrics) PassivePorts(inUse int) { m.pasvInUse.Set(float64(inUse)) }

// PassiveExhausted counts a passive request refused for lack of ports.
func (m *Metrics) PassiveExhausted() { m.pasvExhausted.Inc() }

// DataRefused counts a refused data connection.
func (m *Metrics) DataRefused(reason gateway.DataRefuseReason) {
	m.dataRefused.WithLabelValues(closed(refuseReasons, string(reason))).Inc()
}

// DataUnbound counts a data connection accepted although its TLS session
// was not bound to its FTP session (observe mode, or an exempt client).
func (m *Metrics) DataUnbound(reason gateway.UnboundReason) {
	m.dataUnbound.WithLabelValues(closed(unboundReasons, string(reason))).Inc()
}

// UnclosedUploadAccepted counts an upload kept although it ended without
// close_notify (an exempt client).
func (m *Metrics) UnclosedUploadAccepted() { m.uploadUnclosed.Inc() }

// Banned counts a defender ban.
func (m *Metrics) Banned(netip.Addr) { m.bans.Inc() }

// Changed implements gateway.Observer; changes are counted by the command
// metric already.
func (m *Metrics) Changed(gateway.ChangeRecord) {}

// BackendOp observes the latency of one backend operation and counts it as
// an error if err is non-nil. backend is a configured backend name.
func (m *Metrics) BackendOp(backend, op string, d time.Duration, err error) {
	b, t, o := nameLabel(backend), m.backendType(backend), opLabel(op)
	m.backendDur.WithLabelValues(b, t, o).Observe(d.Seconds())
	if err != nil {
		m.backendErrs.WithLabelValues(b, t, o).Inc()
	}
}

// SetBackendType records a configured backend's type ("local", "sftp"),
// the type label of its metrics.
func (m *Metrics) SetBackendType(name, typ string) {
	m.typesMu.Lock()
	defer m.typesMu.Unlock()
	if m.backendTypes == nil {
		m.backendTypes = make(map[string]string)
	}
	m.backendTypes[name] = typ
}

func (m *Metrics) backendType(name string) string {
	m.typesMu.RLock()
	defer m.typesMu.RUnlock()
	if t, ok := m.backendTypes[name]; ok {
		return nameLabel(t)
	}
	return "unknown"
}

// setBackendUp sets ftpsgw_backend_up from a readiness probe.
func (m *Metrics) setBackendUp(name string, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.backendUp.WithLabelValues(nameLabel(name), m.backendType(name)).Set(v)
}

// ConfigReload counts a configuration reload (SIGHUP) by its outcome.
func (m *Metrics) ConfigReload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
		return
	}
	m.reloads.WithLabelValues("error").Inc()
}

// SetBanSource sets the function ftpsgw_defender_bans_active reports (the
// defender's number of active bans). It is called on every scrape and must
// be fast and concurrency-safe. nil reports 0.
func (m *Metrics) SetBanSource(fn func() int) { setSource(&m.banSource, fn) }

// SetThrottleSource sets the function ftpsgw_defender_accounts_throttled
// reports (the defender's throttled user names), on the same terms as
// SetBanSource.
func (m *Metrics) SetThrottleSource(fn func() int) { setSource(&m.thrSource, fn) }

func setSource(p *atomic.Pointer[func() int], fn func() int) {
	if fn == nil {
		p.Store(nil)
		return
	}
	p.Store(&fn)
}

// sourceGauge is a gauge that calls the function in p at each scrape (0
// while there is none).
func sourceGauge(name, help string, p *atomic.Pointer[func() int]) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help},
		func() float64 {
			if fn := p.Load(); fn != nil {
				return float64((*fn)())
			}
			return 0
		})
}

// SetCertExpiry sets the function behind
// ftpsgw_certificate_expiry_timestamp_seconds{name}: certificate name to
// NotAfter (tlsmgr's Expiries). It is called on every scrape and must be
// concurrency-safe. nil reports no series.
func (m *Metrics) SetCertExpiry(fn func() map[string]time.Time) {
	if fn == nil {
		m.certSource.Store(nil)
		return
	}
	m.certSource.Store(&fn)
}

// certCollector exports one gauge per certificate with its NotAfter time.
type certCollector struct{ m *Metrics }

var certDesc = prometheus.NewDesc(namespace+"_certificate_expiry_timestamp_seconds",
	"Expiry (NotAfter) of each served certificate, as a Unix timestamp.", []string{"name"}, nil)

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certDesc }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	fn := c.m.certSource.Load()
	if fn == nil {
		return
	}
	seen := make(map[string]bool)
	for name, t := range (*fn)() {
		n := nameLabel(name)
		if seen[n] { // two names that sanitise alike: keep the first
			continue
		}
		seen[n] = true
		ch <- prometheus.MustNewConstMetric(certDesc, prometheus.GaugeValue,
			float64(t.UnixNano())/1e9, n)
	}
}

// factory creates and registers metrics in the ftpsgw namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) mustRegister(c prometheus.Collector) { f.reg.MustRegister(c) }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	f.mustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.mustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	f.mustRegister(g)
	return g
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.mustRegister(g)
	return g
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: name, Help: help, Buckets: buckets,
	}, labels)
	f.mustRegister(h)
	return h
}
