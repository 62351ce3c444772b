package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// The LDAP tests run a private OpenLDAP slapd (Debian slapd 2.5) on
// 127.0.0.1 with a throwaway database and certificate. Group membership
// comes from the memberof overlay: groups (groupOfNames) are added through
// the running slapd so that the overlay writes memberOf on the members;
// slapadd would bypass it.

const (
	slapdBin   = "/usr/sbin/slapd"
	slapaddBin = "/usr/sbin/slapadd"
	ldapSuffix = "dc=gw,dc=test"
	ldapAdmin  = "cn=admin,dc=gw,dc=test"
	ldapAdmPW  = "admin-secret"
)

type slapd struct {
	dir       string
	ldapURL   string // plain, for the admin and StartTLS
	ldapsURL  string
	caFile    string
	cmd       *exec.Cmd
	confFile  string
	ldapPort  int
	ldapsPort int
}

func requireSlapd(t *testing.T) {
	t.Helper()
	for _, b := range []string{slapdBin, slapaddBin} {
		if _, err := os.Stat(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing: install slapd and ldap-utils", b)
			}
			t.Skipf("%s missing: install slapd to run the LDAP tests", b)
		}
	}
}

// writeTestPKI writes a CA and a server certificate for 127.0.0.1.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "policy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	for name, blk := range map[string]*pem.Block{
		caFile: {Type: "CERTIFICATE", Bytes: caDER}, certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(name, pem.EncodeToMemory(blk), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// startSlapd configures, loads and starts slapd; t.Cleanup stops it.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	requireSlapd(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestPKI(t, dir)
	s := &slapd{dir: dir, caFile: caFile, ldapPort: testkit.FreePort(t, "127.0.0.1"), ldapsPort: testkit.FreePort(t, "127.0.0.1")}
	s.ldapURL = fmt.Sprintf("ldap://127.0.0.1:%d", s.ldapPort)
	s.ldapsURL = fmt.Sprintf("ldaps://127.0.0.1:%d", s.ldapsPort)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCACertificateFile %[2]s
TLSCertificateFile %[3]s
TLSCertificateKeyFile %[4]s
database mdb
maxsize 16777216
suffix "%[5]s"
rootdn "%[6]s"
rootpw %[7]s
directory %[1]s/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
access to attrs=userPassword by anonymous auth by * none
access to * by self read by dn.exact="%[6]s" write by * none
`, dir, caFile, certFile, keyFile, ldapSuffix, ldapAdmin, ldapAdmPW)
	s.confFile = filepath.Join(dir, "slapd.conf")
	ldif := `dn: dc=gw,dc=test
objectClass: dcObject
objectClass: organization
o: gw
dc: gw

dn: ou=people,dc=gw,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=gw,dc=test
objectClass: organizationalUnit
ou: groups

dn: uid=ann,ou=people,dc=gw,dc=test
objectClass: inetOrgPerson
uid: ann
cn: Ann
sn: A
userPassword: ann-pw

dn: uid=ben,ou=people,dc=gw,dc=test
objectClass: inetOrgPerson
uid: ben
cn: Ben
sn: B
userPassword: ben-pw

dn: uid=eve\2Cou=x,ou=people,dc=gw,dc=test
objectClass: inetOrgPerson
uid: eve,ou=x
cn: Eve
sn: E
userPassword: eve-pw
`
	ldifFile := filepath.Join(dir, "base.ldif")
	if err := os.WriteFile(s.confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ldifFile, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapaddBin, "-f", s.confFile, "-l", ldifFile).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s.start(t)
	t.Cleanup(s.stop)
	s.addGroups(t)
	return s
}

func (s *slapd) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(slapdBin, "-f", s.confFile, "-h", s.ldapURL+"/ "+s.ldapsURL+"/", "-d", "0")
	var out strings.Builder
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.ldapPort), 200*time.Millisecond)
		if err == nil {
			c.Close()
			if l, err := ldap.DialURL(s.ldapURL); err == nil {
				berr := l.Bind(ldapAdmin, ldapAdmPW)
				l.Close()
				if berr == nil {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("slapd did not answer: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends this test's slapd by its own PID.
func (s *slapd) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// addGroups adds groupOfNames entries through slapd, so the memberof
// overlay maintains memberOf on the members.
func (s *slapd) addGroups(t *testing.T) {
	t.Helper()
	l, err := ldap.DialURL(s.ldapURL)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Bind(ldapAdmin, ldapAdmPW); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct{ cn, member string }{
		{"readers", "uid=ann,ou=people," + ldapSuffix},
		{"unmapped", "uid=ann,ou=people," + ldapSuffix},
		{"writers", "uid=ben,ou=people," + ldapSuffix},
	} {
		req := ldap.NewAddRequest("cn="+g.cn+",ou=groups,"+ldapSuffix, nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{g.cn})
		req.Attribute("member", []string{g.member})
		if err := l.Add(req); err != nil {
			t.Fatalf("add group %s: %v", g.cn, err)
		}
	}
}

func ldapPolicy(t *testing.T, lc LDAPConfig, users ...UserConfig) *Policy {
	t.Helper()
	return mustCompile(t, Config{
		Groups: []GroupConfig{
			{Name: "readers", Permissions: []string{"list", "download"}, Home: "/readers"},
			{Name: "writers", Permissions: []string{"list", "upload"}, Backend: "writes"},
		},
		Users: users,
		LDAP:  &lc,
	})
}

func TestLDAP(t *testing.T) {
	s := startSlapd(t)
	base := LDAPConfig{
		BindDNTemplate: "uid={user},ou=people," + ldapSuffix,
		GroupAttribute: "memberOf",
		CAFile:         s.caFile,
		Timeout:        3 * time.Second,
		CacheTTL:       time.Minute,
		DefaultBackend: "files",
		DefaultHome:    "/home/{user}",
	}
	ctx := context.Background()
	login := func(p *Policy, user, pw string) (*Identity, error) {
		return p.Authenticate(ctx, LoginRequest{User: user, Password: pw, Client: loopback})
	}

	ldaps := base
	ldaps.URL = s.ldapsURL
	startTLS := base
	startTLS.URL = s.ldapURL
	startTLS.StartTLS = true
	for name, lc := range map[string]LDAPConfig{"ldaps": ldaps, "starttls": startTLS} {
		t.Run(name, func(t *testing.T) {
			p := ldapPolicy(t, lc)
			id, err := login(p, "ann", "ann-pw")
			if err != nil {
				t.Fatalf("ann: %v", err)
			}
			if id.Source != "ldap" || len(id.Groups) != 1 || id.Groups[0] != "readers" ||
				id.Backend != "files" || id.Home != "/readers" {
				t.Fatalf("identity %+v", id)
			}
			if !p.Decide(id, PermDownload, "/f").Allowed || p.Decide(id, PermUpload, "/f").Allowed {
				t.Fatal("ann does not get exactly the readers' permissions")
			}
			id, err = login(p, "ben", "ben-pw")
			if err != nil || id.Backend != "writes" || id.Home != "/home/ben" || !p.Decide(id, PermUpload, "/f").Allowed {
				t.Fatalf("ben: %+v %v", id, err)
			}
			for _, c := range []struct{ user, pw, reason string }{
				{"ann", "wrong", ReasonBadPassword},
				{"ann", "", ReasonBadPassword},
				{"nobody", "x", ReasonBadPassword},
				{"*", "ann-pw", ReasonBadPassword},
				{"ann,ou=people", "ann-pw", ReasonBadPassword},
			} {
				_, err := login(p, c.user, c.pw)
				if got := authReason(err); got != c.reason {
					t.Errorf("%s/%q: %q, want %q (%v)", c.user, c.pw, got, c.reason, err)
				}
				if err != nil && c.pw != "" && strings.Contains(err.Error(), c.pw) {
					t.Errorf("error text contains the password: %v", err)
				}
			}
			// A DN special character in the name is escaped, not interpreted.
			if id, err := login(p, "eve,ou=x", "eve-pw"); err != nil || id.User != "eve,ou=x" {
				t.Fatalf("escaped user: %+v %v", id, err)
			}
		})
	}

	t.Run("file user wins", func(t *testing.T) {
		p := ldapPolicy(t, ldaps, UserConfig{Name: "ann", PasswordHash: cheapHash(t, "file-pw")})
		if _, err := login(p, "ann", "ann-pw"); authReason(err) != ReasonBadPassword {
			t.Fatalf("LDAP password accepted for a file user: %v", err)
		}
		if id, err := login(p, "ann", "file-pw"); err != nil || id.Source != "file" {
			t.Fatalf("file login: %+v %v", id, err)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		lc := ldaps
		lc.CAFile = ""
		p := ldapPolicy(t, lc)
		if _, err := login(p, "ann", "ann-pw"); authReason(err) != ReasonUnavailable {
			t.Fatalf("unverified server accepted: %v", err)
		}
	})

	t.Run("cache and down", func(t *testing.T) {
		p := ldapPolicy(t, ldaps)
		if _, err := login(p, "ann", "ann-pw"); err != nil {
			t.Fatal(err)
		}
		for k := range p.ldap.cache.m {
			if strings.Contains(string(k[:]), "ann-pw") {
				t.Fatal("cache key holds the password")
			}
		}
		s.stop()
		if id, err := login(p, "ann", "ann-pw"); err != nil || id.Groups[0] != "readers" {
			t.Fatalf("cached login failed: %v", err)
		}
		start := time.Now()
		_, err := login(p, "ann", "other-pw")
		if authReason(err) != ReasonUnavailable {
			t.Fatalf("slapd down: %v", err)
		}
		if d := time.Since(start); d > ldaps.Timeout {
			t.Fatalf("unavailable took %v (timeout %v)", d, ldaps.Timeout)
		}
		p.ldap.cache.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		if _, err := login(p, "ann", "ann-pw"); authReason(err) != ReasonUnavailable {
			t.Fatalf("expired cache entry used: %v", err)
		}
	})
}

// TestLDAPUnreachable needs no slapd: a closed port and a black-holed
// address both fail as provider_unavailable within the timeout.
func TestLDAPUnreachable(t *testing.T) {
	port := testkit.FreePort(t, "127.0.0.1")
	for name, url := range map[string]string{
		"closed port": fmt.Sprintf("ldaps://127.0.0.1:%d", port),
		"silent peer": silentListener(t),
	} {
		t.Run(name, func(t *testing.T) {
			p := ldapPolicy(t, LDAPConfig{URL: url, BindDNTemplate: "uid={user},dc=x", Timeout: 500 * time.Millisecond, DefaultBackend: "f"})
			start := time.Now()
			_, err := p.Authenticate(context.Background(), LoginRequest{User: "ann", Password: "pw", Client: netip.MustParseAddr("127.0.0.1")})
			if authReason(err) != ReasonUnavailable {
				t.Fatalf("got %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// silentListener accepts connections and never answers (a hung server).
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return "ldaps://" + l.Addr().String()
}
