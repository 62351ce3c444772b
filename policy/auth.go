package policy

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Default argon2id parameters of HashPassword and of the dummy hash that
// unknown users are verified against: 64 MiB, 3 passes, 2 lanes, 16-byte
// salt, 32-byte key.
const (
	argonMemoryKiB = 64 * 1024
	argonTime      = 3
	argonThreads   = 2
	argonSaltLen   = 16
	argonKeyLen    = 32

	// maxPasswordLen bounds the work one login can ask for.
	maxPasswordLen = 1024
	// bcryptMaxLen is the longest password bcrypt looks at; longer ones are
	// refused rather than silently truncated.
	bcryptMaxLen = 72
)

var (
	errEmptyPassword   = errors.New("empty password")
	errLongPassword    = errors.New("password too long")
	errMismatch        = errors.New("password mismatch")
	errNoCertificate   = errors.New("no verified client certificate")
	errCertMismatch    = errors.New("client certificate does not match")
	errUnknownUser     = errors.New("no such user")
	errAnonymousDenied = errors.New("anonymous login disabled")
)

type hashKind uint8

const (
	hashArgon2id hashKind = iota + 1
	hashBcrypt
)

// passwordHash is a parsed password_hash.
type passwordHash struct {
	kind    hashKind
	bcrypt  []byte
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// HashPassword returns an argon2id PHC string for password
// ($argon2id$v=19$m=65536,t=3,p=2$salt$key) with a random 16-byte salt.
// Empty passwords and passwords over 1024 bytes are refused.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errEmptyPassword
	}
	if len(password) > maxPasswordLen {
		return "", errLongPassword
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// parseHash validates a password_hash. Its errors never quote the hash.
func parseHash(s string) (*passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, errors.New("malformed bcrypt hash")
		}
		return &passwordHash{kind: hashBcrypt, bcrypt: []byte(s)}, nil
	case strings.HasPrefix(s, "$argon2"):
		return nil, errors.New("only argon2id is accepted among argon2 variants")
	}
	return nil, errors.New("unsupported hash (want $argon2id$ or bcrypt $2a$/$2b$/$2y$)")
}

func parseArgon2id(s string) (*passwordHash, error) {
	bad := errors.New("malformed argon2id hash (want $argon2id$v=19$m=...,t=...,p=...$salt$hash)")
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, bad
	}
	h := &passwordHash{kind: hashArgon2id}
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return nil, bad
	}
	var err error
	var m, t, p uint64
	for i, want := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], want)
		if !ok {
			return nil, bad
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return nil, bad
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			p = n
		}
	}
	switch {
	case p < 1 || p > 255:
		return nil, errors.New("argon2id parallelism must be 1-255")
	case t < 1 || t > 64:
		return nil, errors.New("argon2id time cost must be 1-64")
	case m < 8*p || m > 4<<20:
		return nil, errors.New("argon2id memory must be 8*p KiB to 4 GiB")
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)
	if h.salt, err = decodeB64(f[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return nil, errors.New("argon2id salt must be 8-64 bytes of base64")
	}
	if h.key, err = decodeB64(f[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return nil, errors.New("argon2id hash must be 16-128 bytes of base64")
	}
	return h, nil
}

func decodeB64(s string) ([]byte, error) {
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// newDummyHash returns an argon2id hash of the default cost that no
// password matches (random key), verified for unknown users so that they
// cost as much as known ones.
func newDummyHash() *passwordHash {
	h := &passwordHash{kind: hashArgon2id, memory: argonMemoryKiB, time: argonTime,
		threads: argonThreads, salt: make([]byte, argonSaltLen), key: make([]byte, argonKeyLen)}
	_, _ = rand.Read(h.salt)
	_, _ = rand.Read(h.key)
	return h
}

// verify compares password with h in constant time. It always does the
// full hashing work, even for passwords it refuses.
func (h *passwordHash) verify(password string) bool {
	switch h.kind {
	case hashArgon2id:
		k := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(k, h.key) == 1
	case hashBcrypt:
		pw := []byte(password)
		tooLong := len(pw) > bcryptMaxLen
		if tooLong {
			pw = pw[:bcryptMaxLen]
		}
		ok := bcrypt.CompareHashAndPassword(h.bcrypt, pw) == nil
		return ok && !tooLong
	}
	return false
}

// verifyHash runs h.verify in one of the policy's hashing slots, so that a
// login flood cannot allocate argon2 memory without bound.
// verifiedTTL is how long a file user's verified password is remembered.
// Clients that log in once per file (curl in a loop, many scripts) would
// otherwise pay a full argon2id for every transfer.
const verifiedTTL = 30 * time.Second

// checkPassword verifies password against u's hash, or finds it verified
// within verifiedTTL. The cache is keyed by an HMAC of name and password
// under a key made for this snapshot (credcache.go), so it holds no
// password, a changed password misses it, and a reload (which compiles a
// new snapshot) empties it; ForgetVerified empties it on a ban. A wrong
// password always costs a full hash, so the cache gives a guesser
// nothing. It returns false with ctx's error when the hash could not run.
func (p *Policy) checkPassword(ctx context.Context, u *user, password string) bool {
	if h, ok := p.verified.get(u.cfg.Name, password); ok && h == u.hash {
		return true
	}
	ok, err := p.verifyHash(ctx, u.hash, password)
	if err != nil || !ok {
		return false
	}
	p.verified.put(u.cfg.Name, password, u.hash)
	return true
}

// ForgetVerified drops every remembered password check, so the next
// login of each user pays the full hash again. The gateway calls it when
// the defender bans an address.
func (p *Policy) ForgetVerified() { p.verified.clear() }

// PasswordHashes is how many full password verifications this snapshot
// has run: the logins the verified-password cache did not answer.
func (p *Policy) PasswordHashes() int64 { return p.hashRuns.Load() }

func (p *Policy) verifyHash(ctx context.Context, h *passwordHash, password string) (bool, error) {
	select {
	case p.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-p.hashSlots }()
	p.hashRuns.Add(1)
	return h.verify(password), nil
}

// certMatcher is a parsed client_cert_subject.
type certMatcher struct {
	kind  string // "CN", "DNS", "email"; "" when unset
	value string
}

func parseCertSubject(s string) (certMatcher, error) {
	for _, k := range []struct{ prefix, kind string }{{"CN=", "CN"}, {"DNS:", "DNS"}, {"email:", "email"}} {
		if v, ok := strings.CutPrefix(s, k.prefix); ok {
			if v == "" {
				return certMatcher{}, errors.New("empty value")
			}
			return certMatcher{kind: k.kind, value: v}, nil
		}
	}
	return certMatcher{}, errors.New(`want "CN=name", "DNS:host" or "email:address"`)
}

// match checks the leaf of the verified chain: CN exactly, a DNS SAN
// case-insensitively, an email SAN exactly.
func (c certMatcher) match(certs []*x509.Certificate) error {
	if len(certs) == 0 || certs[0] == nil {
		return errNoCertificate
	}
	leaf := certs[0]
	switch c.kind {
	case "CN":
		if leaf.Subject.CommonName == c.value {
			return nil
		}
	case "DNS":
		for _, n := range leaf.DNSNames {
			if strings.EqualFold(n, c.value) {
				return nil
			}
		}
	case "email":
		for _, e := range leaf.EmailAddresses {
			if e == c.value {
				return nil
			}
		}
	}
	return errCertMismatch
}

// Authenticate checks one login. It costs the same time whether or not the
// user exists: unknown users are verified against a dummy argon2id hash of
// the default cost. File users win over LDAP; "anonymous" and "ftp" log in
// anonymously only with an anonymous block. It may do I/O (LDAP), bounded
// by ctx and the LDAP timeout. Errors are *AuthError and never contain
// the password.
func (p *Policy) Authenticate(ctx context.Context, req LoginRequest) (*Identity, error) {
	if len(req.Password) > maxPasswordLen {
		return nil, &AuthError{Reason: ReasonBadPassword, Err: errLongPassword}
	}
	if u := p.users[req.User]; u != nil {
		return p.authFile(ctx, u, req)
	}
	if isAnonymousName(req.User) {
		if p.anonymous == nil {
			return nil, &AuthError{Reason: ReasonUnknownUser, Err: errAnonymousDenied}
		}
		a := p.anonymous.cfg
		return &Identity{User: req.User, Backend: a.Backend, Home: homeOr(a.Home), Source: "anonymous"}, nil
	}
	if req.Password == "" {
		// Refused before any lookup, so it says nothing about the user.
		return nil, &AuthError{Reason: ReasonBadPassword, Err: errEmptyPassword}
	}
	if p.ldap != nil && checkName(req.User) == nil {
		return p.authLDAP(ctx, req)
	}
	if p.upstream != nil && checkName(req.User) == nil {
		return p.authUpstream(ctx, req)
	}
	if _, err := p.verifyHash(ctx, p.dummy, req.Password); err != nil {
		return nil, &AuthError{Reason: ReasonUnavailable, Err: err}
	}
	return nil, &AuthError{Reason: ReasonUnknownUser, Err: errUnknownUser}
}

// authFile checks a user defined in the file: certificate, password (or
// the dummy hash for cert-only users whose certificate failed), then
// allow_from.
func (p *Policy) authFile(ctx context.Context, u *user, req LoginRequest) (*Identity, error) {
	var certErr error
	if u.cert.kind != "" {
		certErr = u.cert.match(req.PeerCertificates)
	}
	pwOK := true
	switch {
	case u.cfg.CertOnly:
		if certErr != nil {
			if _, err := p.verifyHash(ctx, p.dummy, req.Password); err != nil {
				return nil, &AuthError{Reason: ReasonUnavailable, Err: err}
			}
		}
	case req.Password == "":
		return nil, &AuthError{Reason: ReasonBadPassword, Err: errEmptyPassword}
	default:
		pwOK = p.checkPassword(ctx, u, req.Password)
		if ctx.Err() != nil && !pwOK {
			return nil, &AuthError{Reason: ReasonUnavailable, Err: ctx.Err()}
		}
	}
	if d := u.allowFrom.check(req.Client); !d.Allowed {
		return nil, &AuthError{Reason: ReasonDeniedNetwork, Err: errors.New(d.Reason)}
	}
	if certErr != nil {
		return nil, &AuthError{Reason: ReasonCertificate, Err: certErr}
	}
	if !pwOK {
		return nil, &AuthError{Reason: ReasonBadPassword, Err: errMismatch}
	}
	id := &Identity{User: u.cfg.Name, Backend: u.cfg.Backend, Home: homeOr(u.cfg.Home), Source: "file"}
	for _, g := range u.groups {
		id.Groups = append(id.Groups, g.cfg.Name)
	}
	id.Mounts = mountsFor(u.cfg.Mounts, u.groups)
	id.ReuseExempt = reuseExempt(u.cfg.SessionReuse, u.groups)
	return id, nil
}

func homeOr(h string) string {
	if h == "" {
		return "/"
	}
	return h
}
