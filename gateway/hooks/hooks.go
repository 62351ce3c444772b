package hooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// SchemaVersion is the version of the Event JSON.
const SchemaVersion = 1

// Event is one gateway event, as delivered.
type Event struct {
	Version int       `json:"version"`
	Event   string    `json:"event"` // upload download delete rename mkdir rmdir login login_failed ban
	Time    time.Time `json:"time"`
	Session string    `json:"session,omitempty"`
	User    string    `json:"user,omitempty"`
	Client  string    `json:"client,omitempty"`
	Backend string    `json:"backend,omitempty"`
	Path    string    `json:"path,omitempty"`
	To      string    `json:"to,omitempty"` // rename: the new path
	Size    int64     `json:"size,omitempty"`
	SHA256  string    `json:"sha256,omitempty"`
	Result  string    `json:"result"` // "pending" for a veto hook's question
	// StagedFile, in a veto hook's upload event, is the host path where
	// the upload's bytes wait (local storage only).
	StagedFile string `json:"staged_file,omitempty"`
}

// Hook is one hook block: it posts to URL, or runs Command.
type Hook struct {
	Name   string
	Events []string
	URL    string
	Secret []byte // HMAC key of URL hooks
	// Command is a program and its arguments, run once per event with the
	// event's JSON on standard input (no shell, and nothing from the event
	// in its environment); exit status 0 is a delivery, anything else is
	// retried like a failed post. In the arguments after the program,
	// the Placeholders are replaced by the event's fields; each argument
	// stays one argument whatever the field holds.
	Command []string
	Timeout time.Duration // per attempt; 0: 10s
	// Veto makes the hook screen uploads: it is asked once, synchronously,
	// before each upload is published (Screen), and gets no asynchronous
	// upload events. Its other events are delivered as usual.
	Veto bool
	// Quarantine is the host directory a refused upload is moved into;
	// "" removes it.
	Quarantine string
}

// Defaults of delivery.
const (
	QueueSize   = 1024
	MaxAttempts = 5
	baseBackoff = 200 * time.Millisecond
)

// Dispatcher delivers events to its hooks.
type Dispatcher struct {
	log     hclog.Logger
	hooks   []*worker
	dropped atomic.Int64
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

type worker struct {
	h      Hook
	q      chan []byte
	client *http.Client
}

// New starts one delivery worker per hook.
func New(hooks []Hook, log hclog.Logger) *Dispatcher {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{log: log, cancel: cancel}
	for _, h := range hooks {
		if h.Timeout <= 0 {
			h.Timeout = 10 * time.Second
		}
		w := &worker{h: h, q: make(chan []byte, QueueSize), client: &http.Client{Timeout: h.Timeout}}
		d.hooks = append(d.hooks, w)
		d.wg.Add(1)
		go d.run(ctx, w)
	}
	return d
}

// Dropped counts events dropped because a queue was full.
func (d *Dispatcher) Dropped() int64 { return d.dropped.Load() }

// Emit queues e for every hook that wants it; it never blocks.
func (d *Dispatcher) Emit(e Event) {
	if d == nil || len(d.hooks) == 0 {
		return
	}
	e.Version = SchemaVersion
	body, err := json.Marshal(e)
	if err != nil {
		return
	}
	for _, w := range d.hooks {
		if !slices.Contains(w.h.Events, e.Event) || w.h.Veto && e.Event == "upload" {
			continue
		}
		select {
		case w.q <- body:
		default:
			d.dropped.Add(1)
			d.log.Warn("hook queue full, event dropped", "hook", w.h.Name, "event", e.Event)
		}
	}
}

// Screens reports whether any hook screens uploads.
func (d *Dispatcher) Screens() bool {
	if d == nil {
		return false
	}
	for _, w := range d.hooks {
		if w.h.Veto {
			return true
		}
	}
	return false
}

// Verdict is the answer of the veto hooks to one upload.
type Verdict struct {
	Publish    bool
	Hook       string // the hook that refused
	Reason     string // why: its status, exit status or timeout
	Quarantine string // the refusing hook's quarantine directory
}

// Screen asks every veto hook, in order, whether the upload e may be
// published: a 2xx answer (or exit status 0) from each publishes it. Each
// is asked once, within its timeout; any other answer, a timeout or a
// failure to ask refuses it, and the first refusal ends the round. e is
// sent with the result "pending".
func (d *Dispatcher) Screen(ctx context.Context, e Event) Verdict {
	e.Version, e.Event, e.Result = SchemaVersion, "upload", "pending"
	body, err := json.Marshal(e)
	for _, w := range d.hooks {
		if !w.h.Veto {
			continue
		}
		if err == nil {
			err = w.send(ctx, body)
		}
		if err != nil {
			return Verdict{Hook: w.h.Name, Reason: err.Error(), Quarantine: w.h.Quarantine}
		}
	}
	return Verdict{Publish: true}
}

// Close stops delivery; queued events not yet sent are dropped.
func (d *Dispatcher) Close() {
	if d == nil {
		return
	}
	d.cancel()
	d.wg.Wait()
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (d *Dispatcher) run(ctx context.Context, w *worker) {
	defer d.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case body := <-w.q:
			d.deliver(ctx, w, body)
		}
	}
}

// deliver posts body until a 2xx, MaxAttempts, or Close.
func (d *Dispatcher) deliver(ctx context.Context, w *worker, body []byte) {
	backoff := baseBackoff
	for attempt := 1; ; attempt++ {
		err := w.send(ctx, body)
		if err == nil {
			return
		}
		if attempt == MaxAttempts {
			d.log.Warn("hook delivery failed, event dropped", "hook", w.h.Name, "attempts", attempt, "error", err)
			d.dropped.Add(1)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// send delivers body once, by command or by post.
func (w *worker) send(ctx context.Context, body []byte) error {
	if len(w.h.Command) > 0 {
		return w.run(ctx, body)
	}
	return w.post(ctx, body)
}

// Placeholders are what a command hook's arguments may carry, each
// replaced by one field of the event ("" when the event has none).
var Placeholders = map[string]func(e *Event) string{
	"{event}":       func(e *Event) string { return e.Event },
	"{session}":     func(e *Event) string { return e.Session },
	"{user}":        func(e *Event) string { return e.User },
	"{client}":      func(e *Event) string { return e.Client },
	"{backend}":     func(e *Event) string { return e.Backend },
	"{path}":        func(e *Event) string { return e.Path },
	"{to}":          func(e *Event) string { return e.To },
	"{size}":        func(e *Event) string { return strconv.FormatInt(e.Size, 10) },
	"{sha256}":      func(e *Event) string { return e.SHA256 },
	"{result}":      func(e *Event) string { return e.Result },
	"{staged_file}": func(e *Event) string { return e.StagedFile },
}

// placeholder matches one placeholder, known or not.
var placeholder = regexp.MustCompile(`\{[a-z0-9_]+\}`)

// UnknownPlaceholders returns the placeholders in args that are not
// Placeholders, for check-config.
func UnknownPlaceholders(args []string) []string {
	var bad []string
	for _, a := range args {
		for _, m := range placeholder.FindAllString(a, -1) {
			if _, ok := Placeholders[m]; !ok && !slices.Contains(bad, m) {
				bad = append(bad, m)
			}
		}
	}
	return bad
}

// commandArgs is args with the placeholders replaced from body's event.
// The result has as many elements as args: a value never splits or joins
// arguments, and no shell ever sees it.
func commandArgs(args []string, body []byte) []string {
	var e *Event
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = placeholder.ReplaceAllStringFunc(a, func(m string) string {
			f, ok := Placeholders[m]
			if !ok {
				return m
			}
			if e == nil {
				e = new(Event)
				json.Unmarshal(body, e)
			}
			return f(e)
		})
	}
	return out
}

// maxCommandOutput bounds what a failing command's output adds to the log.
const maxCommandOutput = 1024

// run runs the hook's command with body on its standard input, within the
// hook's timeout. Its environment is PATH only, so no secret of the
// gateway's reaches it.
func (w *worker) run(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.h.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.h.Command[0], commandArgs(w.h.Command[1:], body)...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if len(out) > maxCommandOutput {
			out = out[:maxCommandOutput]
		}
		return fmt.Errorf("hook command: %w: %q", err, out)
	}
	return nil
}

func (w *worker) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("hook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Ftpsgw-Signature", Sign(w.h.Secret, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("hook post: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hook post: status %d", resp.StatusCode)
	}
	return nil
}
