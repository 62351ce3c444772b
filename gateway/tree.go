package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/mount"
	"github.com/ftpsgw/ftpsgw/policy"
)

// errUnknownBackend reports an identity naming a backend the server was
// not given (a configuration the loader should have refused).
var errUnknownBackend = errors.New("unknown backend")

// openTree opens a login's storage: its home on its backend, plus every
// virtual folder mounted into it, each instrumented under its own backend
// name. A failure closes whatever was opened.
func (srv *Server) openTree(ctx context.Context, id *policy.Identity) (backend.FS, error) {
	root, err := srv.openBackend(ctx, id.Backend, id.Home)
	if err != nil {
		return nil, err
	}
	if len(id.Mounts) == 0 {
		return root, nil
	}
	points := make([]mount.Point, 0, len(id.Mounts))
	closeAll := func() {
		root.Close()
		for _, p := range points {
			p.FS.Close()
		}
	}
	for _, m := range id.Mounts {
		fsys, err := srv.openBackend(ctx, m.Backend, m.Dir)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("mount %s: %w", m.Path, err)
		}
		points = append(points, mount.Point{Path: strings.TrimPrefix(m.Path, "/"), FS: fsys})
	}
	tree, err := mount.New(root, points)
	if err != nil {
		closeAll()
		return nil, err
	}
	return tree, nil
}

// openBackend opens dir on the backend called name.
func (srv *Server) openBackend(ctx context.Context, name, dir string) (backend.FS, error) {
	opener, ok := srv.cfg.Backends[name]
	if !ok || opener == nil {
		return nil, fmt.Errorf("%w %q", errUnknownBackend, name)
	}
	fsys, err := opener.Open(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("open %s on backend %s: %w", dir, name, err)
	}
	return instrument(fsys, name, srv.obs), nil
}
