// Package ftptest runs private upstream FTP servers, vsftpd 3.0.3 and
// pure-ftpd 1.0.50, for the tests of the ftp backend and of the gateway
// end to end over it.
//
// Start launches the server in the foreground on 127.0.0.1, with its
// control port and passive range picked at random in this package's band
// (29000-29999), and one test user (User, Password) confined to DataDir:
// vsftpd chroots local users to local_root, pure-ftpd (-A) to the home in
// its puredb file. The client sees DataDir as "/". The server, its
// processes, a tmpfs and the directories are removed by t.Cleanup.
//
// vsftpd conflicts with pure-ftpd as an installed package, so it is used
// extracted (apt-get download vsftpd && dpkg -x) under VsftpdCache or the
// path in $FTPSGW_VSFTPD; .ci/upstream-ftp.sh does that. It logs in local
// users through PAM: Start writes /etc/pam.d/ftpsgw-vsftpd (pam_unix)
// and creates the Unix user with its password (useradd, chpasswd).
// pure-ftpd takes its user from a puredb file written with pure-pw.
//
// Options pick the server and its mode: plain, explicit FTPS (AUTH TLS)
// or implicit FTPS (vsftpd only; both with require_ssl_reuse=YES, logins
// and data forced to TLS, a certificate signed by a fresh CA), a per-user
// quota (pure-ftpd: 552 when exceeded), an idle timeout, refused EPSV and
// a passive address other than the server's own (vsftpd).
//
// Faults for the tests: KillSessions (SIGKILL every per-connection
// process, which drops the connections), Stop and Restart (the whole
// server down, then up again on the same port), Stall and Resume
// (SIGSTOP/SIGCONT the listener and the per-connection processes:
// connections stay open but nothing answers).
//
// # Requirements
//
// The tests run as root (useradd, chroot, mount) with the servers
// installed. Without them Start skips the test, except when the
// environment variable CI is "true": then it fails, so a CI machine
// cannot silently skip the upstream FTP tests.
//
// # Concurrency
//
// A Server's methods are safe for concurrent use. Several Servers may run
// at once (in parallel tests or packages); they share the test user.
package ftptest
