// Package asciiconv converts file data for FTP TYPE A (ASCII) transfers.
//
// On the wire, TYPE A lines end in CRLF (RFC 959, section 3.1.1.1); on disk
// the gateway stores Unix LF line ends. NewToNetwork turns bare LF into CRLF
// for downloads and NewFromNetwork turns CRLF back into LF for uploads. Any
// other byte, including a lone CR and non-ASCII bytes, passes through
// unchanged, so binary data sent in TYPE A by mistake is altered only at line
// ends.
//
// # Trust boundary
//
// Both directions handle untrusted bytes (a client's upload, a backend's
// file) but only copy them: memory use is bounded by the caller's buffers
// plus one internal buffer of at most twice the chunk size read.
//
// # Concurrency
//
// A converter holds per-stream state (a CR seen at the end of one chunk) and
// is not safe for concurrent use; use one per transfer.
package asciiconv
