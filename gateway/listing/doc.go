// Package listing formats directory listings and file times for the FTP
// commands LIST, MLSD, MLST, MDTM and MFMT.
//
// Listings are generated in-process from fs.FileInfo values (never by
// running ls). ListLine produces the Unix "ls -l" line that FileZilla,
// WinSCP, lftp and curl parse; MLSxLine produces the machine-readable
// RFC 3659 fact line. All times are shown in UTC.
//
// # Trust boundary
//
// Names come from the backend and may contain anything the storage allows.
// A CR, LF or NUL in a name would let a file name inject lines into a
// listing, so the formatters replace those bytes with '?'; callers should
// instead leave such entries out (see SafeName). ParseMDTM parses a
// client's argument strictly.
//
// # Concurrency
//
// Every function is pure and safe for concurrent use.
package listing
