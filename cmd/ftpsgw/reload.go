package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"
)

// notifyHUP starts catching SIGHUP; call the returned stop when done.
func notifyHUP() (<-chan os.Signal, func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
}

// loop waits for signals: a value on hup (SIGHUP) reloads, the end of ctx
// (SIGTERM, SIGINT) drains. A listener that fails ends the gateway with
// that error.
func (d *daemon) loop(ctx context.Context, hup <-chan os.Signal) error {
	for {
		select {
		case <-ctx.Done():
			d.drain()
			return nil
		case <-hup:
			d.reload()
		case res := <-d.ops.reloadReq: // admin API (admin_serve.go)
			res <- d.adminReload()
		case <-d.ops.drainReq: // admin API
			d.drain()
			return nil
		case err := <-d.serveErr:
			if err == nil {
				continue
			}
			d.log.Error("listener failed", "error", err)
			d.drain()
			return err
		}
	}
}

// reload re-reads the config file. Users, groups, rules, limits and the
// defender settings are swapped in, certificates and the client CA are
// re-read, and the transfer log is reopened. A file with any problem is
// rejected as a whole and the running config stays. Settings that need a
// restart (listeners, passive ports, TLS source, metrics, backends) are
// logged when they changed and otherwise left as they are.
func (d *daemon) reload() {
	d.log.Info("reloading config", "path", d.path)
	if err := d.tryReload(); err != nil {
		d.metrics.ConfigReload(false)
		d.log.Error("config reload rejected, keeping the running config", "error", err)
		return
	}
	d.metrics.ConfigReload(true)
	d.log.Info("config reloaded")
}

func (d *daemon) tryReload() error {
	s, probs := loadConfig(d.path)
	for _, q := range probs.sorted() {
		at := q.where()
		if q.warning {
			d.log.Warn("config warning", "at", at, "problem", q.msg)
		} else {
			d.log.Error("config problem", "at", at, "problem", q.msg)
		}
	}
	if n := probs.errors(); n > 0 {
		return fmt.Errorf("%d problem(s) in %s", n, d.path)
	}
	if !sameBackends(d.cur.backends, s.backends) {
		return errors.New("backend blocks changed: restart to apply them")
	}
	if err := d.tls.Reload(); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	d.pol.Store(s.policy)
	d.defender.SetConfig(s.pol.Defender)
	d.applyReloaded(s) // login notices (admin_serve.go)
	if err := d.xfer.Reopen(); err != nil {
		d.log.Warn("transfer log reopen failed, still writing the old file", "error", err)
	}
	d.logRestartOnly(s)
	// Keep the running values of what needs a restart, so the next reload
	// compares against what is actually in force.
	next := *d.cur
	next.pol, next.policy, next.users = s.pol, s.policy, s.users
	d.cur = &next
	return nil
}

// sameBackends compares backend blocks, ignoring their position in the
// file.
func sameBackends(a, b []backendSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Range = y.Range
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// logRestartOnly warns about changed settings a reload does not apply.
func (d *daemon) logRestartOnly(s *settings) {
	old := d.cur
	changed := func(section string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			d.log.Warn("setting changed but needs a restart to apply", "section", section)
		}
	}
	changed("server listeners", [2][]string{old.listen, old.implicit}, [2][]string{s.listen, s.implicit})
	og, ng := old.gw, s.gw
	changed("server, passive, active or proxy_protocol", og, ng)
	changed("drain_timeout", old.drain, s.drain)
	changed("tls", old.tls, s.tls)
	changed("metrics", old.metrics, s.metrics)
	changed("log", old.log, s.log)
}

// drain stops accepting and lets transfers in flight finish for up to
// server.drain_timeout; a second SIGTERM or SIGINT, or the deadline,
// closes what is left.
func (d *daemon) drain() {
	d.ready.Store(false) // /readyz fails while draining, so load balancers stop sending
	d.log.Info("shutting down", "drain_timeout", d.cur.drain.String())
	ctx, cancel := context.WithTimeout(context.Background(), d.cur.drain)
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			d.log.Warn("second signal, closing every session now")
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	if err := d.gw.Shutdown(ctx); err != nil {
		d.log.Warn("drain ended before every transfer finished, closing the rest", "error", err)
		d.gw.Close()
	}
	d.log.Info("stopped", "drained_in", time.Since(start).Round(time.Millisecond).String())
}
