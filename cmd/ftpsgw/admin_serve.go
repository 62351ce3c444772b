package main

// admin_serve.go: the admin listener of a running daemon. Reload and drain
// requests from the API go to the signal loop (reload.go), which owns
// d.cur, so they never race a SIGHUP.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/admin"
	"github.com/ftpsgw/ftpsgw/gateway/hooks"
)

// adminState is the daemon's admin listener and what it shares with the
// signal loop.
type adminState struct {
	notices   atomic.Pointer[gateway.Notices]
	reloadReq chan chan admin.ReloadResult // nil when the admin API is off
	drainReq  chan struct{}
	srv       *http.Server
	hooks     *hooks.Dispatcher // nil without hook blocks (admin_hooks.go)
	ln        net.Listener
}

// engine is what the admin API needs of *gateway.Server.
type engine interface {
	SessionList() []gateway.SessionInfo
	Kick(id string) bool
}

// noticesFunc is gateway.Config.Notices: the notices of the config in force.
func (d *daemon) noticesFunc(s *settings) func() gateway.Notices {
	n := s.notices
	d.ops.notices.Store(&n)
	return func() gateway.Notices { return *d.ops.notices.Load() }
}

// applyReloaded takes the reloaded login notices; called by tryReload.
func (d *daemon) applyReloaded(s *settings) {
	n := s.notices
	d.ops.notices.Store(&n)
}

// startAdmin binds and serves the admin listener when configured.
func (d *daemon) startAdmin(s *settings) error {
	a := s.admin
	if a.Listen == "" {
		return nil
	}
	eng, ok := d.gw.(engine)
	if !ok {
		return errors.New("admin: the gateway has no session API")
	}
	ln, err := net.Listen("tcp", a.Listen)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", a.Listen, err)
	}
	if a.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(a.TLSCertFile, a.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin tls: %w", err)
		}
		conf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if a.ClientCAFile != "" {
			pool, err := loadCertPool(a.ClientCAFile)
			if err != nil {
				ln.Close()
				return fmt.Errorf("admin client_ca_file: %w", err)
			}
			conf.ClientCAs, conf.ClientAuth = pool, tls.VerifyClientCertIfGiven
		}
		ln = tls.NewListener(ln, conf)
	}
	d.ops.reloadReq = make(chan chan admin.ReloadResult)
	d.ops.drainReq = make(chan struct{}, 1)
	h := admin.New(a.Digest, admin.Ops{
		Sessions: eng.SessionList,
		Kick:     eng.Kick,
		Bans:     d.defender.Bans,
		Unban:    d.defender.Unban,
		Reload:   d.requestReload,
		Drain:    d.requestDrain,
		Backends: d.backendHealth,
	}, d.log.Named("admin"))
	if a.ClientCAFile != "" {
		h.TrustClientCertificates()
	}
	if a.Pprof {
		h.EnableProfiling()
	}
	d.ops.ln = ln
	d.ops.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	d.log.Info("listening", "kind", "admin", "addr", ln.Addr().String(), "tls", a.TLSCertFile != "")
	go func() {
		if err := d.ops.srv.Serve(ln); err != nil && !isClosedServer(err) {
			d.log.Error("admin listener failed", "error", err)
		}
	}()
	return nil
}

// stopAdmin closes the admin listener; called by cleanup.
func (d *daemon) stopAdmin() {
	d.ops.hooks.Close()
	if d.ops.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.ops.srv.Shutdown(ctx)
}

// requestReload asks the signal loop to reload and waits for the outcome.
func (d *daemon) requestReload() admin.ReloadResult {
	res := make(chan admin.ReloadResult, 1)
	select {
	case d.ops.reloadReq <- res:
		return <-res
	case <-time.After(30 * time.Second):
		return admin.ReloadResult{Error: "the daemon is busy (draining?)"}
	}
}

// requestDrain asks the signal loop to drain and exit, as SIGTERM does.
func (d *daemon) requestDrain() {
	select {
	case d.ops.drainReq <- struct{}{}:
	default:
	}
}

// adminReload is reload with the outcome and problems reported; it runs
// on the signal loop.
func (d *daemon) adminReload() admin.ReloadResult {
	d.log.Info("reloading config", "path", d.path, "by", "admin api")
	_, probs := loadConfig(d.path)
	var res admin.ReloadResult
	for _, q := range probs.sorted() {
		if !q.warning {
			res.Problems = append(res.Problems, q.where()+": "+q.msg)
		}
	}
	if err := d.tryReload(); err != nil {
		d.metrics.ConfigReload(false)
		d.log.Error("config reload rejected, keeping the running config", "error", err)
		res.Error = err.Error()
		return res
	}
	d.metrics.ConfigReload(true)
	d.log.Info("config reloaded")
	res.OK, res.Problems = true, nil
	return res
}

// backendHealth runs each backend's readiness probe.
func (d *daemon) backendHealth(ctx context.Context) []admin.BackendHealth {
	names := make([]string, 0, len(d.backends))
	for n := range d.backends {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]admin.BackendHealth, 0, len(names))
	for _, n := range names {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := d.backends[n].Probe(pctx)
		cancel()
		h := admin.BackendHealth{Name: n, OK: err == nil}
		if err != nil {
			h.Error = "probe failed" // detail goes to the log: it may name hosts or keys
			d.log.Named("admin").Warn("backend probe failed", "backend", n, "error", err)
		}
		out = append(out, h)
	}
	return out
}
