// Package policy decides who may do what on the gateway: authentication
// (argon2id and bcrypt password hashes, client certificates, an optional
// LDAP provider, anonymous read-only access), users and groups, per-path
// permission rules, network rules (CIDR allow/deny), per-user limits
// (sessions, file size, quotas, bandwidth) and the brute-force defender.
//
// # Lifecycle
//
// Compile turns a decoded Config into an immutable *Policy snapshot,
// collecting every problem as *ConfigError values joined with errors.Join
// so that check-config can print them all. Reload is the caller's: build a
// new snapshot, swap an atomic.Pointer, keep the old one on error.
// Identities carry only names, so decisions for sessions in flight are
// always taken against the snapshot in force (a user removed by a reload
// loses every permission at once). Defender, Bandwidth and Quotas hold
// state that outlives reloads and are created once by the caller.
//
// # Trust boundary
//
// Everything a client sends arrives here as untrusted strings: the login
// name and password (LoginRequest), the virtual path (already cleaned and
// confined by the gateway's resolver, but still treated as hostile bytes)
// and the client address. Passwords are only hashed and compared in
// constant time; they never appear in errors, reasons or the LDAP cache
// (keyed by an HMAC of user and password). Paths are matched byte-exact
// and case-sensitively by a bounded, allocation-free glob matcher (no
// regular expressions, no recursion; see rules.go). The config file is
// trusted but validated. The LDAP server is trusted to authenticate users
// and report groups, and is reached only over TLS (ldaps:// or StartTLS,
// optionally with a private CA). Client certificates are trusted as
// verified by tlsmgr; this package only matches the leaf's subject.
//
// # Decisions
//
// Decide is pure and does not allocate; it is deny by default. See
// eval.go for the algorithm and rules.go for glob syntax and specificity.
// Explain reports the same decision with the rules, groups and network
// rules that made it, for `ftpsgw explain`. CanStat decides metadata
// (list or download). RenameAllowed decides a rename as a whole: a
// subtree may only move where every path below it is decided the same,
// which it checks on the rules, not the files (rename.go).
//
// # State
//
// Defender bans addresses after repeated failures (exempt networks
// excepted; a success resets nothing; failures during a ban extend it)
// and throttles user names under password spraying (account.go).
// Quotas owns quota arithmetic: uploads reserve bytes and files before
// writing and charge the real change at commit, under one lock per user
// (quota.go). Bandwidth paces transfers per user.
//
// # Concurrency
//
// A *Policy is safe for concurrent use; its only mutable state is the LDAP
// result cache (behind a mutex) and a semaphore bounding concurrent
// password hashing (argon2id with the default cost needs 64 MiB each).
// Defender, Bandwidth and Quotas are safe for concurrent use. The package
// has no globals besides read-only tables and does no logging: callers
// log Decision.Reason and AuthError.Reason.
package policy
