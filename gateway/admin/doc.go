// Package admin is the gateway's operations HTTP listener: a JSON API
// under /api/v1/ and a server-rendered /sessions page.
//
// Trust boundary: every request is authenticated with a bearer token (or
// the cookie the /sessions/login exchange sets from it) whose SHA-256 is
// compared in constant time with the configured digest. Every request,
// failures included, is one audit log line; the token never is. Responses
// carry no secrets. The listener is off by default and, on a non-loopback
// address, requires TLS (cmd/ftpsgw enforces that).
//
// Concurrency: Handler is safe for concurrent use; the Ops functions it
// calls must be too.
package admin
