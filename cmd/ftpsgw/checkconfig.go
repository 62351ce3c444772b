package main

// check-config's online part: once the file has no errors, every
// configured backend is opened and probed as serve does at start-up, so a
// bucket that does not exist or credentials that fail show up before the
// gateway is started. `check-config -offline` skips it.

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// checkProbeTimeout bounds opening and probing one backend in
// check-config; the backends are probed at the same time.
const checkProbeTimeout = 5 * time.Second

// probeBackends opens and probes each backend of s through its package
// and records the outcome at the backend's block: a storage that cannot
// be reached is a warning (the file may be checked away from the
// deployment's network), a storage that answered and refused is an
// error. A file that already has errors is not probed.
func probeBackends(ctx context.Context, s *settings, probs *problems) {
	if s == nil || probs.errors() > 0 {
		return
	}
	errs := make([]error, len(s.backends))
	var wg sync.WaitGroup
	for i, b := range s.backends {
		wg.Go(func() { errs[i] = probeBackend(ctx, b) })
	}
	wg.Wait()
	for i, b := range s.backends {
		switch err := errs[i]; {
		case err == nil:
		case probeUnreachable(err):
			probs.warn(b.Range, "backend %q: cannot reach its storage (%v); not checked", b.Name, err)
		default:
			probs.add(b.Range, "backend %q: the storage refused the probe: %v", b.Name, err)
		}
	}
}

// probeBackend opens b, probes it and closes it, within checkProbeTimeout.
func probeBackend(ctx context.Context, b backendSpec) error {
	ctx, cancel := context.WithTimeout(ctx, checkProbeTimeout)
	defer cancel()
	o, err := b.open(ctx, hclog.NewNullLogger())
	if err != nil {
		return err
	}
	defer o.Close()
	return o.Probe(ctx)
}

// probeUnreachable tells a probe that never got an answer (a dial or a
// name lookup that failed, no answer within the timeout) from one the
// storage answered with a refusal (no such bucket, access denied, a
// wrong secret or password, a certificate that does not verify). The
// backends keep the network error in the chain under
// backend.ErrUnavailable (a dial error, a lookup error); a refusal
// carries the storage's answer instead.
func probeUnreachable(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return true
	case errors.As(err, &de):
		return true
	case errors.As(err, &oe):
		return oe.Op == "dial" || oe.Timeout()
	}
	return false
}
