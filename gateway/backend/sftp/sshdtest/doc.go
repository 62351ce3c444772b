// Package sshdtest runs a private OpenSSH sshd for tests of the SFTP
// backend and of the gateway end to end over it.
//
// Start launches /usr/sbin/sshd in the foreground (-D -e) on 127.0.0.1
// with a port picked at random in this package's band (25000-25999), a
// fresh ed25519 host key and client key, and one test user confined by
// ChrootDirectory and ForceCommand internal-sftp to a per-test directory
// under /srv/ftpsgw-sftp-test (a chroot under /tmp is refused by sshd, as
// /tmp is world-writable). The user may write only below DataDir, which
// the SFTP client sees as RemoteDataDir. The server, its processes, a
// tmpfs mounted for Options.SmallDisk and the directories are removed by
// t.Cleanup.
//
// Faults for the tests: KillSessions (SIGKILL every per-connection sshd
// process, which drops the connections), Stop and Restart (the whole
// server down, then up again on the same port), Stall and Resume
// (SIGSTOP/SIGCONT the listener and the per-connection processes:
// connections stay open but nothing answers).
//
// # Requirements
//
// The tests run as root (useradd, chown, chroot, mount) with sshd
// installed. Without them Start skips the test, except when the
// environment variable CI is "true": then a missing sshd fails it, so a
// CI machine cannot silently skip the SFTP tests.
//
// # Concurrency
//
// A Server's methods are safe for concurrent use. Several Servers may run
// at once (in parallel tests or packages); they share the test user.
package sshdtest
