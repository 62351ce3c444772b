package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/metrics"
	"github.com/ftpsgw/ftpsgw/policy"
	"github.com/ftpsgw/ftpsgw/tlsmgr"
)

// probeTimeout bounds each backend probe at start-up.
const probeTimeout = 15 * time.Second

// daemon is one running gateway with everything it owns.
type daemon struct {
	path   string
	stderr io.Writer
	log    hclog.Logger

	// cur is the config in force; only the signal loop reads and
	// replaces it after start.
	cur *settings

	pol      atomic.Pointer[policy.Policy]
	defender *policy.Defender
	tls      *tlsmgr.Manager
	metrics  *metrics.Metrics
	xfer     *metrics.TransferLog
	backends map[string]backend.Opener
	gw       gatewayServer

	listeners []net.Listener
	metricsLn net.Listener
	// metricsDone is closed when the metrics listener's Serve returns;
	// cleanup waits for it after Shutdown.
	metricsDone chan struct{}
	ready       atomic.Bool
	serveErr    chan error     // one value per listener goroutine that ends; buffered for all
	wg          sync.WaitGroup // listener goroutines
	ops         adminState     // admin listener and login notices (admin_serve.go)
}

// serve runs the gateway described by s until ctx ends (SIGTERM/SIGINT),
// then drains. SIGHUP reloads the file s came from.
func serve(ctx context.Context, s *settings, probs *problems, stderr io.Writer) error {
	log, err := metrics.NewLogger(s.log.Level, s.log.Format, stderr)
	if err != nil {
		return err
	}
	if s.log.Syslog != "" {
		sink, err := metrics.NewSyslogSink(s.log.Syslog, s.log.Level)
		if err != nil {
			return err
		}
		defer sink.Close()
		log.RegisterSink(sink)
	}
	stdlog.SetFlags(0)
	stdlog.SetOutput(log.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	for _, q := range probs.sorted() {
		log.Warn("config warning", "at", q.where(), "problem", q.msg)
	}
	// Catch SIGHUP from the start: its default action would end the
	// process.
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	d := newDaemon(s, log, stderr)
	defer d.cleanup()
	if err := d.start(ctx, s); err != nil {
		return err
	}
	tctx, stopTrim := context.WithCancel(ctx)
	trimmed := make(chan struct{})
	go func() {
		defer close(trimmed)
		newMemTrimmer().run(tctx, trimEvery, log.Named("memory"))
	}()
	defer func() { stopTrim(); <-trimmed }()
	return d.loop(ctx, hup)
}

func newDaemon(s *settings, log hclog.Logger, stderr io.Writer) *daemon {
	return &daemon{path: s.path, stderr: stderr, log: log, cur: s}
}

func (d *daemon) start(ctx context.Context, s *settings) error {
	var err error
	if d.backends, err = openBackends(ctx, s.backends, d.log.Named("backend")); err != nil {
		return err
	}
	d.pol.Store(s.policy)
	d.defender = policy.NewDefender(s.pol.Defender, time.Now)

	if s.tls.Source == tlsmgr.SourceSelfSigned {
		if err := os.MkdirAll(s.tls.StateDir, 0o700); err != nil {
			return fmt.Errorf("tls state_dir: %w", err)
		}
	}
	if d.tls, err = tlsmgr.New(ctx, s.tls, d.log.Named("tlsmgr")); err != nil {
		return fmt.Errorf("tls: %w", err)
	}

	mc := s.metrics
	mc.Logger = d.log.Named("metrics")
	if d.metrics, err = metrics.New(mc, version); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	d.metrics.SetBanSource(d.defender.ActiveBans)
	d.metrics.SetThrottleSource(d.defender.ThrottledAccounts)
	d.metrics.SetCertExpiry(d.tls.Expiries)
	d.addReadyChecks()

	if d.xfer, err = metrics.NewTransferLog(s.log.TransferLog, s.log.TransferFormat, d.log.Named("transfer")); err != nil {
		return err
	}

	gc := s.gw
	gc.TLS = d.tls
	gc.Backends = d.backends
	gc.Policy = d.pol.Load
	gc.Defender = d.defender
	gc.Bandwidth = policy.NewBandwidth()
	gc.Quotas = policy.NewQuotas()
	gc.Observer = d.withHooks(s, d.metrics) // hook events (admin_hooks.go)
	gc.Screener = d.screener()              // veto hooks (admin_hooks.go)
	gc.TransferLog = d.xfer
	gc.Logger = d.log.Named("gateway")
	if len(gc.TrustedProxies) > 0 {
		gc.DataConnWrapper = dataConnWrapper(gc.TrustedProxies)
	}
	gc.Notices = d.noticesFunc(s) // admin_serve.go
	if d.gw, err = newGatewayServer(gc); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if err := d.startAdmin(s); err != nil { // admin_serve.go
		return err
	}
	return d.listen(s)
}

// openBackends opens and probes every backend; any failure stops the
// start-up.
func openBackends(ctx context.Context, specs []backendSpec, log hclog.Logger) (map[string]backend.Opener, error) {
	out := make(map[string]backend.Opener, len(specs))
	fail := func(err error) (map[string]backend.Opener, error) {
		for _, o := range out {
			o.Close()
		}
		return nil, err
	}
	for _, b := range specs {
		o, err := b.open(ctx, log.With("backend", b.Name, "type", b.Type))
		if err != nil {
			return fail(fmt.Errorf("backend %q: %w", b.Name, err))
		}
		out[b.Name] = o
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err = o.Probe(pctx)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("backend %q: probe failed: %w", b.Name, err))
		}
		log.Info("backend ready", "backend", b.Name, "type", b.Type)
	}
	return out, nil
}

func (d *daemon) addReadyChecks() {
	d.metrics.AddReadyCheck("listeners", func(context.Context) error {
		if !d.ready.Load() {
			return errors.New("listeners not bound")
		}
		return nil
	})
	d.metrics.AddReadyCheck("certificates", func(context.Context) error {
		if len(d.tls.Expiries()) == 0 {
			return errors.New("no certificate loaded")
		}
		return nil
	})
	for _, b := range d.cur.backends {
		if o, ok := d.backends[b.Name]; ok {
			d.metrics.SetBackendType(b.Name, b.Type)
			d.metrics.AddReadyCheck("backend:"+b.Name, o.Probe)
		}
	}
}

// boundListener is a bound gateway listener.
type boundListener struct {
	ln       net.Listener
	implicit bool
}

// listen binds every listener first (so a taken port fails the start-up
// before anything is served), then serves them.
func (d *daemon) listen(s *settings) error {
	all, err := d.bindAll(s)
	if err != nil {
		return err
	}
	d.serveAll(s, all)
	d.ready.Store(true)
	d.printHint(s)
	return nil
}

// bindAll binds the FTP listeners and the metrics listener; on error none
// stays open.
func (d *daemon) bindAll(s *settings) ([]boundListener, error) {
	var all []boundListener
	bind := func(addr string, implicit bool) error {
		ln, err := gateway.ListenTCP(addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		if len(s.gw.TrustedProxies) > 0 {
			ln = newProxyListener(ln, s.gw.TrustedProxies, d.log.Named("proxy"), func() {
				d.metrics.ConnRejected(gateway.RejectProxy)
			})
		}
		all = append(all, boundListener{ln, implicit})
		return nil
	}
	var err error
	for _, a := range s.listen {
		if err = bind(a, false); err != nil {
			break
		}
	}
	for _, a := range s.implicit {
		if err == nil {
			err = bind(a, true)
		}
	}
	if err == nil && s.metrics.Listen != "" {
		if d.metricsLn, err = net.Listen("tcp", s.metrics.Listen); err != nil {
			err = fmt.Errorf("metrics listen %s: %w", s.metrics.Listen, err)
		}
	}
	if err != nil {
		for _, b := range all {
			b.ln.Close()
		}
		return nil, err
	}
	return all, nil
}

// serveAll starts one goroutine per listener.
func (d *daemon) serveAll(s *settings, all []boundListener) {
	d.serveErr = make(chan error, len(all))
	for _, b := range all {
		d.listeners = append(d.listeners, b.ln)
		kind := "explicit"
		serveFn := d.gw.Serve
		if b.implicit {
			kind, serveFn = "implicit", d.gw.ServeImplicit
		}
		d.log.Info("listening", "kind", kind, "addr", b.ln.Addr().String(), "proxy_protocol", len(s.gw.TrustedProxies) > 0)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			err := serveFn(b.ln)
			if errors.Is(err, errServerClosed) {
				err = nil
			}
			d.serveErr <- err
		}()
	}
	if d.metricsLn != nil {
		d.log.Info("listening", "kind", "metrics", "addr", d.metricsLn.Addr().String())
		d.metricsDone = make(chan struct{})
		go func() {
			defer close(d.metricsDone)
			if err := d.metrics.Serve(d.metricsLn); err != nil && !isClosedServer(err) {
				d.log.Error("metrics listener failed", "error", err)
			}
		}()
	}
}

func isClosedServer(err error) bool {
	return err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed)
}

// printHint shows on stderr how to try the gateway with curl.
func (d *daemon) printHint(s *settings) {
	if len(d.listeners) == 0 {
		return
	}
	user := "USER"
	if len(s.users) > 0 {
		user = s.users[0]
	}
	insecure := ""
	if s.tls.Source == tlsmgr.SourceSelfSigned {
		insecure = " -k"
	}
	ln, scheme, ssl := d.listeners[0], "ftp", " --ssl-reqd"
	if len(s.listen) == 0 {
		scheme, ssl = "ftps", ""
	}
	fmt.Fprintf(d.stderr, "try: curl%s%s -u %s %s://%s/   (curl asks for the password)\n",
		ssl, insecure, user, scheme, dialable(ln.Addr()))
}

// dialable turns a listening address into one a local client can dial.
func dialable(a net.Addr) string {
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := t.AddrPort().Addr().Unmap()
	if ip.IsUnspecified() {
		if ip.Is4() {
			return fmt.Sprintf("127.0.0.1:%d", t.Port)
		}
		return fmt.Sprintf("[::1]:%d", t.Port)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(t.Port))
}

// cleanup releases what start acquired, in reverse order.
func (d *daemon) cleanup() {
	if d.gw != nil {
		d.gw.Close()
	} else {
		for _, ln := range d.listeners {
			ln.Close()
		}
	}
	d.wg.Wait()
	d.stopAdmin() // admin_serve.go
	if d.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d.metrics.Shutdown(ctx)
		cancel()
	}
	if d.metricsLn != nil {
		d.metricsLn.Close()
	}
	if d.metricsDone != nil {
		<-d.metricsDone // Serve has returned: nothing is left running
	}
	if d.tls != nil {
		d.tls.Close()
	}
	for _, o := range d.backends {
		o.Close()
	}
	if d.xfer != nil {
		d.xfer.Close()
	}
}
