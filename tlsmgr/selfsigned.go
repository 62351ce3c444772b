package tlsmgr

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Self-signed certificate files under Config.StateDir.
const (
	selfSignedCertName = "selfsigned-cert.pem"
	selfSignedKeyName  = "selfsigned-key.pem"
)

const (
	selfSignedValidity = 365 * 24 * time.Hour
	// selfSignedRenewBefore: a persisted certificate this close to expiry
	// is replaced at start-up or reload.
	selfSignedRenewBefore = 30 * 24 * time.Hour
)

// Fingerprint returns the SHA-256 digest of cert's DER encoding as upper-case
// hex pairs separated by colons, the form openssl and FTP clients show for
// pinning.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func newSelfSignedSource(cfg Config, log hclog.Logger) (*pairSource, error) {
	names := cfg.SelfSignedNames
	if len(names) == 0 {
		names = []string{"localhost", "127.0.0.1", "::1"}
	}
	src := &pairSource{}
	src.reread = func() (*pair, error) {
		return loadOrCreateSelfSigned(cfg.StateDir, names, log, time.Now())
	}
	if err := src.reload(); err != nil {
		return nil, err
	}
	return src, nil
}

// loadOrCreateSelfSigned reuses the persisted certificate when it is
// readable, matches its key, covers names and is not close to expiry;
// otherwise it generates a new P-256 certificate and persists it.
func loadOrCreateSelfSigned(dir string, names []string, log hclog.Logger, now time.Time) (*pair, error) {
	certPath := filepath.Join(dir, selfSignedCertName)
	keyPath := filepath.Join(dir, selfSignedKeyName)
	if certPEM, keyPEM, _, err := readPair(certPath, keyPath); err == nil {
		p, perr := parsePair(certPEM, keyPEM)
		switch {
		case perr != nil:
			log.Warn("persisted self-signed certificate unusable, generating a new one", "error", perr)
		case now.Add(selfSignedRenewBefore).After(p.leaf.NotAfter):
			log.Info("persisted self-signed certificate close to expiry, generating a new one")
		case !coversExactly(p.leaf, names):
			log.Info("self-signed names changed, generating a new certificate")
		default:
			logSelfSigned(log, p, certPath, false)
			return p, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: create state directory: %w", err)
	}
	certPEM, keyPEM, err := generateSelfSigned(names, now)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	p, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	logSelfSigned(log, p, certPath, true)
	return p, nil
}

func logSelfSigned(log hclog.Logger, p *pair, path string, created bool) {
	log.Info("self-signed certificate in use, pin its fingerprint in clients",
		"fingerprint_sha256", Fingerprint(p.leaf), "names", strings.Join(certNames(p.leaf), ","),
		"cert_file", path, "created", created, "not_after", p.leaf.NotAfter.UTC().Format(time.RFC3339))
}

func certNames(c *x509.Certificate) []string {
	out := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func coversExactly(c *x509.Certificate, names []string) bool {
	have := certNames(c)
	want := make([]string, 0, len(names))
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		}
		want = append(want, n)
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
}

func generateSelfSigned(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"ftpsgw self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encode key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeFileAtomic writes data to a temporary file with mode perm (set at
// creation, so a key is never readable by others) and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("tls: write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("tls: write %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("tls: write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tls: write %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tls: write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tls: write %s: %w", filepath.Base(path), err)
	}
	return nil
}
