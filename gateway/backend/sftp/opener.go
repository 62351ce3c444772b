package sftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/pkg/sftp"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

const (
	// reservedPrefix starts the names of the backend's own files (upload
	// temporaries, probes): clients can neither see nor name them.
	reservedPrefix = ".ftpsgw-"
	// uploadPrefix starts an upload's temporary file name.
	uploadPrefix = reservedPrefix + "up-"
	// probePrefix starts Probe's test file name.
	probePrefix = reservedPrefix + "probe-"
)

// Opener serves sessions from one SFTP server. Build it with Config.Open.
type Opener struct {
	name string
	log  hclog.Logger
	st   *settings
	// slots holds a token per open connection (sessions and probes); its
	// capacity is max_connections.
	slots chan struct{}

	mu     sync.Mutex
	closed bool // guarded by mu
}

var (
	_ backend.Opener = (*Opener)(nil)
	_ backend.FS     = (*FS)(nil)
)

func newOpener(name string, log hclog.Logger, st *settings) *Opener {
	return &Opener{name: name, log: log, st: st, slots: make(chan struct{}, st.maxConns)}
}

// acquire takes a connection slot without waiting: at max_connections the
// caller fails with backend.ErrUnavailable.
func (o *Opener) acquire() error {
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: sftp backend %s is closed", backend.ErrUnavailable, o.name)
	}
	select {
	case o.slots <- struct{}{}:
		return nil
	default:
		o.log.Warn("sftp max_connections reached", "max_connections", o.st.maxConns)
		return fmt.Errorf("%w: sftp backend %s has all %d connections in use", backend.ErrUnavailable, o.name, o.st.maxConns)
	}
}

func (o *Opener) release() { <-o.slots }

// Open implements backend.Opener: it dials the session's own connection,
// creates the home below root and checks that it resolves inside root's
// tree as seen by the server.
func (o *Opener) Open(ctx context.Context, home string) (backend.FS, error) {
	rel, err := backend.CheckHome(home)
	if err != nil {
		return nil, err
	}
	if err := checkReserved(rel); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := o.acquire(); err != nil {
		return nil, err
	}
	s := &FS{o: o, home: path.Join(o.st.root, rel)}
	if err := s.openHome(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open home %s: %w", home, err)
	}
	return s, nil
}

// openHome creates the home directory and records where it resolves.
func (s *FS) openHome(ctx context.Context) error {
	return s.run(ctx, func(l *link) error {
		if err := mkdirAll(l.c, s.home); err != nil {
			return err
		}
		real, err := l.c.RealPath(s.home)
		if err != nil {
			return err
		}
		s.realHome = real
		return nil
	})
}

// mkdirAll creates dir and its missing parents; a file in the way is
// backend.ErrNotDir.
func mkdirAll(c *sftp.Client, dir string) error {
	fi, err := c.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s: %w", dir, backend.ErrNotDir)
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if parent := path.Dir(dir); parent != dir {
		if err := mkdirAll(c, parent); err != nil {
			return err
		}
	}
	if err := c.Mkdir(dir); err != nil {
		if fi, serr := c.Stat(dir); serr == nil && fi.IsDir() {
			return nil // made meanwhile
		}
		return err
	}
	return nil
}

// Probe implements backend.Opener: on a connection of its own it writes a
// small hidden file in root, reads it back and removes it.
func (o *Opener) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	if err := o.acquire(); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer o.release()
	var wg sync.WaitGroup
	l, err := o.dial(ctx, &wg)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer wg.Wait()
	defer l.kill()
	w := l.watch(ctx, o.st.opTimeout)
	if err := w.end(probe(l.c, o.st.root)); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	return nil
}

// probe writes, reads back and removes a test file in dir.
func probe(c *sftp.Client, dir string) (err error) {
	name := path.Join(dir, probePrefix+rand.Text())
	want := []byte("ftpsgw probe " + name)
	f, err := c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		if rerr := c.Remove(name); rerr != nil && err == nil {
			err = fmt.Errorf("remove: %w", rerr)
		}
	}()
	_, werr := f.Write(want)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	r, err := c.Open(name)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	got, rerr := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	if err := errors.Join(rerr, r.Close()); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if !bytes.Equal(got, want) {
		return errors.New("read back different data")
	}
	return nil
}

// Close implements backend.Opener: new sessions and probes are refused;
// open sessions keep their connections until they close.
func (o *Opener) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	return nil
}

// checkName applies the contract's name rule and refuses the reserved
// prefix, so clients can neither see nor name the backend's own files.
func checkName(name string) error {
	if err := backend.CheckName(name); err != nil {
		return err
	}
	return checkReserved(name)
}

// checkReserved refuses elements with the reserved prefix.
func checkReserved(name string) error {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, reservedPrefix) {
			return fmt.Errorf("reserved name %q: %w", elem, fs.ErrInvalid)
		}
	}
	return nil
}
