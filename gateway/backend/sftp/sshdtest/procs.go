package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os/user"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest/peer"
)

// ensureUser creates the test user once per process (and tolerates
// another process having created it) and sets its password hash. It
// returns the user's uid and gid.
var ensureUser = sync.OnceValues(func() (ids [2]int, err error) {
	if _, err := user.Lookup(User); err != nil {
		err := peer.RetryLocked(nil, "useradd", "-M", "-d", "/", "-s", "/usr/sbin/nologin", User)
		if err != nil && !peer.IsExit(err, 9) { // 9: the user exists already
			return ids, err
		}
	}
	u, err := user.Lookup(User)
	if err != nil {
		return ids, err
	}
	ids[0], _ = strconv.Atoi(u.Uid)
	ids[1], _ = strconv.Atoi(u.Gid)
	hash, err := passwordHash()
	if err != nil {
		return ids, err
	}
	if peer.ShadowHash(User) != hash {
		if err := peer.RetryLocked(nil, "usermod", "-p", hash, User); err != nil {
			return ids, err
		}
	}
	return ids, nil
})

// generateEd25519 returns a new public key and its private key in
// OpenSSH PEM form.
func generateEd25519() (ssh.PublicKey, []byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, nil, err
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return spub, pem.EncodeToMemory(block), nil
}

// Connections returns how many client connections the server holds: the
// per-connection processes forked directly by the listener.
func (s *Server) Connections() int { return s.procs.Connections() }

// KillSessions sends SIGKILL to every per-connection process, which drops
// every client connection at once; the listener keeps accepting. It
// returns how many processes it killed.
func (s *Server) KillSessions() int { return s.procs.KillSessions() }

// Stall freezes the server: open connections stay open but nothing
// answers, and new connections are queued but never greeted, until
// Resume.
func (s *Server) Stall() { s.procs.Stall() }

// Resume undoes Stall. It may be called more than once.
func (s *Server) Resume() { s.procs.Resume() }

// Stop takes the whole server down: every connection is killed and the
// listener stops, so new connections are refused until Restart.
func (s *Server) Stop() { s.procs.Stop() }

// Restart starts the server again on the same port (after stopping it if
// it runs), retrying for a few seconds while the port is busy.
func (s *Server) Restart() error {
	s.Stop()
	deadline := time.Now().Add(readyWait)
	for {
		err := s.startOn(s.Port, false)
		if err == nil || !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
