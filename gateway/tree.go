package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/mount"
	"github.com/ftpsgw/ftpsgw/policy"
)

// errUnknownBackend reports an identity naming a backend the server was
// not given (a configuration the loader should have refused).
var errUnknownBackend = errors.New("unknown backend")

// errCredentialsRefused reports storage that refused the user's own name
// and password (an upstream FTP server with credentials = "passthrough"):
// the login fails as for a wrong password.
var errCredentialsRefused = errors.New("the storage refused the user's credentials")

// openTree opens a login's storage: its home on its backend, plus every
// virtual folder mounted into it, each instrumented under its own backend
// name. Backends that log in as the user get cred. A failure closes
// whatever was opened.
func (srv *Server) openTree(ctx context.Context, id *policy.Identity, cred backend.Credentials) (backend.FS, error) {
	root, err := srv.openBackend(ctx, id.Backend, id.Home, cred)
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
		fsys, err := srv.openBackend(ctx, m.Backend, m.Dir, cred)
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

// openBackend opens dir on the backend called name, as the user (cred)
// when the backend logs in with each user's own credentials.
func (srv *Server) openBackend(ctx context.Context, name, dir string, cred backend.Credentials) (backend.FS, error) {
	opener, ok := srv.cfg.Backends[name]
	if !ok || opener == nil {
		return nil, fmt.Errorf("%w %q", errUnknownBackend, name)
	}
	var fsys backend.FS
	var err error
	if co, ok := opener.(backend.CredentialOpener); ok && co.NeedsCredentials() {
		fsys, err = co.OpenAs(ctx, dir, cred)
		if errors.Is(err, fs.ErrPermission) {
			err = fmt.Errorf("%w: %w", errCredentialsRefused, err)
		}
	} else {
		fsys, err = opener.Open(ctx, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s on backend %s: %w", dir, name, err)
	}
	return instrument(fsys, name, srv.obs), nil
}

// checkUpstream is policy's LoginRequest.Upstream (`auth "upstream"`):
// the storage of the backend called name checks the password.
func (srv *Server) checkUpstream(ctx context.Context, name, user, password string) error {
	opener, ok := srv.cfg.Backends[name]
	if !ok || opener == nil {
		return fmt.Errorf("%w %q", errUnknownBackend, name)
	}
	a, ok := opener.(backend.Authenticator)
	if !ok {
		return fmt.Errorf("backend %s cannot check passwords", name)
	}
	return a.Authenticate(ctx, backend.Credentials{User: user, Password: password})
}
