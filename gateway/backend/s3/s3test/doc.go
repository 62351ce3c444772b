// Package s3test runs a real S3 server for tests: versitygw in posix
// mode on loopback, serving a temporary directory in which every bucket
// is a directory and every object a plain file, so tests can look at
// what landed on disk.
//
// The binary is found on PATH or in the CI cache directory
// (/var/cache/ftpsgw-ci/bin, filled by .ci/versitygw.sh). Without it a
// test is skipped, or fails when CI=true.
//
// Each Server has two accounts: the root account (AccessKey), which
// versitygw exempts from bucket policies and which the harness uses to
// create buckets and inspect them, and a plain user (UserAccess), which
// backends under test use, so a bucket policy can deny it access (Deny).
//
// Faults are real: Stop and Kill end the process with SIGKILL (Restart
// and Kill start it again on the same port and directory), Stall sends
// SIGSTOP and Resume SIGCONT, and Options.SmallDisk puts the directory
// on a small tmpfs. The process is stopped in t.Cleanup.
package s3test
