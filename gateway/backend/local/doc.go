// Package local is the ftpsgw backend for a directory on the gateway's own
// filesystem.
//
// New opens the configured root once; each session's FS is an os.Root
// opened on the user's home below it, so every file operation is confined
// to that home by the kernel-assisted checks of os.Root, never by string
// prefixes: "..", absolute paths and symbolic links that lead outside the
// home (to /etc, or to another user's home) fail.
//
// # Trust boundary
//
// Names come from clients through the gateway's path resolver and are
// checked again here (see the backend package's path rules); elements
// longer than 255 bytes, NUL bytes and names starting with the reserved
// prefix ".ftpsgw-" are refused with fs.ErrInvalid. The files themselves
// are trusted only as far as the operating system enforces: someone with
// shell access to the root can still plant hard links or device files.
// Entries that are neither regular files nor directories, and symbolic links
// that escape or dangle, are left out of listings and cannot be opened.
//
// # Uploads
//
// WriteReplace and WriteExclusive write to a hidden temporary file
// ".ftpsgw-upload-<random>" in the target's directory, fsync it, and on
// Commit rename it over the target (WriteReplace) or hard-link it to the
// target name, which fails if the name exists (WriteExclusive). Temporary
// names never appear in ReadDir. A crash can leave such files behind;
// they stay hidden and can be removed by the operator.
//
// # Concurrency
//
// An Opener and the FS values it returns are safe for concurrent use
// (os.Root is). A reader or upload is used by one transfer goroutine, but
// Abort and Close may come from another.
package local
