// Package tlsmgr owns TLS for ftpsgw: where certificates come from, the
// version and cipher policy, client-certificate verification, and the
// binding of data-connection TLS sessions to their user, client address and
// FTP session. The gateway
// never builds a tls.Config itself; it asks a Manager (which implements the
// gateway's TLSProvider seam using only standard-library types) for one per
// FTP session.
//
// # Certificate sources
//
//   - "file": a PEM chain and key. Reload (the binary calls it on SIGHUP)
//     re-reads them, and a poller (Config.PollInterval, default 5 s) compares
//     size and mtime, then a SHA-256 of both files, and reloads on change.
//     A new pair is parsed and its key checked against the leaf before an
//     atomic pointer swap; a broken pair is logged once and the old pair
//     stays. Handshakes in flight and established connections are not
//     touched. A key file accessible to "others" is refused.
//   - "self_signed": a P-256 certificate created once under StateDir (key
//     0600, directory 0700), reused across restarts, replaced when it is
//     unreadable, within 30 days of expiry or made for other names. Its
//     SHA-256 fingerprint is logged at every start for clients to pin.
//   - "acme": certmagic with our own Cache, Config and ACMEIssuer (the
//     package defaults are never modified): storage under acme.storage,
//     HTTP-01 and/or TLS-ALPN-01 solvers on configurable ports and address,
//     custom CA directory and CA roots, OCSP stapling unless disabled,
//     automatic renewal by certmagic's maintenance goroutine. New blocks in
//     ManageSync so a failure stops start-up. certmagic's zap logs are
//     bridged into the go-hclog logger.
//
// The certificate follows the name the client asked for: SNI when sent,
// else the HOST name given to Session.Control, else the first ACME domain.
//
// # Policy
//
// TLS 1.2 or 1.3 only (min_version "1.2" or "1.3"); for TLS 1.2 only ECDHE
// key exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305). crypto/tls
// never renegotiates as a server and never compresses. Config.Validate
// refuses anything else with a message that names the setting.
//
// Against cross-protocol attacks (ALPACA) every listener offers ALPN "ftp"
// and refuses a ClientHello that offers ALPN without it (ErrALPN); with
// StrictSNI an SNI name the certificate does not cover fails the handshake
// (ErrSNI). A ClientHello without ALPN or without SNI is accepted.
//
// Client certificates are verified by crypto/tls against client_ca_file;
// client_crl_file (PEM or DER CRLs, each signed by a CA of that file) is
// checked in the control config's VerifyConnection at every control
// handshake (ErrRevoked). Both files are re-read by Reload and swapped
// together; a bad new pair leaves the old one in force.
//
// # Data-connection binding
//
// Every ticket minted on a session's connections carries, in its
// SessionState.Extra (written by WrapSession, read by UnwrapSession, all
// tickets encrypted with the one shared config's EncryptTicket so keys are
// the same for every per-session config), a binding entry: the Manager's
// random nonce, the FTP session's random token and, once the session has
// logged in (Session.Bind), the user and client address. A ticket minted
// on a control connection (always before login) names only the session;
// the registry (registry.go) says whom that session later bound to. It
// keeps open sessions, and closed sessions that logged in for 24 hours, at
// most 16384 of them, oldest first out; sessions that never logged in are
// forgotten at close.
//
// A data handshake (Session.Data, one config per connection) resumes a
// ticket only if judge accepts it: its own session's ticket; or, with
// binding "user" (the default), a ticket whose minting session logged in
// as the same user from the same client address, open or closed. Refused:
// full handshakes and undecryptable tickets (ErrNotResumed, reason
// no_resume; a ticket of another process or from before a restart does not
// decrypt and would carry another nonce), tickets of a session that does
// not count (ErrForeignSession, other_session: binding "session", or a
// session that never logged in or is forgotten), of another user
// (ErrOtherUser, other_user, also from the same address) and of the same
// user at another address (ErrOtherAddress, other_address). A declined
// ticket makes crypto/tls fall back to a full handshake, so DidResume means
// bound. If the minting session is open and still logging in (parallel
// clients share one ticket cache, so its ticket can come first), judge
// waits for its login for up to 5 s within the handshake's deadline.
//
// New tickets on a data connection are bound only if it resumed (so
// bound); a full handshake gets a void ticket, so a refused client (a port
// thief behind the same NAT) never obtains one that binds. A TLS 1.3
// upload that made a full handshake gets no ticket at all (its config's
// SessionTicketsDisabled is set from GetCertificate, which crypto/tls
// calls for TLS 1.3 only after the resumption attempt): such a client may
// never read, and closing a socket with unread data turns the close into a
// reset that loses the tail of the upload. Resumed uploads do get one:
// clients that use each TLS 1.3 ticket once (curl with OpenSSL) need it for
// the next data connection, and read it before their close_notify.
//
// The check Data returns reports the outcome of that one handshake (no
// shared counters): nil, or the *BindError above; ErrSessionIDOnly (also
// no_resume) for a TLS 1.2 ClientHello without the session_ticket
// extension, with a Hint for the operator: such a client resumes only by
// session id, which crypto/tls cannot do as a server.
//
// Control handshakes resume only their own session's tickets (in practice
// none), so a control connection always verifies client certificates
// afresh against the current CA file and CRL.
//
// # Trust boundary
//
// Everything a client sends is parsed by crypto/tls; tlsmgr sees only
// decrypted, authenticated ticket contents it wrote itself, and SNI/HOST
// names used to select and (StrictSNI) check a certificate, and ALPN
// names compared with "ftp". We trust crypto/tls, certmagic
// and the ACME CA named in the configuration. Certificate and key files are
// trusted as the operator's (a key file open to others is refused).
// Private keys are never logged; errors about key files name the file, not
// its contents. Client certificates are verified by crypto/tls against
// client_ca_file; MatchSubject only compares names on such a verified
// certificate.
//
// # Concurrency and lifecycle
//
// A Manager and its Sessions are safe for concurrent use. New starts the
// background goroutines (file poller, hourly expiry warnings, certmagic's
// maintenance); they stop when New's context ends or at Close, which also
// joins them and stops certmagic's cache. Certificates sit behind atomic
// pointers (certmagic's cache has its own lock), so handshakes never wait
// for a reload. Configs a Session returned stay usable after Close, but a
// closed Session's own data connections bind nothing (its tickets stay
// valid for its user's sibling sessions). The registry's lock is held only
// for map updates, never while waiting. Every NewSession must be closed.
package tlsmgr
