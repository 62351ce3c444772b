package ftptest

import (
	"errors"
	"fmt"
	"time"
)

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
		err := s.startOn(s.Port)
		if err == nil || !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("restart %s: %w", s.Opts.Server, err)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
