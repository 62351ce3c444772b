// Package s3 is the ftpsgw backend that serves sessions from a bucket on
// an S3-compatible object store (AWS S3, MinIO, versitygw, Ceph RGW...),
// registered as backend type "s3":
//
//	backend "s3" "archive" {
//	  endpoint           = "https://s3.internal:9000" # default "": AWS S3 for region
//	  bucket             = "ftp"                      # required; must exist
//	  region             = "us-east-1"                # default "us-east-1"
//	  access_key_id      = "..."                      # required
//	  secret_key_file    = "/etc/ftpsgw/s3.secret"    # required; mode 0600 or stricter
//	  prefix             = ""                         # key prefix of every home
//	  path_style         = false                      # host/bucket/key addressing
//	  ca_file            = ""                         # PEM CA for a private https endpoint
//	  part_size          = "16MiB"                    # 5MiB to 5GiB
//	  upload_concurrency = 4                          # parts buffered and sent at once, 1 to 64
//	  max_rename_objects = 1000                       # directory renames copy at most this many
//	  op_timeout         = "30s"                      # per request, and per stall of a transfer
//	  retries            = 3                          # resends of throttled or broken requests, 0 to 10
//	}
//
// It uses aws-sdk-go-v2's S3 client with static credentials, one pooled
// HTTP transport per backend shared by all sessions, a bounded retryer
// (exponential backoff with jitter, 1 s base for throttling, no retry
// quota) and checksums only where S3 requires them. Validate reads the
// files but does no network I/O; Probe (at start-up and for /readyz)
// writes, reads back and deletes a hidden object and names a missing
// bucket or refused credentials. A plain http endpoint is accepted with
// a warning.
//
// # Objects as a tree
//
// A home "/alice" is the key prefix "PREFIX/alice/"; the name "d/f" in
// it is the key "PREFIX/alice/d/f". A directory is a key prefix ending
// in "/": MKD writes the zero-byte marker "d/" (If-None-Match, so a
// concurrent MKD gets 550), so empty directories survive; a prefix
// without a marker (keys written by other S3 clients) is a directory
// too, and MKD on it just adds the marker. RMD refuses a directory
// holding anything but its marker (backend.ErrNotEmpty) and deletes the
// marker. Opening a home writes its marker when nothing is stored under
// it. Listings stream one ListObjectsV2 page (1000 keys, delimiter "/")
// at a time: common prefixes are directories, the directory's own
// marker and keys no FTP name could address are left out. Directories
// have no time unless their marker is HEADed (Stat), so MLSD omits their
// modify fact rather than invent one; files show LastModified, whole
// seconds, in listings and in SIZE/MDTM (HEAD) alike. The prefix
// ".ftpsgw-" is reserved (probe objects): hidden and refused.
//
// # Uploads
//
// Data is buffered into parts of part_size. An upload smaller than one
// part is a single PUT at Commit; a larger one starts a multipart upload
// with its first full part, sends each full part from its own goroutine
// while the next fills, and completes at Commit. At most
// upload_concurrency part buffers exist per upload, the one filling
// included, so one upload holds at most part_size × upload_concurrency
// bytes of data (64 MiB with the defaults; the first buffer starts at
// 64 KiB and doubles, so a small file costs little). Nothing is visible
// under the name before CompleteMultipartUpload (or the PUT) succeeds,
// and S3 replaces an object atomically, so readers see the old object or
// the new one. Abort, a cancelled context (ABOR, a dropped data
// connection, a missing TLS close_notify, a quota or size cap: the
// gateway aborts), and any failure cancel the parts in flight and abort
// the multipart upload; the abort is checked with ListParts and repeated
// if a part landed after it, so no upload is left open. A failed
// overwrite leaves the old object. WriteExclusive sends If-None-Match
// with the PUT or the completion: a name taken meanwhile fails with
// fs.ErrExist. An object is at most 10 000 parts: 156 GiB with the
// default part_size; beyond that the upload fails with ErrNoSpace (452).
//
// Downloads are one GET, ranged from the REST offset, streamed. A stall
// of op_timeout inside a Read or a part upload fails it; the time a slow
// client takes between reads does not count.
//
// # What S3 refuses
//
//	APPE (CapAppend)        no: an object cannot be extended in place; emulating it
//	                        by copy-and-rewrite could lose data on failure. 504.
//	REST+STOR (CapResume)   no: an object cannot be written at an offset. 504.
//	MFMT (CapChtimes)       no: a time kept in object metadata would show in MDTM
//	                        (HEAD) but not in MLSD (listings carry no metadata), and
//	                        setting it means rewriting the object by a copy. 504.
//	directory rename        yes, by copying, up to max_rename_objects (else
//	                        backend.ErrTooManyObjects: 550, nothing copied). NOT ATOMIC.
//	quota usage (CapUsage)  yes: one flat listing under the home, cached 10 s.
//
// A file rename is a server-side copy (CopyObject; UploadPartCopy in
// parts above 5 GiB) and then a delete of the source; if the copy fails
// the source is untouched, if the delete fails both names exist. A
// directory rename lists every key under it (refusing above
// max_rename_objects before copying anything), copies each (markers are
// rewritten), and deletes the sources only once every copy exists; if a
// copy fails, the copies made are deleted and the source is whole. While
// it runs, both trees are partly visible, and a crash in the middle
// leaves both; it is not atomic.
//
// # Failures and the replies they lead to
//
//	storage unreachable at login      ErrUnavailable             421, session closed
//	credentials refused, no bucket    ErrUnavailable             421 at login; Probe names it
//	connection drops in a transfer    ErrUnavailable             426 (download); an upload's
//	                                                             part is sent again (retries)
//	AccessDenied                      fs.ErrPermission           550
//	NoSuchKey, 404                    fs.ErrNotExist             550
//	SlowDown, 503 after retries       ErrUnavailable             451
//	InsufficientStorage, 507, quota   ErrNoSpace                 452; upload aborted
//	no answer within op_timeout       context.DeadlineExceeded   451
//	precondition failed (412)         fs.ErrExist                550
//
// S3 keeps no state per connection: a multipart upload outlives a
// restart of the server, and a part whose connection broke is sent
// again, so an upload survives a storage restart intact (the suite's
// KillWrite does not apply). An upload the storage itself drops
// (NoSuchUpload) fails at the next part or at Commit.
//
// # Trust boundary
//
// Names come from clients through the gateway's resolver and are checked
// again (backend.CheckName, the reserved prefix) before they become
// keys under the home's prefix; a key cannot leave the prefix because
// S3 keys have no "..". Listed keys that no client name could address
// are not shown. The secret key is read at start-up and never logged;
// errors carry S3's codes and request IDs, never credentials.
//
// # Concurrency
//
// An Opener and the FS values it returns are safe for concurrent use;
// requests share the Opener's connection pool. A reader or upload is
// used by one transfer goroutine; Abort may come from another and
// returns promptly (it cancels the parts first). Every call honours its
// context.
package s3
