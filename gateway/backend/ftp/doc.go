// Package ftp is the ftpsgw backend that serves sessions from an upstream
// FTP server (a legacy server the gateway reaches on the inside, in clear
// or over FTPS), registered as backend type "ftp":
//
//	backend "ftp" "mainframe" {
//	  address         = "10.9.9.9:21"                # required
//	  user            = "svc"                        # credentials = "service" only
//	  password_file   = "/etc/ftpsgw/upstream.secret" # service only; mode 0600
//	  root            = "/"                          # default "/"
//	  tls             = "explicit"                   # default; "implicit" | "none"
//	  ca_file         = "/etc/ftpsgw/upstream-ca.pem" # and/or fingerprint
//	  fingerprint     = "SHA256:3f1a..."             # pinned certificate
//	  credentials     = "service"                    # default; "passthrough"
//	  max_connections = 64                           # default 64
//	  keepalive       = "60s"                        # default "60s"; "0s": off
//	  op_timeout      = "30s"                        # default "30s"
//	}
//
// tls defaults to "explicit" (AUTH TLS, PBSZ 0, PROT P), the safe value
// (STYLE.md rule 20): a block that omits it never sends a password in
// clear, and an upstream without FTPS fails loudly at start-up. "none" is
// for legacy servers on a trusted network, and check-config warns that it
// sends passwords in clear. With TLS the certificate is checked against
// ca_file (the system roots when neither ca_file nor fingerprint is set)
// and its name against address's host, and/or its SHA-256 against
// fingerprint; a refusal wraps ErrCertificate and names the presented
// certificate's fingerprint, ready to pin.
//
// # Sessions
//
// Each gateway session gets its own control connection, opened at login
// (Opener.Open: connect, AUTH TLS, USER/PASS, PBSZ/PROT, FEAT, OPTS UTF8,
// TYPE I, and the home created below root) and closed with QUIT at
// FS.Close. A call made while that connection is busy (a transfer
// running) opens another, which is quit after two idle seconds. Every
// connection counts against max_connections; at the cap Open fails with
// backend.ErrUnavailable (421). While idle, a connection gets a NOOP
// every keepalive. Before an idle connection is reused, its socket is
// peeked without blocking: if the upstream closed it (its idle timeout,
// a restart) or sent anything unasked (421), it is dropped and the call
// goes on a new one, so an idle close costs nothing but a reconnection.
// A connection that breaks during a call fails that call with
// backend.ErrUnavailable (the gateway answers 426 during a transfer, 451
// otherwise) and the session's next call reconnects.
//
// With credentials = "passthrough" there is no service account: the
// gateway calls OpenAs with the user's own name and password (sent only
// after the client's FTPS login), which every reconnection reuses, and
// Authenticate checks a password with a login and QUIT. A refused login
// wraps fs.ErrPermission, an unreachable upstream
// backend.ErrUnavailable. Passwords are never logged.
//
// # Data connections
//
// Passive only: EPSV, falling back to PASV for the rest of the
// connection once EPSV is refused. The data connection always goes to
// the control connection's peer: the address in a PASV reply is never
// followed (it may be unroutable, behind NAT, or a third host), and the
// log says so once when it differs. Active mode toward the upstream (PORT,
// EPRT) is not supported. With TLS, a data connection's handshake
// follows the 150 reply and resumes the control connection's session
// from a per-connection cache, so upstreams that require it (vsftpd
// require_ssl_reuse=YES) accept it. Transfers that run to their end
// finish with a half-close (TLS close_notify, TCP FIN) and a drain, so
// no reset loses an upload's tail.
//
// The protocol exchange itself (commands checked for CR, LF and NUL,
// bounded multi-line replies, AUTH TLS, USER/PASS, PBSZ/PROT, FEAT, EPSV
// and PASV, data connections and their TLS) is gateway/ftpclient's, the
// one FTP client the gateway's tools share. This package adds what is
// its own: the pool and its keepalives, reconnection, the error mapping,
// binding each operation's context (ftpclient's Conn.Bind), the idle
// peek before reuse (Conn.Alive) and the rule that data goes to the
// control connection's peer.
//
// # Operations and their upstream commands
//
// Paths are absolute on the upstream (root + home + name), built only from
// names that passed backend.CheckName and this package's own check,
// which also refuses CR, LF and 0xFF (they would end the command and
// start another) and the reserved prefix ".ftpsgw-". Listings enter the
// directory (CWD) first, so no name is read as a LIST option or a glob.
//
//	Stat       MLST; without MLST: SIZE (+MDTM) for a file, CWD for a
//	           directory (no time then), else the parent's listing (finds
//	           what exists but cannot be entered)
//	ReadDir    CWD, EPSV, MLSD when FEAT offers MLST, else LIST -a (LIST
//	           where SYST is not UNIX), parsed in the Unix and Windows/IIS
//	           formats; streamed, never held whole
//	Open       EPSV, [REST n], RETR; the end of the data counts as the end
//	           of the file only after the upstream's 226
//	Create     replace, exclusive: EPSV, STOR .ftpsgw-up-<random> in the
//	           target's directory, then RNFR/RNTO on Commit (exclusive:
//	           after checking the target is still missing); append: APPE;
//	           at: SIZE, EPSV, REST n, STOR
//	Mkdir      MKD          Remove  DELE        Rmdir  RMD
//	Rename     RNFR, RNTO   Chtimes MFMT        Usage  unsupported
//
// Through the gateway, which stats a path before most commands, a
// session on vsftpd (no MLST; traced from its protocol log by
// cmd/ftpsgw's TestFTPCommandTrace) sends:
//
//	client          upstream
//	USER/PASS       [AUTH TLS], USER, PASS, [PBSZ 0, PROT P], FEAT, TYPE I,
//	                SYST, CWD home (MKD home when missing); the first
//	                session also measures resume (STOR, REST+STOR, SIZE,
//	                DELE of a hidden file)
//	CWD d           SIZE d, CWD d
//	MKD d           MKD d
//	LIST, NLST      SIZE ., CWD ., CWD ., EPSV, LIST -a
//	STOR f (new)    SIZE f, CWD f, CWD ., EPSV, LIST -a (f is missing),
//	                EPSV, STOR .ftpsgw-up-X, RNFR .ftpsgw-up-X, RNTO f
//	STOR f (exists) SIZE f, MDTM f, EPSV, STOR .ftpsgw-up-X, RNFR, RNTO f
//	APPE f          SIZE f, MDTM f, EPSV, APPE f
//	RETR f          SIZE f, MDTM f, EPSV, [REST n], RETR f
//	SIZE, MDTM f    SIZE f, MDTM f
//	RNFR f, RNTO g  SIZE f, MDTM f, SIZE g, CWD g, CWD ., EPSV, LIST -a,
//	                RNFR f, RNTO g
//	DELE f          SIZE f, MDTM f, DELE f
//	RMD d           RMD d
//	NOOP            nothing (the keepalive sends NOOP while idle)
//	QUIT            QUIT
//
// (the gateway also stats a file after a transfer, for its log: SIZE,
// MDTM). On an upstream with MLST (pure-ftpd) each SIZE+MDTM or
// SIZE+CWD pair is one MLST, a missing name costs MLST and a CWD to its
// parent instead of a listing, and listings are MLSD.
//
// Capabilities come from FEAT: CapAppend and CapRenameDir always;
// CapChtimes with MFMT; CapResume with REST STREAM and SIZE when the
// upstream also truncates after REST+STOR, which the first session
// measures once with a hidden file (pure-ftpd does; vsftpd does not, and
// would leave the old file's tail). No CapUsage: Usage would walk the
// whole tree over the network.
//
// WriteExclusive checks that the target is missing at Create and again
// just before RNTO; a file another client creates between that check and
// the RNTO is replaced (FTP has no rename that refuses an existing
// target). An aborted or failed upload removes its temporary file (on a
// new connection if its own broke); a crash can leave one behind, hidden
// from listings. Upstreams that refuse RNTO over an existing file
// (IIS-style) cannot overwrite: STOR over an existing name fails (550).
//
// # Failures and the replies they lead to
//
// Upstream reply codes map to the contract's errors in one table
// (errors.go); the upstream's text is kept in the error for the logs and
// never reaches the client, whose reply text is fixed by gateway/replies.go.
// FTP replies say little (vsftpd answers 550 to every refused DELE, 553
// to every refused upload), so a refused command is explained from the
// files: a missing parent is fs.ErrNotExist, a directory in the way
// backend.ErrIsDir, a non-empty directory backend.ErrNotEmpty, and so on;
// only when the files explain nothing does the table stand.
//
//	upstream                              backend error             gateway
//	unreachable, TLS refused at login     ErrUnavailable            421, session closed
//	refuses the login (530)               fs.ErrPermission          530 (passthrough)
//	connection drops in a transfer        ErrUnavailable            426; temporary file
//	  (421, EOF, reset)                                             removed, target untouched
//	connection drops between commands     ErrUnavailable            451; next call reconnects
//	no answer within op_timeout           context.DeadlineExceeded  451; connection closed
//	550 (missing / denied, by diagnosis)  fs.ErrNotExist,           550
//	                                      fs.ErrPermission, ...
//	553 (name not allowed)                fs.ErrInvalid             553
//	452, 552 (storage, quota)             backend.ErrNoSpace        452
//	500, 502, 504 (not implemented)       errors.ErrUnsupported     504
//	450, 451, other                       generic                   451
//
// vsftpd answers a full disk with "451 Failure writing to local file.",
// its reply to any local write error, so ENOSPC there stays a generic
// failure (451); pure-ftpd's quota answers 552 and is backend.ErrNoSpace.
//
// # Trust boundary
//
// The upstream is authenticated by its certificate (TLS) or not at all
// (tls = "none"). Everything it sends is parsed in parse.go, bounded (64
// KiB per reply, 16 KiB per listing line) and never trusted: listed names
// holding "/", CR, LF or NUL, ".", "..", the reserved prefix, symbolic
// links and special files are left out of listings; a PASV address is
// never dialled. root confines sessions lexically; the upstream follows
// its own symbolic links, so an upstream account confined by its own
// chroot (vsftpd chroot_local_user, pure-ftpd -A) is what bounds them.
// pure-ftpd truncates listings at its -L limit (10000 entries by
// default) without saying so.
//
// # Concurrency
//
// An Opener and the FS values it returns are safe for concurrent use;
// concurrent calls on one FS run on separate control connections. A
// reader, Lister or upload holds its connection until it ends; Close and
// Abort may come from another goroutine and cut a blocked Read or Write
// short. A call whose context ends returns at once: every deadline of its
// connections is cut, and the connection is dropped. One goroutine per
// FS sends keepalives and quits spare connections; FS.Close joins it.
package ftp
