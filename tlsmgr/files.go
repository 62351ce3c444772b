package tlsmgr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// pair is one loaded certificate chain and key.
type pair struct {
	cert *tls.Certificate
	leaf *x509.Certificate
	name string
}

// pairSource serves one pair, swapped atomically on reload. It backs the
// file and self_signed sources.
type pairSource struct {
	cur    atomic.Pointer[pair]
	reread func() (*pair, error)
}

func (p *pairSource) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.cur.Load().cert, nil
}

func (p *pairSource) expiries() map[string]time.Time {
	c := p.cur.Load()
	return map[string]time.Time{c.name: c.leaf.NotAfter}
}

func (p *pairSource) reload() error {
	np, err := p.reread()
	if err != nil {
		return err
	}
	p.cur.Store(np)
	return nil
}

func (p *pairSource) close() {}

// fileSource is source "file": a PEM chain and key re-read on Reload and
// when the files change.
type fileSource struct {
	pairSource
	cfg Config
	log hclog.Logger

	mu      sync.Mutex // serialises loads; guards lastSum and lastStat
	lastSum [sha256.Size]byte
	lastSt  [2]fileStat
}

type fileStat struct {
	size  int64
	mtime time.Time
}

func newFileSource(ctx context.Context, cfg Config, log hclog.Logger, wg *sync.WaitGroup) (*fileSource, error) {
	f := &fileSource{cfg: cfg, log: log}
	f.reread = f.load
	p, err := f.load()
	if err != nil {
		return nil, err
	}
	f.cur.Store(p)
	log.Info("certificate loaded", "name", p.name, "fingerprint_sha256", Fingerprint(p.leaf), "not_after", p.leaf.NotAfter.UTC().Format(time.RFC3339))
	every := cfg.PollInterval
	if every == 0 {
		every = DefaultPollInterval
	}
	wg.Add(1)
	go f.poll(ctx, every, wg)
	return f, nil
}

// load reads both files and parses them; it records what it read so that
// polling does not retry an unchanged broken pair.
func (f *fileSource) load() (*pair, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	certPEM, keyPEM, sts, err := readPair(f.cfg.CertFile, f.cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	f.lastSt = sts
	f.lastSum = sumPair(certPEM, keyPEM)
	return parsePair(certPEM, keyPEM)
}

// poll checks the files every interval: a cheap stat first, then a hash of
// the contents, and reloads when the contents changed.
func (f *fileSource) poll(ctx context.Context, every time.Duration, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.check()
	}
}

// check reloads if the files changed since the last load and reports
// whether it swapped in a new pair.
func (f *fileSource) check() bool {
	f.mu.Lock()
	certPEM, keyPEM, sts, err := readPairIfChanged(f.cfg.CertFile, f.cfg.KeyFile, f.lastSt)
	if err != nil || certPEM == nil {
		changed := sts != f.lastSt
		f.lastSt = sts // report a broken state once, not at every poll
		f.mu.Unlock()
		if err != nil && changed {
			f.log.Error("changed certificate files rejected, keeping the current pair", "error", err)
		}
		return false
	}
	f.lastSt = sts
	sum := sumPair(certPEM, keyPEM)
	if sum == f.lastSum {
		f.mu.Unlock()
		return false
	}
	f.lastSum = sum
	p, err := parsePair(certPEM, keyPEM)
	if err != nil {
		f.mu.Unlock()
		f.log.Error("changed certificate files rejected, keeping the current pair", "error", err)
		return false
	}
	f.cur.Store(p)
	f.mu.Unlock()
	f.log.Info("certificate reloaded", "name", p.name, "fingerprint_sha256", Fingerprint(p.leaf), "not_after", p.leaf.NotAfter.UTC().Format(time.RFC3339))
	return true
}

func (f *fileSource) reload() error {
	err := f.pairSource.reload()
	if err != nil {
		f.log.Error("certificate reload rejected, keeping the current pair", "error", err)
		return err
	}
	p := f.cur.Load()
	f.log.Info("certificate reloaded", "name", p.name, "fingerprint_sha256", Fingerprint(p.leaf), "not_after", p.leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

func sumPair(certPEM, keyPEM []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(certPEM)
	h.Write([]byte{0})
	h.Write(keyPEM)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// readPairIfChanged returns nil contents when neither file's size or mtime
// changed since prev.
func readPairIfChanged(certFile, keyFile string, prev [2]fileStat) ([]byte, []byte, [2]fileStat, error) {
	var sts [2]fileStat
	for i, name := range []string{certFile, keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return nil, nil, sts, err
		}
		sts[i] = fileStat{fi.Size(), fi.ModTime()}
	}
	if sts == prev {
		return nil, nil, sts, nil
	}
	certPEM, keyPEM, _, err := readPair(certFile, keyFile)
	return certPEM, keyPEM, sts, err
}

// readPair reads the chain and the key, refusing a key file that others
// may access.
func readPair(certFile, keyFile string) ([]byte, []byte, [2]fileStat, error) {
	var sts [2]fileStat
	kf, err := os.Open(keyFile)
	if err != nil {
		return nil, nil, sts, fmt.Errorf("tls: read key_file: %w", err)
	}
	defer kf.Close()
	kfi, err := kf.Stat()
	if err != nil {
		return nil, nil, sts, fmt.Errorf("tls: stat key_file: %w", err)
	}
	if perm := kfi.Mode().Perm(); perm&0o007 != 0 {
		return nil, nil, sts, fmt.Errorf("tls: key_file %s is accessible to others (mode %04o): chmod 600 or 640", keyFile, perm)
	}
	var keyPEM bytes.Buffer
	if _, err := keyPEM.ReadFrom(kf); err != nil {
		return nil, nil, sts, fmt.Errorf("tls: read key_file: %w", err)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, sts, fmt.Errorf("tls: read cert_file: %w", err)
	}
	cfi, err := os.Stat(certFile)
	if err != nil {
		return nil, nil, sts, fmt.Errorf("tls: stat cert_file: %w", err)
	}
	sts[0] = fileStat{cfi.Size(), cfi.ModTime()}
	sts[1] = fileStat{kfi.Size(), kfi.ModTime()}
	return certPEM, keyPEM.Bytes(), sts, nil
}

// parsePair checks that the key matches the leaf and parses the leaf. The
// error never quotes key material.
func parsePair(certPEM, keyPEM []byte) (*pair, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate and key: %w", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: parse certificate: %w", err)
		}
		cert.Leaf = leaf
	}
	if leaf.IsCA && len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		return nil, errors.New("tls: the first certificate in cert_file is a CA, not a server certificate")
	}
	return &pair{cert: &cert, leaf: leaf, name: certName(leaf)}, nil
}

// certName names a certificate for logs and metrics: its first DNS name,
// else its common name, else its first IP address.
func certName(c *x509.Certificate) string {
	switch {
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0].String()
	}
	return "certificate"
}
