// Package tlsmgr owns TLS for ftpsgw: where certificates come from, the
// version and cipher policy, client-certificate verification, and the
// binding of data-connection TLS sessions to their FTP session. The gateway
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
// # Data-connection binding
//
// Each Session has a random 16-byte token. Every session ticket minted on
// its control or data connections goes through Session.wrap (the configs'
// WrapSession hook), which replaces any binding entry in
// SessionState.Extra with this session's token and encrypts the state with
// the one shared config's EncryptTicket, so ticket keys are the same for
// every per-session config. UnwrapSession decrypts with the same shared
// config and returns the state only when it carries this session's token;
// any other ticket is declined, so crypto/tls falls back to a full
// handshake. Hence, for a handshake made with a session's Data config,
// ConnectionState.DidResume is true exactly when the client resumed a
// ticket of this FTP session: that is the sound per-connection fact, needing
// no shared state. Data handshakes mint new bound tickets, so TLS 1.3
// clients that use each ticket once keep resuming across any number of
// data connections. Control handshakes resume only their own session's
// tickets, so a control connection always verifies client certificates
// afresh against the current CA file.
//
// To tell the two failures apart, Data's config hands each handshake (via
// GetConfigForClient) a clone whose UnwrapSession records, for that
// connection only, whether a decryptable foreign ticket was offered; its
// VerifyConnection, which crypto/tls calls at the end of every server
// handshake (full or resumed, 1.2 or 1.3), adds the outcome to one of two
// per-session counters (resumed, foreign). CheckData consumes one unit:
// not resumed → ErrForeignSession if a foreign-offer unit is pending, else
// ErrNotResumed; resumed → nil if a resumed unit is pending (proving the
// handshake went through this session's config), else ErrForeignSession.
// The accept/refuse verdict never depends on the counters' pairing; only
// the choice between the two error values could be swapped if two failing
// data handshakes of one session race, which does not change what the
// gateway does.
//
// # Trust boundary
//
// Everything a client sends is parsed by crypto/tls; tlsmgr sees only
// decrypted, authenticated ticket contents it wrote itself, and SNI/HOST
// names used solely to select a certificate. We trust crypto/tls, certmagic
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
// closed Session's tickets are no longer resumed. CheckData is meant to be
// called once per data connection, after its handshake.
package tlsmgr
