package tlsmgr

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// logSink collects log output and mirrors it to t.Log while the test runs.
type logSink struct {
	t    testing.TB
	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (w *logSink) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *logSink) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func testLogger(t testing.TB) (hclog.Logger, *logSink) {
	sink := &logSink{t: t}
	t.Cleanup(func() { sink.mu.Lock(); sink.done = true; sink.mu.Unlock() })
	return hclog.New(&hclog.LoggerOptions{Name: "tlsmgr", Level: hclog.Debug, Output: sink}), sink
}

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue makes a leaf for names (DNS or IP); client makes it a client
// certificate with CN cn and the given email.
func (ca *testCA) issue(t testing.TB, cn string, names []string, notAfter time.Time, client bool, email ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: cn},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		EmailAddresses: email,
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func writePair(t testing.TB, dir string, certPEM, keyPEM []byte) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// fileManager starts a file-source Manager with a fresh leaf for
// localhost/127.0.0.1 issued by ca.
func fileManager(t testing.TB, ca *testCA, mod func(*Config)) *Manager {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, "localhost", []string{"localhost", "127.0.0.1"}, time.Now().Add(90*24*time.Hour), false)
	certFile, keyFile := writePair(t, t.TempDir(), certPEM, keyPEM)
	cfg := Config{Source: SourceFile, CertFile: certFile, KeyFile: keyFile}
	if mod != nil {
		mod(&cfg)
	}
	log, _ := testLogger(t)
	m, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// result is what one side saw of a handshake.
type result struct {
	server tls.ConnectionState
	client tls.ConnectionState
	srvErr error
	cliErr error
	// bind is what a data connection's check said (after a successful
	// server handshake); nil for control configs.
	bind error
}

// server makes the server side of one test connection and, for data
// connections, its binding check.
type server func(net.Conn) (*tls.Conn, func() error)

func cfgServer(c *tls.Config) server {
	return func(n net.Conn) (*tls.Conn, func() error) { return tls.Server(n, c), nil }
}

func dataServer(s TLSSession, upload bool) server {
	return func(n net.Conn) (*tls.Conn, func() error) { return s.Data(n, upload) }
}

// dial runs one TLS connection over loopback TCP: the server handshakes
// with scfg and writes one byte, the client handshakes with ccfg and reads
// it (which also consumes TLS 1.3 session tickets).
func dial(t testing.TB, scfg, ccfg *tls.Config) result {
	t.Helper()
	return dialSide(t, cfgServer(scfg), ccfg, false)
}

// dialData is dial for a download data connection of s.
func dialData(t testing.TB, s TLSSession, ccfg *tls.Config) result {
	t.Helper()
	return dialSide(t, dataServer(s, false), ccfg, false)
}

// dialUpload is an upload data connection of s: the client writes one
// byte, then reads for a moment (so that it would process any ticket the
// server sent) and closes.
func dialUpload(t testing.TB, s TLSSession, ccfg *tls.Config) result {
	t.Helper()
	return dialSide(t, dataServer(s, true), ccfg, true)
}

func dialSide(t testing.TB, mk server, ccfg *tls.Config, upload bool) result {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var r result
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			r.srvErr = err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		sc, check := mk(c)
		if r.srvErr = sc.Handshake(); r.srvErr != nil {
			return
		}
		r.server = sc.ConnectionState()
		if check != nil {
			r.bind = check()
		}
		buf := make([]byte, 1)
		if upload {
			_, r.srvErr = sc.Read(buf)
			return
		}
		if _, err := sc.Write([]byte("x")); err != nil {
			r.srvErr = err
			return
		}
		_, _ = sc.Read(buf) // wait for the client's close
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	cc := tls.Client(c, ccfg)
	r.cliErr = cc.Handshake()
	if r.cliErr == nil {
		buf := make([]byte, 1)
		if upload {
			if _, err := cc.Write([]byte("x")); err != nil {
				r.cliErr = err
			}
			_ = cc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, _ = cc.Read(buf)
		} else if _, err := cc.Read(buf); err != nil {
			r.cliErr = err
		}
		r.client = cc.ConnectionState()
	}
	cc.Close()
	<-done
	return r
}

// singleUseCache hands out each stored ticket once, like clients that
// follow RFC 8446's advice against ticket reuse.
type singleUseCache struct {
	mu   sync.Mutex
	m    map[string]*tls.ClientSessionState
	hits int
}

func newSingleUseCache() *singleUseCache {
	return &singleUseCache{m: map[string]*tls.ClientSessionState{}}
}

func (c *singleUseCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[key]
	delete(c.m, key)
	if ok {
		c.hits++
	}
	return s, ok
}

func (c *singleUseCache) Put(key string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs == nil {
		delete(c.m, key)
		return
	}
	c.m[key] = cs
}

// countingCache is an LRU client cache that counts the tickets it is
// given.
type countingCache struct {
	tls.ClientSessionCache
	mu   sync.Mutex
	puts int
}

func newCountingCache() *countingCache {
	return &countingCache{ClientSessionCache: tls.NewLRUClientSessionCache(8)}
}

func (c *countingCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.mu.Lock()
		c.puts++
		c.mu.Unlock()
	}
	c.ClientSessionCache.Put(key, cs)
}

func (c *countingCache) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.puts
}

func clientConfig(ca *testCA, version uint16, cache tls.ClientSessionCache) *tls.Config {
	return &tls.Config{
		ServerName:         "localhost",
		RootCAs:            ca.pool(),
		MinVersion:         version,
		MaxVersion:         version,
		ClientSessionCache: cache,
	}
}

var versions = []struct {
	name string
	v    uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}

func mustDER(t testing.TB, certPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}
