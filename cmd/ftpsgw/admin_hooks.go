package main

// admin_hooks.go: hook "NAME" blocks and the observer that feeds them.
// Every event is delivered, by HTTP post or by a command; veto hooks also
// screen uploads before they are published (hookScreener).

import (
	"context"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/hooks"
)

type hookBlock struct {
	Name       string    `hcl:"name,label"`
	Events     []string  `hcl:"events"`
	URL        string    `hcl:"url,optional"`
	Command    []string  `hcl:"command,optional"`
	SecretFile string    `hcl:"secret_file,optional"`
	Timeout    string    `hcl:"timeout,optional"`
	Veto       bool      `hcl:"veto,optional"`
	Quarantine string    `hcl:"quarantine_dir,optional"`
	Range      hcl.Range `hcl:",def_range"`
}

// hookEvents are the events a hook may ask for.
var hookEvents = []string{"upload", "download", "delete", "rename", "mkdir", "rmdir", "login", "login_failed", "ban"}

func (c *converter) hookBlocks(bs []hookBlock) {
	for _, b := range bs {
		r := b.Range
		h := hooks.Hook{Name: b.Name, Events: b.Events}
		for i, e := range b.Events {
			if !slices.Contains(hookEvents, e) {
				c.probs.add(c.loc.elem(r, "events", i), "hook %q: unknown event %q (want one of %s)", b.Name, e, strings.Join(hookEvents, ", "))
			}
		}
		c.hookVeto(b)
		h.URL, h.Command, h.Veto, h.Quarantine = b.URL, b.Command, b.Veto, b.Quarantine
		h.Timeout = c.dur(r, "timeout", b.Timeout, 0)
		switch {
		case b.URL == "" && len(b.Command) == 0:
			c.probs.add(r, "hook %q: url or command is required", b.Name)
		case b.URL != "" && len(b.Command) > 0:
			c.probs.add(c.loc.attr(r, "command"), "hook %q: url and command exclude each other", b.Name)
		case len(b.Command) > 0:
			c.hookCommand(b)
			c.s.hooks = append(c.s.hooks, h)
			continue
		}
		if u, err := url.Parse(b.URL); b.URL != "" && (err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && loopbackHost(u.Hostname()))) {
			c.probs.add(c.loc.attr(r, "url"), "hook %q: url %q: want https://, or http:// to a loopback address", b.Name, b.URL)
		}
		if b.SecretFile == "" {
			c.probs.add(r, "hook %q: secret_file is required (the HMAC-SHA256 key)", b.Name)
		} else {
			c.secret(r, "secret_file", b.SecretFile)
			if !c.skipFiles {
				if raw, err := os.ReadFile(b.SecretFile); err == nil {
					h.Secret = []byte(strings.TrimSpace(string(raw)))
				}
			}
		}
		c.s.hooks = append(c.s.hooks, h)
	}
}

// hookCommand checks a command hook: an absolute path to an executable
// (no shell, no PATH lookup), and no secret_file, which only URL hooks
// sign with.
func (c *converter) hookCommand(b hookBlock) {
	r := c.loc.attr(b.Range, "command")
	prog := b.Command[0]
	switch {
	case !filepath.IsAbs(prog):
		c.probs.add(r, "hook %q: command %q: the program must be an absolute path", b.Name, prog)
	case !c.skipFiles:
		if fi, err := os.Stat(prog); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			c.probs.add(r, "hook %q: command %q is not an executable file", b.Name, prog)
		}
	}
	if bad := hooks.UnknownPlaceholders(b.Command[1:]); len(bad) > 0 {
		c.probs.add(r, "hook %q: command: unknown placeholder %s (want %s)", b.Name, strings.Join(bad, ", "), placeholderList())
	}
	if b.SecretFile != "" {
		c.probs.warn(c.loc.attr(b.Range, "secret_file"), "hook %q: secret_file is for url hooks; a command gets the event on its standard input, unsigned", b.Name)
	}
}

// hookVeto checks veto and quarantine_dir: a veto hook screens uploads,
// so it must ask for them; the quarantine is an absolute directory of
// this host that only a veto hook uses.
func (c *converter) hookVeto(b hookBlock) {
	if b.Veto && !slices.Contains(b.Events, "upload") {
		c.probs.add(c.loc.attr(b.Range, "veto"), "hook %q: veto screens uploads; add \"upload\" to its events", b.Name)
	}
	if b.Quarantine == "" {
		return
	}
	r := c.loc.attr(b.Range, "quarantine_dir")
	switch {
	case !b.Veto:
		c.probs.add(r, "hook %q: quarantine_dir is only used with veto = true", b.Name)
	case !filepath.IsAbs(b.Quarantine):
		c.probs.add(r, "hook %q: quarantine_dir %q must be an absolute path", b.Name, b.Quarantine)
	case !c.skipFiles:
		if fi, err := os.Stat(b.Quarantine); err != nil || !fi.IsDir() {
			c.probs.add(r, "hook %q: quarantine_dir %q is not a directory", b.Name, b.Quarantine)
		} else if fi.Mode().Perm()&0o002 != 0 {
			c.probs.warn(r, "hook %q: quarantine_dir %q is writable by every user (mode %v); refused uploads land there", b.Name, b.Quarantine, fi.Mode().Perm())
		}
	}
}

// placeholderList names the command placeholders, sorted.
func placeholderList() string {
	names := make([]string, 0, len(hooks.Placeholders))
	for k := range hooks.Placeholders {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// hookObserver passes every observation on and turns transfers and
// logins into hook events.
type hookObserver struct {
	gateway.Observer
	d *hooks.Dispatcher
}

func (o hookObserver) Transfer(rec gateway.TransferRecord) {
	o.Observer.Transfer(rec)
	o.d.Emit(hooks.Event{Event: string(rec.Direction), Time: rec.Time, Session: rec.SessionID, User: rec.User,
		Client: rec.Client.String(), Backend: rec.Backend, Path: rec.Path, Size: rec.Bytes,
		SHA256: rec.SHA256, Result: string(rec.Result)})
}

func (o hookObserver) Login(result gateway.LoginResult, user string) {
	o.Observer.Login(result, user)
	ev := "login"
	if result != gateway.LoginOK {
		ev = "login_failed"
	}
	o.d.Emit(hooks.Event{Event: ev, Time: time.Now(), User: user, Result: string(result)})
}

func (o hookObserver) Changed(rec gateway.ChangeRecord) {
	o.Observer.Changed(rec)
	o.d.Emit(hooks.Event{Event: string(rec.Op), Time: rec.Time, Session: rec.SessionID, User: rec.User,
		Client: rec.Client.String(), Backend: rec.Backend, Path: rec.Path, To: rec.To, Result: "ok"})
}

func (o hookObserver) Banned(client netip.Addr) {
	o.Observer.Banned(client)
	o.d.Emit(hooks.Event{Event: "ban", Time: time.Now(), Client: client.String(), Result: "banned"})
}

// hookScreener puts the veto hooks in front of every upload's publication.
type hookScreener struct{ d *hooks.Dispatcher }

func (h hookScreener) Screen(ctx context.Context, u gateway.ScreenedUpload) gateway.ScreenVerdict {
	v := h.d.Screen(ctx, hooks.Event{Time: time.Now(), Session: u.SessionID, User: u.User,
		Client: u.Client.String(), Backend: u.Backend, Path: u.Path, Size: u.Size, SHA256: u.SHA256,
		StagedFile: u.StagedFile})
	return gateway.ScreenVerdict{Publish: v.Publish, Quarantine: v.Quarantine, By: v.Hook, Reason: v.Reason}
}

// screener is the gateway's Screener: the veto hooks, or nil without any.
// withHooks must have run.
func (d *daemon) screener() gateway.Screener {
	if !d.ops.hooks.Screens() {
		return nil
	}
	return hookScreener{d.ops.hooks}
}

// withHooks starts the hook dispatcher and wraps obs when hooks are set.
func (d *daemon) withHooks(s *settings, obs gateway.Observer) gateway.Observer {
	if len(s.hooks) == 0 {
		return obs
	}
	d.ops.hooks = hooks.New(s.hooks, d.log.Named("hooks"))
	hd := d.ops.hooks
	d.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ftpsgw_hook_events_dropped_total",
		Help: "Hook events dropped: queue full or every delivery attempt failed.",
	}, func() float64 { return float64(hd.Dropped()) }))
	return hookObserver{Observer: obs, d: d.ops.hooks}
}
