// Package hooks delivers gateway events (transfers, deletions, renames,
// directories, logins, bans) to HTTP receivers or programs, asynchronously,
// from a bounded queue.
//
// Trust boundary: the receiver is trusted to exist, not to be fast. An
// event is queued without blocking; a full queue drops the event and
// counts it. Each body is signed with HMAC-SHA256 under the hook's secret
// (header X-Ftpsgw-Signature: sha256=HEX). URLs are https, or http to a
// loopback address only (checked by cmd/ftpsgw).
//
// Veto hooks are the exception: Dispatcher.Screen asks them synchronously,
// once each, before an upload is published, and any answer but 2xx (or
// exit status 0), including a timeout, refuses it: screening fails closed.
//
// Concurrency: Dispatcher.Emit is safe for concurrent use; one worker
// goroutine per hook delivers in order, retrying with exponential backoff;
// Close stops the workers and waits for them.
package hooks
