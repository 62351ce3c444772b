package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// backendSpec is one decoded backend block.
type backendSpec struct {
	Type   string
	Name   string
	Range  hcl.Range
	Config backend.Config
}

// open builds the backend's Opener through its package.
func (b backendSpec) open(ctx context.Context, log hclog.Logger) (backend.Opener, error) {
	return b.Config.Open(ctx, b.Name, log)
}

// backendBlocks decodes every backend block through the registry: each
// type's package owns its keys and their validation.
func (c *converter) backendBlocks(blocks []backendBlock) {
	c.backendNames = make(map[string]string, len(blocks))
	if len(blocks) == 0 {
		c.probs.add(c.loc.start(), `no backend: define at least one backend "TYPE" "NAME" block`)
	}
	for _, b := range blocks {
		if prev, dup := c.backendNames[b.Name]; dup {
			c.probs.add(b.Range, "backend %q is defined twice (first as type %q)", b.Name, prev)
			continue
		}
		if b.Name == "" || strings.ContainsAny(b.Name, "/ \t\x00") {
			c.probs.add(b.Range, "backend %q: the name must be non-empty without spaces or slashes", b.Name)
		}
		spec := backendSpec{Type: b.Type, Name: b.Name, Range: b.Range}
		if t, ok := backend.Lookup(b.Type); ok {
			spec.Config = t.NewConfig()
			diags := gohcl.DecodeBody(b.Body, nil, spec.Config)
			c.probs.addDiags(diags)
			if !diags.HasErrors() {
				spec.Config.Validate(&blockReporter{c: c, b: b})
			}
		} else {
			c.probs.add(b.Range, "backend %q: unknown type %q: want one of %s", b.Name, b.Type, strings.Join(backend.Types(), ", "))
			continue
		}
		c.backendNames[b.Name] = b.Type
		c.s.backends = append(c.s.backends, spec)
	}
}

// blockReporter points a backend package's problems at its block's
// attributes.
type blockReporter struct {
	c *converter
	b backendBlock
}

func (r *blockReporter) at(key string) hcl.Range {
	if key == "" {
		return r.b.Range
	}
	return r.c.attrIn(r.b.Body, r.b.Range, key)
}

func (r *blockReporter) Errorf(key, format string, args ...any) {
	r.c.probs.add(r.at(key), "backend %q: %s", r.b.Name, fmt.Sprintf(format, args...))
}

func (r *blockReporter) Warnf(key, format string, args ...any) {
	r.c.probs.warn(r.at(key), "backend %q: %s", r.b.Name, fmt.Sprintf(format, args...))
}

func (r *blockReporter) File(key, path string, secret bool) {
	if path == "" || r.c.skipFiles {
		return
	}
	check := checkReadableFile
	if secret {
		check = checkSecretFile
	}
	if err := check(path); err != nil {
		r.Errorf(key, "%s: %v", key, err)
	}
}

// mountBlock is `mount "/virtual/path" { backend = "..." path = "..." }`.
type mountBlock struct {
	Path    string    `hcl:"path,label"`
	Backend string    `hcl:"backend"`
	Dir     string    `hcl:"path,optional"`
	Range   hcl.Range `hcl:",def_range"`
}

// mounts converts a user's or group's mount blocks, checking that each
// names a defined backend; policy checks the paths (overlaps among them).
func (c *converter) mounts(who string, blocks []mountBlock) []policy.MountConfig {
	out := make([]policy.MountConfig, 0, len(blocks))
	for _, m := range blocks {
		c.backendRef(c.loc.attr(m.Range, "backend"), fmt.Sprintf("%s: mount %q", who, m.Path), m.Backend)
		out = append(out, policy.MountConfig{Path: m.Path, Backend: m.Backend, Dir: m.Dir})
	}
	return out
}
