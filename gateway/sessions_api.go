package gateway

// sessions_api.go: what the admin API (cmd/ftpsgw, gateway/admin) needs
// of a running server: a snapshot of every session and a kick.

import (
	"crypto/tls"
	"sync"
	"time"
)

// SessionInfo is a point-in-time view of one control session.
type SessionInfo struct {
	ID          string        `json:"id"`
	User        string        `json:"user,omitempty"` // empty before login
	Client      string        `json:"client"`         // after PROXY resolution
	TLSVersion  string        `json:"tls_version,omitempty"`
	TLSCipher   string        `json:"tls_cipher,omitempty"`
	Connected   time.Time     `json:"connected"`
	LoginTime   time.Time     `json:"login_time,omitzero"`
	IdleSeconds float64       `json:"idle_seconds"`
	Cwd         string        `json:"cwd,omitempty"`
	LastCommand string        `json:"last_command,omitempty"`
	Transfer    *TransferInfo `json:"transfer,omitempty"`
}

// TransferInfo is the transfer in flight of a session.
type TransferInfo struct {
	Verb        string    `json:"verb"`
	Direction   string    `json:"direction,omitempty"` // upload, download; empty for listings
	Path        string    `json:"path"`
	Bytes       int64     `json:"bytes"`
	Started     time.Time `json:"started"`
	BytesPerSec float64   `json:"bytes_per_second"`
}

// sessSnap holds copies of main-goroutine fields for other goroutines.
// The session goroutine writes it after each command (noteCommand).
type sessSnap struct {
	mu        sync.Mutex // guards the fields below
	user      string
	tlsVer    uint16
	cipher    uint16
	loginAt   time.Time
	lastAt    time.Time
	cwd       string
	verb      string
	xfer      *transfer // the transfer the last command started
	xferStart time.Time
}

// noteCommand records what the admin API shows of the session; called
// by the session goroutine after each command.
func (s *session) noteCommand(verb string) {
	now := time.Now()
	s.snap.mu.Lock()
	defer s.snap.mu.Unlock()
	s.snap.lastAt, s.snap.verb = now, verb
	s.snap.tlsVer, s.snap.cipher = s.tlsVer, s.peerCert.CipherSuite
	if s.ident != nil {
		if s.snap.user != s.ident.User || s.snap.loginAt.IsZero() {
			s.snap.user, s.snap.loginAt = s.ident.User, now
		}
		s.snap.cwd = s.cwd.String()
	} else {
		s.snap.user, s.snap.loginAt, s.snap.cwd = "", time.Time{}, ""
	}
	if s.xferStarted {
		s.xmu.Lock()
		s.snap.xfer, s.snap.xferStart = s.xfer, now
		s.xmu.Unlock()
	}
}

// info builds the session's SessionInfo; safe from any goroutine.
func (s *session) info(now time.Time) SessionInfo {
	s.snap.mu.Lock()
	in := SessionInfo{
		ID: s.id, User: s.snap.user, Client: s.client.String(), Connected: s.started,
		LoginTime: s.snap.loginAt, Cwd: s.snap.cwd, LastCommand: s.snap.verb,
	}
	last := s.snap.lastAt
	if last.IsZero() {
		last = s.started
	}
	in.IdleSeconds = now.Sub(last).Seconds()
	if s.snap.tlsVer != 0 {
		in.TLSVersion = TLSVersionName(s.snap.tlsVer)
		in.TLSCipher = tls.CipherSuiteName(s.snap.cipher)
	}
	sx, start := s.snap.xfer, s.snap.xferStart
	s.snap.mu.Unlock()

	s.xmu.Lock()
	x := s.xfer
	s.xmu.Unlock()
	if x == nil {
		return in
	}
	if x != sx {
		start = now
	}
	ti := &TransferInfo{Verb: x.verb, Direction: string(x.dir), Path: x.path.String(),
		Bytes: x.bytes.Load(), Started: start}
	if d := now.Sub(start).Seconds(); d > 0 {
		ti.BytesPerSec = float64(ti.Bytes) / d
	}
	in.IdleSeconds = 0 // a transfer in flight is not idle
	in.Transfer = ti
	return in
}

// SessionList returns a snapshot of every open control session, oldest
// first.
func (s *Server) SessionList() []SessionInfo {
	s.mu.Lock()
	all := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	now := time.Now()
	out := make([]SessionInfo, 0, len(all))
	for _, sess := range all {
		out = append(out, sess.info(now))
	}
	sortSessions(out)
	return out
}

func sortSessions(out []SessionInfo) {
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Connected.Before(out[j-1].Connected); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
}

// replyKicked is the 421 a session closed by the admin API gets.
var replyKicked = reply{421, "Session closed by the administrator."}

// kickWriteTimeout bounds the 421 write, so a client that does not read
// cannot hold a kick.
const kickWriteTimeout = 500 * time.Millisecond

// Kick sends the session id a 421, aborts its transfer (an aborted
// upload's temporary file is removed by the abort path) and closes it.
// It reports whether the session existed.
func (s *Server) Kick(id string) bool {
	s.mu.Lock()
	var target *session
	for sess := range s.sessions {
		if sess.id == id {
			target = sess
			break
		}
	}
	s.mu.Unlock()
	if target == nil {
		return false
	}
	target.log.Info("session kicked by the administrator")
	if !target.closing.Swap(true) {
		target.wmu.Lock()
		target.conn.SetWriteDeadline(time.Now().Add(kickWriteTimeout))
		target.rw.write(replyKicked.code, replyKicked.text)
		target.wmu.Unlock()
	}
	target.kill()
	return true
}
