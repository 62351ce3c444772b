package ftptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest/peer"
)

// pamService is the PAM service vsftpd logs users in through.
const pamService = "ftpsgw-vsftpd"

// pamConfig checks passwords against /etc/shadow and nothing else.
const pamConfig = "# written by ftpsgw's gateway/backend/ftp/ftptest\n" +
	"auth required pam_unix.so nodelay\naccount required pam_unix.so\nsession required pam_unix.so\n"

// ensureUser creates the test user and its PAM service once per process
// (tolerating another process doing the same) and sets its password. It
// returns the user's uid and gid.
var ensureUser = sync.OnceValues(func() (ids [2]int, err error) {
	if _, err := user.Lookup(User); err != nil {
		err := peer.RetryLocked(nil, "useradd", "-M", "-d", baseDir, "-s", "/usr/sbin/nologin", User)
		if err != nil && !peer.IsExit(err, 9) { // 9: the user exists already
			return ids, err
		}
	}
	u, err := user.Lookup(User)
	if err != nil {
		return ids, err
	}
	ids[0], _ = strconv.Atoi(u.Uid)
	ids[1], _ = strconv.Atoi(u.Gid)
	if err := peer.RetryLocked(strings.NewReader(User+":"+Password+"\n"), "chpasswd"); err != nil {
		return ids, err
	}
	pam := filepath.Join("/etc/pam.d", pamService)
	if b, err := os.ReadFile(pam); err != nil || string(b) != pamConfig {
		if err := os.WriteFile(pam, []byte(pamConfig), 0o644); err != nil {
			return ids, err
		}
	}
	return ids, nil
})

// writeCerts creates a CA, a server certificate for 127.0.0.1 and
// localhost signed by it, and records the CA file and the certificate's
// fingerprint.
func (s *Server) writeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ftpsgw ftptest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(der)
	s.Fingerprint = "SHA256:" + hex.EncodeToString(sum[:])
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	files := map[string][]byte{
		s.CAFile:                         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		filepath.Join(s.Dir, "cert.pem"): pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		filepath.Join(s.Dir, "key.pem"):  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
