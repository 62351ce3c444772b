// Package sftp is the ftpsgw backend that serves sessions from a directory
// tree on an SFTP server (OpenSSH's sftp-server or internal-sftp, or any
// server of protocol version 3), registered as backend type "sftp":
//
//	backend "sftp" "legacy" {
//	  address          = "sftp.internal:22"          # required
//	  user             = "gateway"                   # required
//	  private_key_file = "/etc/ftpsgw/id_ed25519"    # and/or password_file
//	  known_hosts_file = "/etc/ftpsgw/known_hosts"   # required: host key pinning
//	  root             = "/export"                   # default "/"
//	  max_connections  = 64                          # default 64
//	  keepalive        = "30s"                       # default "30s"; "0s": off
//	  op_timeout       = "30s"                       # default "30s"
//	  concurrency      = 64                          # requests in flight per transfer
//	}
//
// Each gateway session gets its own SSH connection (Opener.Open dials it
// and creates the home below root); the backend holds at most
// max_connections of them, and Open fails with backend.ErrUnavailable at
// the cap. A connection that breaks fails the call in flight with
// backend.ErrUnavailable; the session's next call dials again, so the FTP
// session survives. Keepalives (keepalive@openssh.com) find a dead peer
// between commands.
//
// # Trust boundary
//
// The server is authenticated by the key pinned in known_hosts_file and
// nothing else: there is no trust on first use, and a server presenting
// another key is refused with an error wrapping ErrHostKey that names the
// presented key's SHA256 fingerprint. Passwords and keys are read at
// start-up and never logged.
//
// Names come from clients through the gateway's path resolver and are
// checked again (backend.CheckName; the prefix ".ftpsgw-" is reserved for
// the backend's own files and refused). They are joined to root and home
// only after the check, so lexically nothing leaves the home. The server,
// however, follows symbolic links with no notion of the home: so final
// symbolic links are never followed (listings leave them out, Stat and
// Open refuse them with fs.ErrPermission), and for a nested name the
// directory holding it is resolved by the server (REALPATH) and must lie
// inside the home. Someone who can change the tree on the server between
// that check and the request can still race it; the SFTP account itself
// bounds what they could reach.
//
// # Uploads
//
// WriteReplace and WriteExclusive write to a hidden temporary file
// ".ftpsgw-up-<random>" in the target's directory. Commit waits for every
// write to be acknowledged, fsyncs (fsync@openssh.com, when offered),
// closes, and then renames: posix-rename@openssh.com over the target for
// WriteReplace, plain SFTP RENAME for WriteExclusive, which must fail on
// an existing name (OpenSSH does it with link(2): atomic). Abort, and any
// failure, removes the temporary file, on a new connection if the old one
// broke; the target is untouched. A crash can leave a temporary file
// behind; it stays hidden. WriteAppend and WriteAt write in place at
// explicit offsets; WriteAt truncates to offset+written on Commit.
//
// Transfers use pkg/sftp's concurrent reads and writes: downloads through
// the reader's WriteTo (io.Copy), uploads through a pipe into ReadFrom,
// each with up to concurrency requests of 32 KiB in flight.
//
// # Failures and the replies they lead to
//
//	server unreachable at login      ErrUnavailable            421, session closed
//	connection drops in a transfer   ErrUnavailable            426; temporary file removed,
//	                                                           target untouched
//	permission denied                fs.ErrPermission          550
//	no space                         backend.ErrNoSpace        452
//	no answer within op_timeout      context.DeadlineExceeded  451; connection closed,
//	                                                           the next call redials
//
// OpenSSH speaks SFTP version 3, whose only detailed codes are "no such
// file" and "permission denied"; ENOSPC, EEXIST, ENOTEMPTY, EISDIR and
// EDQUOT all arrive as the generic SSH_FX_FAILURE. The backend tells them
// apart from the state of the files (an existing name, a non-empty
// directory) and, for writes, from statvfs@openssh.com: a failed write on
// a filesystem with less than 1 MiB or no inodes left is ErrNoSpace. A
// user quota (EDQUOT) is not visible that way and stays a generic failure
// (451). Servers that send SSH_FX_NO_SPACE_ON_FILESYSTEM or
// SSH_FX_QUOTA_EXCEEDED get ErrNoSpace directly.
//
// # Limits
//
// pkg/sftp v1.13.12 reads a directory whole: ReadDir's Lister hands out
// batches of a listing already in memory. Usage is unsupported (no
// CapUsage): it would walk the whole tree over the network.
//
// # Concurrency
//
// An Opener and the FS values it returns are safe for concurrent use; the
// requests of concurrent calls are multiplexed on the session's
// connection. A reader or upload is used by one transfer goroutine;
// Abort and Close may come from another and wait for a call in flight.
// A call whose context is cancelled returns within about a second even if
// the server has stopped answering (the connection is then closed).
package sftp
