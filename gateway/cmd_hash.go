package gateway

// HASH follows draft-bryan-ftpext-hash-02, "File Transfer Protocol HASH
// Command for Cryptographic Hashes" (A. Bryan, T. Kosse, D. Stenberg,
// 2013; https://datatracker.ietf.org/doc/html/draft-bryan-ftpext-hash-02):
//
//	C> HASH pathname
//	S> 213 SHA-256 0-99 <lowercase hex> pathname      (§3: inclusive byte range)
//	C> OPTS HASH              S> 200 SHA-256           (§3.2)
//	C> OPTS HASH SHA-512      S> 200 SHA-512
//	C> OPTS HASH CRC-37       S> 501 Unknown algorithm, current selection not changed.
//	FEAT line                 HASH SHA-256*;SHA-512;SHA-1;MD5   (§3.1, '*' = selected)
//
// Errors (§3.5): 450 busy, 501 syntax or unknown algorithm, 550 not found,
// 553 a directory, 556 refused by policy (here: larger than HashMaxSize).
// SHA-256 is the default (§5: nothing weaker than SHA-1 by default). The
// hash is of the file's bytes as TYPE I would send them, from offset 0
// whatever REST or TYPE say (§3). RANG (§3.3) is not implemented, so every
// hash is of the whole file.
//
// XCRC, XMD5, XSHA1, XSHA256 and XSHA512 are the older single-algorithm
// commands the draft lists in Appendix B, answered as ProFTPD's mod_digest
// and Serv-U do: "250 <uppercase hex>" for the whole file. Their optional
// start/end arguments are not supported: the whole argument is the path.

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io/fs"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// defaultHashMaxSize is HashMaxSize when the config leaves it zero.
const defaultHashMaxSize = 10 << 30

// hashMaxSize is the effective HashMaxSize; negative means no limit.
func (c *Config) hashMaxSize() int64 {
	if c.HashMaxSize == 0 {
		return defaultHashMaxSize
	}
	return c.HashMaxSize
}

// hashAlgo is a digest algorithm. The zero value is the HASH default.
type hashAlgo uint8

const (
	hashSHA256 hashAlgo = iota
	hashSHA512
	hashSHA1
	hashMD5
	hashCRC32 // XCRC only: not an IANA hash name, so never offered by HASH
)

// hashListed are HASH's algorithms in FEAT order, by their names in the
// IANA "Hash Function Textual Names" registry (draft §3.1).
var hashListed = []hashAlgo{hashSHA256, hashSHA512, hashSHA1, hashMD5}

func (a hashAlgo) String() string {
	return [...]string{"SHA-256", "SHA-512", "SHA-1", "MD5", "CRC32"}[a]
}

func (a hashAlgo) newHash() hash.Hash {
	switch a {
	case hashSHA512:
		return sha512.New()
	case hashSHA1:
		return sha1.New()
	case hashMD5:
		return md5.New()
	case hashCRC32:
		return crc32.NewIEEE()
	}
	return sha256.New()
}

// parseHashAlgo finds a HASH algorithm by name, ignoring case (§3.1).
func parseHashAlgo(name string) (hashAlgo, bool) {
	for _, a := range hashListed {
		if strings.EqualFold(name, a.String()) {
			return a, true
		}
	}
	return 0, false
}

// hashFeat is the FEAT line for HASH, the selected algorithm starred.
func (s *session) hashFeat() string {
	names := make([]string, len(hashListed))
	for i, a := range hashListed {
		names[i] = a.String()
		if a == s.hashAlgo {
			names[i] += "*"
		}
	}
	return "HASH " + strings.Join(names, ";")
}

// digestFeats are the FEAT lines of the single-algorithm commands.
var digestFeats = []string{"XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"}

// optsHASH answers OPTS HASH [name]: the selection lasts until the next
// successful OPTS HASH or REIN (§3.2).
func (s *session) optsHASH(val string) {
	if s.getState() == stateNew {
		s.replyR(replyTLSFirst)
		return
	}
	val = strings.TrimSpace(val)
	if val == "" {
		s.reply(200, s.hashAlgo.String())
		return
	}
	a, ok := parseHashAlgo(val)
	if !ok {
		s.replyR(replyHashUnknown)
		return
	}
	s.hashAlgo = a
	s.reply(200, a.String())
}

func (s *session) cmdHASH(req request)    { s.digest(req, s.hashAlgo, true) }
func (s *session) cmdXCRC(req request)    { s.digest(req, hashCRC32, false) }
func (s *session) cmdXMD5(req request)    { s.digest(req, hashMD5, false) }
func (s *session) cmdXSHA1(req request)   { s.digest(req, hashSHA1, false) }
func (s *session) cmdXSHA256(req request) { s.digest(req, hashSHA256, false) }
func (s *session) cmdXSHA512(req request) { s.digest(req, hashSHA512, false) }

// digestJob is one digest command, as the computing goroutine needs it.
type digestJob struct {
	arg   string // the pathname as the client sent it, echoed by HASH
	p     vpath
	fi    fs.FileInfo // Stat before reading
	key   hashKey
	algo  hashAlgo
	draft bool // HASH's 213 line, else the X commands' 250 line
}

// reply formats the result: n bytes from offset 0 were hashed.
func (d *digestJob) reply(sum []byte, n int64) reply {
	if !d.draft {
		return reply{250, strings.ToUpper(hex.EncodeToString(sum))}
	}
	// end-point is inclusive and must not be below start-point (§3), so an
	// empty file is "0-0".
	return reply{213, fmt.Sprintf("%s 0-%d %s %s", d.algo, max(n-1, 0), hex.EncodeToString(sum), d.arg)}
}

// digest answers a digest command on the control goroutine when it can
// (errors, cache hits) and otherwise starts the computation. The
// dispatcher has resolved the path and checked the download permission;
// a hidden path was answered there exactly like a missing one.
func (s *session) digest(req request, algo hashAlgo, draft bool) {
	p, err := s.resolveArg(req.arg)
	var fi fs.FileInfo
	if err == nil {
		fi, err = s.statForHash(p)
	}
	if err != nil {
		s.replyR(s.hashFailed(err))
		return
	}
	d := &digestJob{arg: req.arg, p: p, fi: fi, key: s.hashKeyFor(p), algo: algo, draft: draft}
	if algo == hashSHA256 {
		if sum, ok := s.srv.hashes.cache.get(d.key, fi); ok {
			s.log.Debug("hash from cache", "path", p.String(), "algorithm", algo.String())
			s.replyR(d.reply(sum[:], fi.Size()))
			return
		}
	}
	if lim := s.srv.cfg.hashMaxSize(); lim >= 0 && fi.Size() > lim {
		s.replyR(s.hashFailed(errHashTooLarge))
		return
	}
	if !s.srv.hashes.acquire() {
		s.replyR(s.hashFailed(errHashBusy))
		return
	}
	s.startHash(req.verb, d)
}

// statForHash stats p and checks that it is a regular file.
func (s *session) statForHash(p vpath) (fs.FileInfo, error) {
	ctx, cancel := s.opCtx()
	defer cancel()
	fi, err := s.fs.Stat(ctx, p.name())
	switch {
	case err != nil:
		return nil, err
	case fi.IsDir():
		return nil, fmt.Errorf("hash %s: %w", p, backend.ErrIsDir)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("hash %s: %w", p, errNotFile)
	}
	return fi, nil
}

// hashFailed logs err like session.fail and returns its reply.
func (s *session) hashFailed(err error) reply {
	r := replyForHash(err)
	if r == replyLocalError || r == replyUnavailable {
		s.log.Warn("hash failed", "error", err)
	} else {
		s.log.Debug("hash refused", "error", err)
	}
	return r
}

// startHash runs the computation in a goroutine registered as the
// session's transfer in flight, so the control connection stays readable:
// ABOR and QUIT cancel it (abortTransfer), other commands get 503 until it
// ends, and session close or shutdown cancels it like any transfer.
func (s *session) startHash(verb string, d *digestJob) {
	fsys, user := s.fs, s.ident.User
	wait := s.pacer(user, false, s.policy().Limits(s.ident).DownloadRate)
	ctx, cancel := context.WithCancel(context.Background())
	x := &transfer{verb: verb, path: d.p, user: user, backend: s.backend, mode: "binary",
		cancel: cancel, done: make(chan struct{})}
	s.xmu.Lock()
	s.xfer = x
	s.xmu.Unlock()
	s.xferStarted = true
	go func() {
		defer func() {
			if v := recover(); v != nil { // ends this session only, as in runTransfer
				s.log.Error("hash panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.kill()
			}
			x.finish()
			s.srv.hashes.release()
		}()
		r := s.computeHash(ctx, x, d, fsys, wait)
		x.cancel()
		if x.aborted.Load() {
			r = replyHashAborted
		}
		s.endTransfer(x, r)
	}()
}

// computeHash reads the file through the digest, paced by the user's
// download rate and stopped at HashMaxSize should the file have grown. A
// panic (a backend bug) becomes a 451 for this command only.
func (s *session) computeHash(ctx context.Context, x *transfer, d *digestJob, fsys backend.FS,
	wait func(context.Context, int) error) (r reply) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("hash panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			r = replyLocalError
		}
	}()
	start := time.Now()
	rc, err := fsys.Open(ctx, d.p.name(), 0)
	if err != nil {
		return s.hashFailed(err)
	}
	defer rc.Close()
	lim := s.srv.cfg.hashMaxSize()
	check := func(total int64) error {
		if lim >= 0 && total > lim {
			return errHashTooLarge
		}
		return nil
	}
	h := d.algo.newHash()
	if err := pump(ctx, h, rc, x, nil, check, wait); err != nil {
		return s.hashFailed(fmt.Errorf("hash %s: %w", d.p, err))
	}
	sum, n := h.Sum(nil), x.bytes.Load()
	// Cached only if the file read is the file Stat saw, settled before
	// the read began (see settleHash for the second of slack).
	if d.algo == hashSHA256 && n == d.fi.Size() && d.fi.ModTime().Before(start.Add(-time.Second)) {
		s.srv.hashes.cache.put(d.key, d.fi, [sha256.Size]byte(sum))
	}
	s.log.Info("hash computed", "path", d.p.String(), "algorithm", d.algo.String(), "bytes", n,
		"duration_ms", time.Since(start).Milliseconds())
	return d.reply(sum, n)
}
