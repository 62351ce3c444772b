package local

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// TypeName is the backend type this package registers:
// `backend "local" "NAME" { root = "/srv/ftp" }`.
const TypeName = "local"

func init() {
	backend.Register(backend.Type{
		Name:      TypeName,
		NewConfig: func() backend.Config { return new(Config) },
	})
}

// Config is the body of a local backend block.
type Config struct {
	// Root is the directory that holds the users' homes. A relative path
	// is taken from the working directory; a missing directory is created
	// (mode 0750) when the backend opens.
	Root string `hcl:"root"`
	// FollowSymlinks follows symbolic links inside a home; off, they are
	// invisible (see Opener.FollowSymlinks). A followed link is judged by
	// the rules at the path the client names, not at its target.
	FollowSymlinks bool `hcl:"follow_symlinks,optional"`
	// Durability is "fsync" (the default when empty) or "none". With
	// "fsync" an upload is on the disk, file and name, before Commit
	// returns: after a power loss or kernel crash the final name holds the
	// old file or the complete new one. "none" skips the syncs and is
	// faster on slow disks, but a crash can then lose uploads the clients
	// were told were stored, or leave them empty or partial under their
	// final names. See DurabilityNone.
	Durability string `hcl:"durability,optional"`
}

var _ backend.Config = (*Config)(nil)

// Validate implements backend.Config: root is required and, where it
// exists, a directory; durability, if set, is "fsync" or "none". It only
// stats the path.
func (c *Config) Validate(r backend.Reporter) {
	if !Durability(c.Durability).valid() {
		r.Errorf("durability", "durability %q is not %q or %q", c.Durability, DurabilityFsync, DurabilityNone)
	}
	if c.Root == "" {
		r.Errorf("root", "root is required")
		return
	}
	if fi, err := os.Stat(c.Root); err == nil && !fi.IsDir() {
		r.Errorf("root", "root %s is not a directory", c.Root)
	}
}

// Open implements backend.Config: it creates a missing root, then opens it
// with New. log is not used; a local directory has nothing to report
// beyond its errors.
func (c *Config) Open(ctx context.Context, name string, _ hclog.Logger) (backend.Opener, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !Durability(c.Durability).valid() {
		return nil, fmt.Errorf("durability %q is not %q or %q", c.Durability, DurabilityFsync, DurabilityNone)
	}
	if err := os.MkdirAll(c.Root, 0o750); err != nil {
		return nil, fmt.Errorf("create root: %w", err)
	}
	o, err := New(c.Root)
	if err != nil {
		return nil, err
	}
	o.FollowSymlinks = c.FollowSymlinks
	o.Durability = Durability(c.Durability)
	return o, nil
}
