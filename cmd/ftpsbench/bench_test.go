package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	line := "4242 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 20 30 40 50 20 0 1 0 100 200\n"
	if n, err := parseStatTicks(line); err != nil || n != 140 {
		t.Fatalf("parseStatTicks = %d, %v; want 140", n, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 x 30 40 50"} {
		if _, err := parseStatTicks(bad); err == nil {
			t.Errorf("parseStatTicks(%q) accepted", bad)
		}
	}
	if s, err := cpuSeconds(os.Getpid()); err != nil || s < 0 {
		t.Fatalf("cpuSeconds(self) = %v, %v", s, err)
	}
	var e errs
	if got := startCPU(0).stop(&e); got != 0 || e.n != 0 {
		t.Errorf("no pid: %v, %d errors", got, e.n)
	}
}

func TestSeededPayload(t *testing.T) {
	a, b, c := seededPayload(3<<20, 7), seededPayload(3<<20, 7), seededPayload(3<<20, 8)
	if a.sum != b.sum || a.sum == c.sum {
		t.Fatal("seeded payloads: same seed must give the same bytes, another seed others")
	}
	var buf bytes.Buffer
	a.writeTo(&buf)
	if int64(buf.Len()) != a.size || b.readVerify(&buf) != nil {
		t.Fatal("payload does not verify against its twin")
	}
	// The server's copy, made without the sum, sends the same bytes.
	buf.Reset()
	srv := seededBlock(3<<20, 7)
	srv.writeTo(&buf)
	if srv.sum != ([32]byte{}) || b.readVerify(&buf) != nil {
		t.Fatal("the server's block does not send the client's payload")
	}
}

// writeTestCert writes a self-signed ECDSA certificate for 127.0.0.1.
func writeTestCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestTLSBaseline(t *testing.T) {
	certFile, keyFile := writeTestCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	so, err := parseFlags([]string{"-mode", "tlsserve", "-addr", addr, "-cert", certFile, "-key", keyFile})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runTLSServe(so) }()
	defer func() {
		stopping.Store(true)
		if err := <-done; err != nil {
			t.Error(err)
		}
		stopping.Store(false)
	}()
	for i := 0; i < 50; i++ { // wait until it listens
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, v := range []string{"1.2", "1.3"} {
		o, err := parseFlags([]string{"-mode", "tls", "-addr", addr, "-ca", certFile, "-size", "3MiB",
			"-parallel", "3", "-tls-max", v, "-pid", "1", "-label", "bare/x/1"})
		if err != nil {
			t.Fatal(err)
		}
		o.pid = os.Getpid() // the server runs in this process
		r := runTLS(o)
		if r.Errors != 0 || r.Verified != 3 || r.SessionsOK != 3 || r.DataConns != 6 || r.UpMBps <= 0 || r.DownMBps <= 0 {
			t.Errorf("TLS %s: %+v", v, r)
		}
		// tlssmall: every timed transfer resumes the worker's session
		// (-require-resume fails one that does not) and downloads are
		// checked.
		o, err = parseFlags([]string{"-mode", "tlssmall", "-addr", addr, "-ca", certFile, "-size", "5000",
			"-parallel", "2", "-tls-max", v, "-duration", "400ms", "-require-resume"})
		if err != nil {
			t.Fatal(err)
		}
		r = runSmallFiles(o)
		if r.Errors != 0 || r.SessionsOK != 2 || r.StorFiles < 2 || r.RetrFiles < 2 || r.Verified != r.RetrFiles {
			t.Errorf("tlssmall TLS %s: %+v", v, r)
		}
	}
}

func TestTable(t *testing.T) {
	in := `{"mode":"throughput","label":"ftpsgw/1x1GiB/1","parallel":1,"size_bytes":1073741824,"up_mb_per_s":600,"down_mb_per_s":800,"server_cpu_up_s":1,"server_cpu_down_s":2,"errors":0}
{"mode":"throughput","label":"ftpsgw/1x1GiB/2","parallel":1,"size_bytes":1073741824,"up_mb_per_s":500,"down_mb_per_s":900,"server_cpu_up_s":3,"server_cpu_down_s":2,"errors":0}
{"mode":"throughput","label":"ftpsgw/1x1GiB/3","parallel":1,"size_bytes":1073741824,"up_mb_per_s":700,"down_mb_per_s":700,"server_cpu_up_s":2,"server_cpu_down_s":2,"errors":0}
{"mode":"throughput","label":"pure-ftpd/1x1GiB/1","parallel":1,"size_bytes":1073741824,"up_mb_per_s":300,"down_mb_per_s":400,"errors":0}
{"mode":"throughput","label":"pure-ftpd/1x1GiB/2","parallel":1,"size_bytes":1073741824,"up_mb_per_s":300,"down_mb_per_s":400,"errors":2,"error_sample":["boom"]}
not json, ignored
{"mode":"sessions","label":"ftpsgw/sessions-x16/1","parallel":16,"sessions_per_s":150,"sessions":1500,"server_cpu_s":3,"errors":0}
{"mode":"smallfiles","label":"pure-ftpd/small/1","parallel":4,"stor_files_per_s":90,"retr_files_per_s":110,"stor_files":900,"retr_files":1100,"server_cpu_up_s":0.9,"errors":0}
`
	td, err := readTable(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if n := td.write(&b, "ftpsgw"); n != 1 {
		t.Errorf("%d runs with errors, want 1", n)
	}
	out := b.String()
	for _, s := range []string{
		"1x1GiB STOR (MB/s; server CPU s/GiB)",
		"  ftpsgw           600       500       700       600      2.00",
		"  pure-ftpd        300      300!         -       300         -",
		"ratio: ftpsgw/pure-ftpd 2.00",
		"ftpsgw/pure-ftpd 2.00", // RETR: 800/400
		"sessions-x16 (sessions/s; server CPU ms/session)",
		"150      2.00",
		"small STOR (files/s; server CPU ms/file)",
		"90.0      1.00",
		"pure-ftpd/1x1GiB/2: 2 error(s): boom",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
	if _, err := readTable(strings.NewReader(`{"mode":"sessions","label":"no-slashes"}`)); err == nil {
		t.Error("a label without server/test/round accepted")
	}
	if m, ok := median([]float64{4, 1, 2, 3}); !ok || m != 2.5 {
		t.Errorf("median = %v", m)
	}
}

func TestNewModeFlags(t *testing.T) {
	o, err := parseFlags([]string{"-mode", "smallfiles"})
	if err != nil || o.size != 4096 || o.parallel != 1 {
		t.Fatalf("smallfiles defaults: %+v %v", o, err)
	}
	o, err = parseFlags(nil)
	if err != nil || o.size != 64<<20 || o.parallel != 1 || o.mode != "throughput" {
		t.Fatalf("throughput defaults: %+v %v", o, err)
	}
	if _, err := parseFlags([]string{"-mode", "tlsserve"}); err == nil {
		t.Error("tlsserve without -cert/-key accepted")
	}
	if _, err := parseFlags([]string{"-mode", "table", "-in", "x.jsonl"}); err != nil {
		t.Error(err)
	}
}
