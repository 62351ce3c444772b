package gateway

// connState is where a control connection is in its life. Transitions:
//
//	stateNew --AUTH TLS / implicit handshake--> stateTLS
//	stateTLS --PASS ok--> stateLoggedIn
//	stateLoggedIn --REIN--> stateTLS
//	any --QUIT, timeout, error, shutdown--> stateClosed
//
// It is stored atomically so Shutdown can tell idle sessions from busy ones
// without taking the session's locks.
type connState int32

const (
	stateNew      connState = iota // plain TCP, before AUTH TLS
	stateTLS                       // TLS up, not logged in
	stateLoggedIn                  // logged in
	stateClosed                    // finished
)

func (s connState) String() string {
	switch s {
	case stateNew:
		return "new"
	case stateTLS:
		return "tls"
	case stateLoggedIn:
		return "logged_in"
	case stateClosed:
		return "closed"
	}
	return "unknown"
}
