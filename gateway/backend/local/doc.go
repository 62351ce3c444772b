// Package local is the ftpsgw backend for a directory on the gateway's own
// filesystem. It registers the backend type "local" (see Config):
//
//	backend "local" "disk" {
//	  root = "/srv/ftp"
//	}
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
// # Listings, capabilities and usage
//
// ReadDir streams: the Lister reads the open directory a batch at a time
// (os.File.ReadDir(n)) in the filesystem's order, so a huge directory is
// never held in memory. Every capability is supported except CapUsage:
// Usage walks the home (through the same os.Root, not following symbolic
// links, leaving out the backend's hidden files), which is correct but
// costs a walk of the tree, and CapUsage promises a cheap answer.
//
// # Errors
//
// Besides the io/fs sentinels, ENOSPC and EDQUOT wrap backend.ErrNoSpace,
// EROFS wraps fs.ErrPermission, and EIO, ESTALE and ENOTCONN (a failing
// disk, a network filesystem gone) wrap backend.ErrUnavailable, as does a
// root that was removed or unmounted when a session opens.
//
// # Uploads
//
// WriteReplace and WriteExclusive write, on Linux filesystems that allow
// it, to a file without a name (O_TMPFILE) in the target's directory. On
// Commit it is fsynced and then linked to the target name (link(2), which
// fails if the name exists: WriteExclusive), or, when WriteReplace finds
// the name taken, linked to a hidden temporary name and renamed over the
// target; then the directory is fsynced. The directory changes once for a
// new file instead of three times, and a crash leaves nothing behind.
// Elsewhere, and where the first upload of an Opener finds that a file
// without a name cannot be created or linked (no O_TMPFILE on the
// filesystem; neither /proc nor CAP_DAC_READ_SEARCH for linkat), uploads
// write a hidden temporary file ".ftpsgw-upload-<random>", fsync it, and
// on Commit rename or hard-link it the same way. An upload whose staged
// file a screening hook reads (StagedFile) is given such a temporary name
// first. Temporary names never appear in ReadDir. A crash can leave named
// temporaries behind; they stay hidden and can be removed by the
// operator.
//
// # Durability
//
// With durability "fsync" (the default, DurabilityFsync) a committed
// upload survives a power loss or kernel crash: the final name holds the
// old file or the complete new one, never an empty or partial file. To
// keep the fsync at Commit short, on Linux the upload is handed to
// writeback every 8 MiB while it arrives (sync_file_range(2)), and as it
// starts one chunk the writer waits for the chunk two before, so dirty
// pages never pile up in the page cache. WriteAppend and WriteAt are fsynced in place
// the same way.
//
// With durability "none" (DurabilityNone) there is no early writeback and
// no fsync of file or directory; the rename still happens. This is
// faster on slow disks, but after a crash uploads committed in the last
// seconds (up to the kernel's dirty-page expiry, typically 30 s) may be
// missing, or empty or partial under their final names, although their
// clients were told they were stored. Use it only for data that can be
// uploaded again.
//
// # Concurrency
//
// An Opener and the FS values it returns are safe for concurrent use
// (os.Root is). A reader, upload or Lister is used by one goroutine, but
// Abort and Close may come from another.
package local
