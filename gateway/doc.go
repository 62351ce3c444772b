// Package gateway is ftpsgw's FTP protocol engine: listeners, the control
// session state machine, the command table, replies, the data channel and
// transfers. It serves explicit FTPS (RFC 4217) and implicit FTPS, and
// nothing unencrypted unless the configuration allows clear data after an
// encrypted login.
//
// # Trust boundary
//
// Every byte from a client is hostile until lineproto.go has bounded it
// (4 KiB per line), refused NUL, control bytes and invalid UTF-8, and
// split it into a verb and an argument. Paths become a vpath only through
// resolve, which is confined to "/" (the user's home); backends receive
// the clean relative form and confine it again (the local backend with
// os.Root). Every reply passes through the one reply writer, which
// neutralises CR, LF, NUL and 0xFF in interpolated text, and every error
// becomes a fixed reply text in replies.go; error details go to the log.
//
// Cheap checks come before expensive ones: a banned IP, a network rule or
// a session limit closes the connection before any TLS work. Before AUTH
// TLS only AUTH FEAT HELP NOOP QUIT SYST HOST OPTS are answered; USER and
// PASS get 530. Bytes buffered after the 234 reply (plaintext injection)
// close the connection. Passive data connections from any address other
// than the control connection's client are dropped before their TLS
// handshake; active mode, when enabled, dials only the client's own
// address and ports >= 1024. Data TLS must resume a ticket issued to the
// same user from the same client address, or within the same FTP session
// (tls.session_binding; judged by the TLSProvider's TLSSession); a data
// connection that fails this is dropped like a foreign address.
//
// # Session states
//
//	new ──AUTH TLS──▶ tls ──USER/PASS ok──▶ logged_in
//	 │                 ▲                        │
//	 │                 └────────REIN────────────┘
//	 └──QUIT / timeout / error / shutdown──▶ closed (from any state)
//
// # Concurrency
//
// Each control connection has one goroutine that reads and dispatches
// commands. An idle TLS session waits for its next command on the socket,
// at the top of its stack rather than inside crypto/tls (park.go); after
// two idle seconds the wait moves to a new goroutine, so an idle session
// holds a 2 KiB stack and no line buffer. A transfer runs in at most one
// extra goroutine per session,
// so ABOR, STAT, NOOP and QUIT are answered while data flows; all replies
// go through the session's write mutex. The session goroutine joins the
// transfer goroutine (abortTransfer) before it exits. A panic in either
// goroutine is logged with its stack and ends that session only.
//
// # Lifecycle
//
// New validates a Config; Serve and ServeImplicit accept until Shutdown
// or Close and then return ErrServerClosed. Shutdown stops accepting,
// sends 421 to idle sessions and lets transfers in flight finish until its
// context ends; Close ends everything at once. The policy snapshot is read
// through Config.Policy at every decision, so a reload applies to sessions
// in flight at their next command.
package gateway
