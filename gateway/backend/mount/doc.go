// Package mount composes several backends into one session view: virtual
// folders. A user's home ("/") lives on one root FS (a local directory, say)
// and other FSs are mounted at virtual paths inside it ("/archive" on SFTP,
// "/outgoing" on S3). New returns a backend.FS that routes every call to the
// FS that owns the name, so the gateway and its policy rules see one tree of
// virtual paths and never learn where a file is stored.
//
// # Names and routing
//
// Mount points are contract names relative to the root ("archive", "a/b",
// never "."), validated with backend.CheckName. No two mount points may be
// equal or nested in each other (Overlap, which the config loader uses with
// the same rule). A name at or below a mount point goes to that mount's FS
// with the prefix stripped, the mount point itself being "." there;
// everything else goes to the root FS.
//
// An ancestor is "." or a directory that contains a mount point: "a" for
// the mount "a/b". Ancestors always exist as directories. One that the root
// FS lacks (or holds as a file) is synthetic: a plain directory that Stat and
// ReadDir answer, whose only entries are the mount points and ancestors
// below it. Entries can be created in a synthetic directory only once it
// exists on the root storage.
//
// # Listings
//
// A listing of a directory that holds mount points (or ancestors) directly
// yields one synthetic directory entry for each of them first, then the root
// FS's own entries batch by batch, with any real entry of the same name
// hidden: the mount wins. The listing is never read into memory whole. A
// mount point's entry takes its mode and time from Stat(".") on the mounted
// FS; if that fails (the storage is down) it is still listed, as a plain
// directory, so one unreachable mount does not break its parent's listing.
// An ancestor's entry takes them from the root FS when it holds a directory
// there. Plain directories carry the time the composite was built.
//
// # Refused operations
//
// Mount points and ancestors are fixed by the configuration, so a session
// cannot change them:
//
//   - Mkdir of either: fs.ErrExist.
//   - Remove of either: backend.ErrIsDir; Create and Open of either:
//     backend.ErrIsDir.
//   - Rmdir of a mount point: fs.ErrPermission; of an ancestor:
//     backend.ErrNotEmpty.
//   - Rename of a mount point, or onto one: fs.ErrPermission. Rename of an
//     ancestor (it would move storages with it): backend.ErrCrossMount.
//     Rename onto an ancestor: fs.ErrExist.
//   - Rename whose source and target live on different FSs: an error
//     wrapping backend.ErrCrossMount; neither FS is touched.
//   - Chtimes of a mount point sets the mounted FS's "."; of an ancestor,
//     the root FS's directory, and fs.ErrPermission when it is synthetic.
//
// Each method checks its context and names first, so refusals honour
// cancellation and invalid names wrap fs.ErrInvalid like any backend's.
//
// # Capabilities, usage and lifecycle
//
// Caps(name) is the owning FS's Caps for the stripped name (the mount
// point itself asks the mounted FS for "."; ancestors ask the root).
// Usage is the sum of every FS's Usage and fails if any of them fails: a
// quota is never checked against a partial count. Close closes every FS
// and joins their errors. New takes ownership of the FSs only when it
// succeeds.
//
// # Trust boundary and concurrency
//
// The composite adds no storage access of its own: it trusts each FS to
// confine names to its root and only strips a prefix it has matched
// element by element. It is immutable after New and safe for concurrent
// use as far as the FSs it holds are, which the backend contract requires.
// A Lister it returns is used by one goroutine at a time, like any other.
package mount
