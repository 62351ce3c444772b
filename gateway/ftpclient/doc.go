// Package ftpclient is the user side of FTP over TLS (RFC 959, RFC 4217,
// RFC 2428, RFC 3659): a control connection that reads replies with a
// size bound, upgrades with AUTH TLS (refusing plaintext injected before
// the handshake), logs in, sets PBSZ and PROT, enters passive mode with
// EPSV and falls back to PASV, and opens data connections that resume
// the control connection's TLS session through a shared
// ClientSessionCache, or deliberately do not (TransferOptions.FreshSession),
// for probes of servers that must refuse them. Active mode (EPRT, PORT;
// TransferOptions.Active) listens on the control connection's local
// address, accepts only the control peer and stays the TLS client on
// the data connection; Config.Implicit dials implicit FTPS. Transfer
// runs a whole transfer around a callback; OpenData returns the open
// data connection (Data) for a caller that streams it, ended by Finish
// (close_notify, half-close, drain, completion reply) or Abort. It also
// holds the parsers for the protocol text a server sends (FEAT, EPSV,
// PASV, SIZE, MDTM, MLSx, LIST). The gateway's tools (ftpsgw doctor,
// ftpsgw client) and its upstream-FTP backend (gateway/backend/ftp) all
// speak FTP through it.
//
// Trust boundary: everything the server sends is untrusted. Replies are
// bounded to MaxReply bytes, listings to 16 MiB, and every read and write
// has a deadline; parsers never panic and range-check numbers. Command
// arguments holding CR, LF or NUL are refused before they are sent.
//
// Concurrency: a Conn is used by one goroutine at a time; Close and
// CloseNow may be called from any goroutine, and a Data's Abort from
// another than the one reading or writing it. Bind ties a run of
// exchanges to a context: when it ends, blocked reads and writes return
// at once and later exchanges fail. Alive peeks at an idle connection
// for a close or an unasked reply before it is reused. Lifecycle: Dial,
// AuthTLS, Login, Prot, transfers, Quit (or Close).
package ftpclient
