package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jlaffaye/ftp"
	dto "github.com/prometheus/client_model/go"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// syncBuffer is the shared concurrent-safe buffer.
type syncBuffer = testkit.Buffer

// serveConfig is a config on ephemeral loopback ports; extra is appended.
func serveConfig(dir, extra string) string {
	return fmt.Sprintf(`server {
  listen        = ["127.0.0.1:0"]
  drain_timeout = "5s"
}
tls {
  source    = "self_signed"
  state_dir = %q
}
passive {
  port_range = "25000-25999"
}
metrics {
  listen = ""
}
log {
  level = "debug"
  transfer_log = %q
}
backend "local" "files" {
  root = %q
}
user "demo" {
  password_hash = %q
  permissions   = ["*"]
}
%s`, filepath.Join(dir, "state"), filepath.Join(dir, "transfers.log"), filepath.Join(dir, "data"), demoHash, extra)
}

// startDaemon starts a gateway from path the way serve does and returns
// it with its signal loop running, and a stop function that ends it as
// SIGTERM does and returns what the loop returned.
func startDaemon(t *testing.T, path string, stderr io.Writer) (*daemon, func() error) {
	t.Helper()
	s, probs := loadConfig(path)
	if probs.errors() > 0 {
		var b bytes.Buffer
		probs.print(&b)
		t.Fatal(b.String())
	}
	log := hclog.New(&hclog.LoggerOptions{Output: tWriter{t}, Level: hclog.Debug})
	hup, stopHUP := notifyHUP()
	d := newDaemon(s, log, stderr)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.start(ctx, s); err != nil {
		stopHUP()
		cancel()
		d.cleanup()
		t.Fatalf("start: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		defer stopHUP()
		err := d.loop(ctx, hup)
		d.cleanup()
		done <- err
	}()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("the daemon did not stop")
		}
	})
	t.Cleanup(func() { stop() })
	return d, stop
}

// tWriter routes logs through t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func dialFTPS(t *testing.T, d *daemon, user, pass string) (*ftp.ServerConn, error) {
	t.Helper()
	c, err := ftp.Dial(d.listeners[0].Addr().String(),
		ftp.DialWithTimeout(5*time.Second),
		ftp.DialWithExplicitTLS(&tls.Config{
			InsecureSkipVerify: true,        // self-signed test certificate
			ServerName:         "localhost", // the session cache key, so data connections resume
			ClientSessionCache: tls.NewLRUClientSessionCache(8),
		}))
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass); err != nil {
		c.Quit()
		return nil, err
	}
	return c, nil
}

// reloads returns the reload counter for result.
func reloads(t *testing.T, d *daemon, result string) float64 {
	t.Helper()
	mfs, err := d.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ftpsgw_config_reloads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, "result", result) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, cond)
}

func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "gw.hcl", serveConfig(dir, ""), 0o644)
	var stderr syncBuffer
	d, _ := startDaemon(t, path, &stderr)
	hint := fmt.Sprintf("try: curl --ssl-reqd -k -u demo ftp://%s/", d.listeners[0].Addr())
	if !strings.Contains(stderr.String(), hint) {
		t.Errorf("no %q line on stderr: %q", hint, stderr.String())
	}

	// A session opened before the reload must survive it.
	old, err := dialFTPS(t, d, "demo", "demo-ftpsgw-2026")
	if err != nil {
		t.Fatalf("demo login: %v", err)
	}
	defer old.Quit()
	if _, err := dialFTPS(t, d, "newbie", "demo-ftpsgw-2026"); err == nil {
		t.Fatal("newbie logged in before being configured")
	}

	// Add a user and send SIGHUP.
	writeFile(t, dir, "gw.hcl", serveConfig(dir, fmt.Sprintf(`user "newbie" {
  password_hash = %q
  permissions   = ["list"]
}
`, demoHash)), 0o644)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool { return reloads(t, d, "ok") == 1 })
	if !d.pol.Load().HasUser("newbie") {
		t.Fatal("the new policy is not in force")
	}
	c, err := dialFTPS(t, d, "newbie", "demo-ftpsgw-2026")
	if err != nil {
		t.Fatalf("newbie login after reload: %v", err)
	}
	c.Quit()
	if err := old.NoOp(); err != nil {
		t.Errorf("the session opened before the reload broke: %v", err)
	}
	if _, err := old.List("/"); err != nil {
		t.Errorf("listing in the old session: %v", err)
	}

	// A bad file is rejected whole; the running config stays.
	writeFile(t, dir, "gw.hcl", serveConfig(dir, `user "broken" {
  password_hash = "nope"
  permissions   = ["fly"]
}
`), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, "the rejected reload", func() bool { return reloads(t, d, "error") == 1 })
	if p := d.pol.Load(); !p.HasUser("newbie") || p.HasUser("broken") {
		t.Error("a rejected reload changed the policy")
	}
	if c, err := dialFTPS(t, d, "newbie", "demo-ftpsgw-2026"); err != nil {
		t.Errorf("newbie login after a rejected reload: %v", err)
	} else {
		c.Quit()
	}
}

func TestDrainOnShutdown(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "gw.hcl", serveConfig(dir, ""), 0o644)
	d, stop := startDaemon(t, path, io.Discard)
	addr := d.listeners[0].Addr().String()
	c, err := dialFTPS(t, d, "demo", "demo-ftpsgw-2026")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := stop(); err != nil { // what SIGTERM does through signal.NotifyContext
		t.Fatalf("after a drain: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Error("still accepting after shutdown")
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "gw.hcl", serveConfig(dir, "bogus = 1\n"), 0o644)
	var stderr syncBuffer
	if code := run([]string{"serve", "-config", path}, nil, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), path+":26: Unsupported argument") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}
