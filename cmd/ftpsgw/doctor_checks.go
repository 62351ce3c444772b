package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// expiryMargin is how far ahead a certificate must stay valid.
const expiryMargin = 14 * 24 * time.Hour

// doctor runs the checks against one endpoint, in order, and collects
// their results. Checks that depend on an earlier one (a trusted
// certificate before a password is sent, a login before a transfer) are
// skipped when it failed.
type doctor struct {
	o      *doctorOpts
	ctx    context.Context
	checks []checkResult

	main     *ftpclient.Conn // the logged-in control connection
	feat     ftpclient.Features
	trusted  bool // chain and name verified
	pasvOK   bool // PASV answered 227
	epsvOK   bool // EPSV answered 229
	tConnect time.Duration
	tTLS     time.Duration
	tLogin   time.Duration
	tFirst   time.Duration // MLSD sent to its first data byte
}

func (d *doctor) add(name string, st checkStatus, detail, fix string) {
	d.checks = append(d.checks, checkResult{Name: name, Status: st, Detail: detail, Fix: fix})
}

func (d *doctor) pass(name, detail string)      { d.add(name, statusPass, detail, "") }
func (d *doctor) fail(name, detail, fix string) { d.add(name, statusFail, detail, fix) }
func (d *doctor) skip(name, detail string)      { d.add(name, statusSkip, detail, "") }

// skipAll marks names skipped for one reason.
func (d *doctor) skipAll(reason string, names ...string) {
	for _, n := range names {
		d.skip(n, reason)
	}
}

// The checks that need a login, in report order.
var loginChecks = []string{"login", "feat", "clear data refused", "data tls binding", "pasv address",
	"epsv", "passive port range", "mlsd", "passive scan", "round trip", "clock skew", "timings"}

// runDoctor checks o's endpoint and returns the report.
func runDoctor(o *doctorOpts) doctorReport {
	d := &doctor{o: o, ctx: context.Background()}
	d.run()
	rep := doctorReport{Target: o.target, OK: true, Checks: d.checks}
	for _, c := range d.checks {
		if c.Status == statusFail {
			rep.OK = false
		}
	}
	return rep
}

func (d *doctor) run() {
	if !d.connectMain() {
		d.skipAll("no TLS control connection", "tls versions", "certificate chain", "certificate name",
			"certificate expiry", "ocsp stapling", "plain login refused", "ccc refused")
		d.skipAll("no TLS control connection", loginChecks...)
		return
	}
	defer d.main.Close()
	d.checkTLSVersions()
	d.checkCertificate()
	d.checkPlainLogin()
	d.checkCCC()
	switch {
	case !d.trusted:
		d.skipAll("not attempted: the certificate is not trusted, no password was sent", loginChecks...)
		return
	case !d.o.hasPassword:
		d.skipAll("no password (-password-file or $FTPS_PASSWORD)", loginChecks...)
		return
	case !d.login():
		d.skipAll("not logged in", loginChecks[1:]...)
		return
	}
	d.checkFeat()
	d.checkClearData()
	d.checkBinding()
	d.checkPassive()
	d.checkMLSD()
	d.checkScan()
	d.checkRoundTrip()
	d.checkTimings()
	d.main.Quit()
}

// clientConfig is the TLS configuration of every probe: verification is
// done by checkCertificate, so that each failure is reported on its own
// line, and no password is sent unless it passed.
func (d *doctor) clientConfig() *tls.Config {
	return &tls.Config{ServerName: d.o.host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
}

// dial opens a control connection (in clear).
func (d *doctor) dial(conf *tls.Config) (*ftpclient.Conn, error) {
	return ftpclient.Dial(d.ctx, d.o.addr, ftpclient.Config{TLS: conf, Timeout: d.o.timeout})
}

// connectMain dials the control connection and upgrades it with AUTH
// TLS, timing both.
func (d *doctor) connectMain() bool {
	start := time.Now()
	c, err := d.dial(d.clientConfig())
	if err != nil {
		d.fail("connect", plainErr(err), "check the host and port, and that a firewall lets this machine reach the control port")
		return false
	}
	d.tConnect = time.Since(start)
	d.pass("connect", fmt.Sprintf("%s in %s, greeting %q", d.o.addr, ms(d.tConnect), clip(c.Greeting.String())))
	start = time.Now()
	if err := c.AuthTLS(d.ctx); err != nil {
		c.Close()
		d.fail("auth tls", plainErr(err), "enable explicit FTPS (AUTH TLS) on the server with a certificate")
		return false
	}
	d.tTLS = time.Since(start)
	cs, _ := c.TLSState()
	d.pass("auth tls", fmt.Sprintf("%s, %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite)))
	d.main = c
	return true
}

// legacySuites are the TLS 1.0/1.1 cipher suites a probe offers, so that
// a server that would accept those versions can.
var legacySuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// checkTLSVersions reports the negotiated version and handshakes once
// more offering only TLS 1.0 and 1.1, which must fail.
func (d *doctor) checkTLSVersions() {
	cs, _ := d.main.TLSState()
	conf := d.clientConfig()
	conf.MinVersion, conf.MaxVersion, conf.CipherSuites = tls.VersionTLS10, tls.VersionTLS11, legacySuites
	c, err := d.dial(conf)
	if err != nil {
		d.fail("tls versions", "second connection: "+plainErr(err), "the server refused a second connection; raise its per-address limit")
		return
	}
	defer c.Close()
	err = c.AuthTLS(d.ctx)
	if err == nil {
		got, _ := c.TLSState()
		d.fail("tls versions", fmt.Sprintf("%s accepted", tls.VersionName(got.Version)),
			"allow TLS 1.2 and 1.3 only (1.0 and 1.1 are broken and deprecated by RFC 8996)")
		return
	}
	if ftpclient.Code(err) != 0 {
		d.fail("tls versions", "second AUTH TLS refused: "+plainErr(err), "the server refused AUTH TLS on a second connection")
		return
	}
	d.pass("tls versions", fmt.Sprintf("negotiated %s; TLS 1.0 and 1.1 refused (%s)", tls.VersionName(cs.Version), plainErr(errors.Unwrap(err))))
}

// checkCertificate verifies the chain against -ca or the system roots,
// the name against the host, the expiry and OCSP stapling.
func (d *doctor) checkCertificate() {
	cs, _ := d.main.TLSState()
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, chainErr := leaf.Verify(x509.VerifyOptions{Roots: d.o.roots, Intermediates: inter})
	if chainErr != nil {
		d.fail("certificate chain", plainErr(chainErr), "serve the full chain (leaf and intermediates) signed by a CA clients trust, or pass that CA with -ca")
	} else {
		d.pass("certificate chain", fmt.Sprintf("%q issued by %q", leaf.Subject.CommonName, leaf.Issuer.CommonName))
	}
	nameErr := leaf.VerifyHostname(d.o.host)
	if nameErr != nil {
		d.fail("certificate name", plainErr(nameErr), fmt.Sprintf("use a certificate whose subject alternative names include %s", d.o.host))
	} else {
		d.pass("certificate name", "matches "+d.o.host)
	}
	d.trusted = chainErr == nil && nameErr == nil
	if left := time.Until(leaf.NotAfter); left < expiryMargin {
		d.fail("certificate expiry", fmt.Sprintf("expires %s (in %s)", leaf.NotAfter.UTC().Format(time.DateOnly), days(left)),
			"renew the certificate (ACME renews 30 days ahead; check that renewal works)")
	} else {
		d.pass("certificate expiry", fmt.Sprintf("expires %s (in %s)", leaf.NotAfter.UTC().Format(time.DateOnly), days(left)))
	}
	if len(cs.OCSPResponse) > 0 {
		d.pass("ocsp stapling", fmt.Sprintf("stapled response, %d bytes", len(cs.OCSPResponse)))
	} else {
		d.skip("ocsp stapling", "no stapled OCSP response (optional)")
	}
}

// checkPlainLogin sends USER on a fresh connection before AUTH TLS; a
// server that asks for the password would get it in clear. PASS is never
// sent.
func (d *doctor) checkPlainLogin() {
	c, err := d.dial(d.clientConfig())
	if err != nil {
		d.fail("plain login refused", "connection: "+plainErr(err), "the server refused a second connection; raise its per-address limit")
		return
	}
	defer c.Close()
	rep, err := c.Cmd("USER", d.o.user)
	switch {
	case err != nil:
		d.fail("plain login refused", plainErr(err), "the server dropped the connection on a plaintext USER; it should reply 530")
	case rep.Class() == 2 || rep.Class() == 3:
		d.fail("plain login refused", fmt.Sprintf("USER before AUTH TLS got %q: the password would travel in clear", clip(rep.String())),
			"require TLS before login (pure-ftpd -Y 2 or 3, vsftpd force_local_logins_ssl=YES, proftpd TLSRequired on)")
	default:
		d.pass("plain login refused", fmt.Sprintf("USER before AUTH TLS got %q", clip(rep.String())))
		c.Cmd("QUIT")
	}
}

// checkCCC asks to drop TLS on the control connection, on a connection
// of its own before login.
func (d *doctor) checkCCC() {
	c, err := d.dial(d.clientConfig())
	if err == nil {
		defer c.Close()
		err = c.AuthTLS(d.ctx)
	}
	if err != nil {
		d.fail("ccc refused", "connection: "+plainErr(err), "the server refused a second connection; raise its per-address limit")
		return
	}
	rep, err := c.Cmd("CCC")
	switch {
	case err != nil:
		d.fail("ccc refused", plainErr(err), "the server dropped the connection on CCC; it should refuse it with 5xx")
	case rep.Class() == 2:
		d.fail("ccc refused", fmt.Sprintf("CCC got %q: the control connection can fall back to clear", clip(rep.String())),
			"refuse CCC (Clear Command Channel) on the server")
	default:
		d.pass("ccc refused", fmt.Sprintf("CCC got %q", clip(rep.String())))
		c.Cmd("QUIT")
	}
}

// login logs the main connection in and protects its data.
func (d *doctor) login() bool {
	start := time.Now()
	err := d.main.Login(d.o.user, d.o.password)
	d.tLogin = time.Since(start)
	if err != nil {
		d.fail("login", plainErr(err), "check the user name and password; a ban after failed logins also refuses logins")
		return false
	}
	if err := d.main.Prot("P"); err != nil {
		d.fail("login", "PBSZ/PROT P: "+plainErr(err), "allow PBSZ 0 and PROT P after login")
		return false
	}
	if err := d.main.Binary(); err != nil {
		d.fail("login", "TYPE I: "+plainErr(err), "allow TYPE I (binary transfers)")
		return false
	}
	if d.o.dir != "" && d.o.dir != "/" {
		if _, err := d.main.Expect(250, "CWD", d.o.dir); err != nil {
			d.fail("login", "CWD "+d.o.dir+": "+plainErr(err), "give a directory the user can open in the URL's path")
			return false
		}
	}
	d.pass("login", fmt.Sprintf("as %s in %s", d.o.user, ms(d.tLogin)))
	return true
}

// checkFeat lists what FEAT claims.
func (d *doctor) checkFeat() {
	f, err := d.main.Feat()
	if err != nil {
		d.fail("feat", plainErr(err), "answer FEAT (RFC 2389)")
		d.feat = ftpclient.Features{}
		return
	}
	d.feat = f
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d.pass("feat", strings.Join(keys, " "))
}

// plainErr is err's text with control bytes replaced.
func plainErr(err error) string { return clip(err.Error()) }

// clip bounds server text for the report.
func clip(s string) string {
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

func days(d time.Duration) string {
	if d < 0 {
		return "already expired"
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// isPublic reports an address reachable from the internet.
func isPublic(ip net.IP) bool {
	return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast())
}

// refused reports whether err is the server refusing a transfer: a
// reply other than the expected one, or a data connection whose TLS
// handshake it would not complete.
func refused(err error) bool {
	return err != nil && (ftpclient.Code(err) != 0 || errors.Is(err, ftpclient.ErrDataTLS))
}
