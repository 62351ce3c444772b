package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

const (
	// roundTripSize is the size of the file the round trip uploads.
	roundTripSize = 1 << 20
	// maxSkew is the clock difference the round trip tolerates.
	maxSkew = 2 * time.Minute
	// scanInterval spaces the passive scan's probes.
	scanInterval = 50 * time.Millisecond
)

// fixRange is the advice for a passive port outside -expect-range.
const fixRange = "make the server's passive range match the ports the firewall opens " +
	"(ftpsgw passive.port_range, pure-ftpd -p A:B, vsftpd pasv_min_port/pasv_max_port), or fix -expect-range"

// checkClearData asks for PROT C and a listing: a server requiring
// encrypted data refuses one or the other.
func (d *doctor) checkClearData() {
	const name = "clear data refused"
	if err := d.main.Prot("C"); err != nil {
		if ftpclient.Code(err) != 0 {
			d.pass(name, "PROT C refused: "+plainErr(err))
			return
		}
		d.fail(name, plainErr(err), "the server dropped the connection on PROT C; it should refuse it or the transfer")
		return
	}
	_, _, err := d.main.List(d.ctx, ftpclient.TransferOptions{}, "LIST")
	switch {
	case err == nil:
		d.fail(name, "a listing moved in clear under PROT C",
			"require TLS on data connections (pure-ftpd -Y 3, vsftpd force_local_data_ssl=YES, ftpsgw tls.require = \"all\")")
	case refused(err):
		d.pass(name, "transfer under PROT C refused: "+plainErr(err))
	default:
		d.fail(name, "inconclusive: "+plainErr(err), "the transfer under PROT C neither worked nor got a refusal; check the server's log")
	}
	if err := d.main.Prot("P"); err != nil {
		d.fail(name, "PROT P after PROT C: "+plainErr(err), "allow PROT P after PROT C")
	}
}

// bindingWait bounds how long the binding check waits for the reply
// after the server dropped a data connection: servers that keep the
// passive port open for the rightful client (ftpsgw until data_timeout)
// answer only later.
const bindingWait = 5 * time.Second

// checkBinding lists over a data connection whose TLS handshake does not
// resume the control connection's session: a server that binds data to
// its control connection refuses it, so a stolen passive port yields
// nothing. It runs on a connection of its own, which a missing reply
// leaves out of step.
func (d *doctor) checkBinding() {
	const name = "data tls binding"
	if d.o.noReuse {
		d.skip(name, "skipped (-no-reuse-check)")
		return
	}
	c, err := d.loggedInConn()
	if err != nil {
		d.fail(name, "second session: "+plainErr(err), "the server refused a second session; raise its per-address limit")
		return
	}
	defer c.Close()
	_, info, err := c.List(d.ctx, ftpclient.TransferOptions{FreshSession: true, FinalWait: min(bindingWait, d.o.timeout)}, "LIST")
	switch {
	case err == nil:
		d.fail(name, "a data connection with a new TLS session (no resumption) was accepted",
			"require data connections to resume the control connection's TLS session (vsftpd require_ssl_reuse=YES, "+
				"proftpd TLSOptions without NoSessionReuseRequired, FileZilla Server, ftpsgw by default); pure-ftpd cannot, "+
				"so limit who can reach its passive ports")
	case refused(err):
		d.pass(name, "fresh TLS session refused: "+plainErr(err))
	case errors.Is(err, ftpclient.ErrNoCompletion) && info.Preamble.Code != 0:
		d.pass(name, "fresh TLS session dropped, no data and no completion reply")
	default:
		d.fail(name, "inconclusive: "+plainErr(err), "the transfer with a fresh TLS session neither worked nor got a refusal; check the server's log")
	}
	c.Cmd("QUIT")
}

// loggedInConn opens another session like the main one: TLS, login,
// PROT P, TYPE I, the URL's directory.
func (d *doctor) loggedInConn() (*ftpclient.Conn, error) {
	c, err := d.dial(d.clientConfig())
	if err != nil {
		return nil, err
	}
	err = c.AuthTLS(d.ctx)
	if err == nil {
		err = c.Login(d.o.user, d.o.password)
	}
	if err == nil {
		err = c.Prot("P")
	}
	if err == nil {
		err = c.Binary()
	}
	if err == nil && d.o.dir != "" && d.o.dir != "/" {
		_, err = c.Expect(250, "CWD", d.o.dir)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// checkPassive checks the PASV address and the EPSV port are reachable,
// and both ports against -expect-range.
func (d *doctor) checkPassive() {
	var ports []int
	if p, err := d.main.PASV(); err != nil {
		d.fail("pasv address", plainErr(err), "enable PASV: many clients (and all IPv4-only NAT set-ups) need it")
	} else {
		ports = append(ports, p.Port)
		d.pasvOK = true
		d.checkPASVAddr(p)
	}
	if p, err := d.main.EPSV(); err != nil {
		d.fail("epsv", plainErr(err), "enable EPSV (RFC 2428): it is what IPv6 and NAT-friendly clients use")
	} else {
		ports = append(ports, p.Port)
		d.epsvOK = true
		if err := d.probe(p); err != nil {
			d.fail("epsv", fmt.Sprintf("port %d: %s", p.Port, plainErr(err)), "open the passive port range in the firewall in front of the server")
		} else {
			d.pass("epsv", fmt.Sprintf("port %d reachable", p.Port))
		}
	}
	if d.o.expectLo == 0 {
		d.skip("passive port range", "no -expect-range")
		return
	}
	var out []string
	for _, port := range ports {
		if port < d.o.expectLo || port > d.o.expectHi {
			out = append(out, strconv.Itoa(port))
		}
	}
	if len(out) > 0 {
		d.fail("passive port range", fmt.Sprintf("port(s) %s outside %d-%d", strings.Join(out, ", "), d.o.expectLo, d.o.expectHi), fixRange)
		return
	}
	d.pass("passive port range", fmt.Sprintf("port(s) %s inside %d-%d", joinInts(ports), d.o.expectLo, d.o.expectHi))
}

// checkPASVAddr judges the address a PASV reply announced and connects
// to it.
func (d *doctor) checkPASVAddr(p ftpclient.Passive) {
	const name = "pasv address"
	peer := d.main.RemoteIP()
	switch {
	case p.Announced.IsUnspecified():
		d.fail(name, "PASV announces 0.0.0.0", "set the address the server announces (ftpsgw passive.public_address, vsftpd pasv_address, pure-ftpd -P)")
		return
	case peer != nil && isPublic(peer) && !isPublic(p.Announced):
		d.fail(name, fmt.Sprintf("PASV announces %s, a private address, for a public server %s", p.Announced, peer),
			"announce the public address (ftpsgw passive.public_address or address_for, vsftpd pasv_address, pure-ftpd -P)")
		return
	}
	if err := d.probe(p); err != nil {
		d.fail(name, fmt.Sprintf("PASV announces %s, which does not answer: %s", p.Addr, plainErr(err)),
			"open the passive port range in the firewall, and check that the announced address is the server's")
		return
	}
	d.pass(name, fmt.Sprintf("PASV announces %s, reachable", p.Addr))
}

// probe connects to a passive address and hangs up.
func (d *doctor) probe(p ftpclient.Passive) error {
	conn, err := d.main.DialData(d.ctx, p)
	if err != nil {
		return err
	}
	return conn.Close()
}

// checkMLSD lists the directory with MLSD over a data connection that
// resumes the control session, timing the first byte.
func (d *doctor) checkMLSD() {
	start := time.Now()
	var buf bytes.Buffer
	info, err := d.main.Transfer(d.ctx, ftpclient.TransferOptions{}, func(conn net.Conn) error {
		b := make([]byte, 32<<10)
		for {
			n, err := conn.Read(b)
			if (n > 0 || err != nil) && d.tFirst == 0 {
				d.tFirst = time.Since(start) // the first byte, or the end of an empty listing
			}
			buf.Write(b[:n])
			if err == io.EOF || buf.Len() > 16<<20 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}, "MLSD")
	if err != nil {
		d.fail("mlsd", plainErr(err), "MLSD (RFC 3659) should list the directory; if EPSV worked, check the data connection's TLS")
		return
	}
	n := 0
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
			if _, err := ftpclient.ParseMLSx(line); err != nil {
				d.fail("mlsd", "unreadable line: "+plainErr(err), "fix the server's MLSD output (RFC 3659 section 7)")
				return
			}
			n++
		}
	}
	resumed := "no"
	if info.TLS != nil && info.TLS.DidResume {
		resumed = "yes"
	}
	d.pass("mlsd", fmt.Sprintf("%d entries over %s port %d, data TLS resumed: %s", n, info.Passive.Verb, info.Passive.Port, resumed))
}

// checkScan asks for -scan-passive passive ports, one after another at
// scanInterval, alternating PASV and EPSV (those that worked in
// checkPassive), and connects to each.
func (d *doctor) checkScan() {
	const name = "passive scan"
	if d.o.scan == 0 {
		d.skip(name, "no -scan-passive")
		return
	}
	var bad, outside []string
	seen := map[int]bool{}
	tick := time.NewTicker(scanInterval)
	defer tick.Stop()
	for i := range d.o.scan {
		if i > 0 {
			<-tick.C
		}
		p, err := d.scanPassive(i)
		if err != nil {
			d.fail(name, fmt.Sprintf("after %d ports: %s", i, plainErr(err)), "the server ran out of passive ports or refused passive mode; widen its range")
			return
		}
		seen[p.Port] = true
		if d.o.expectLo != 0 && (p.Port < d.o.expectLo || p.Port > d.o.expectHi) {
			outside = append(outside, strconv.Itoa(p.Port))
		}
		if err := d.probe(p); err != nil {
			bad = append(bad, strconv.Itoa(p.Port))
		}
	}
	switch {
	case len(bad) > 0:
		d.fail(name, fmt.Sprintf("%d of %d unreachable: %s", len(bad), d.o.scan, strings.Join(bad, ", ")),
			"open these ports (the whole passive range) in the firewall in front of the server")
	case len(outside) > 0:
		d.fail(name, "outside -expect-range: "+strings.Join(outside, ", "), fixRange)
	default:
		d.pass(name, fmt.Sprintf("%d ports asked, %d distinct, all reachable", d.o.scan, len(seen)))
	}
}

// scanPassive enters passive mode for the i-th probe of the scan.
func (d *doctor) scanPassive(i int) (ftpclient.Passive, error) {
	switch {
	case d.pasvOK && (!d.epsvOK || i%2 == 0):
		return d.main.PASV()
	case d.epsvOK:
		return d.main.EPSV()
	}
	return d.main.EnterPassive()
}

// checkRoundTrip uploads a file, compares SIZE and a sha256 (HASH when
// offered, else a download), reads MDTM for the clock skew and deletes
// it. A refused upload means the user may not write: skipped.
func (d *doctor) checkRoundTrip() {
	var tag [6]byte
	rand.Read(tag[:])
	name := "ftpsgw-doctor-" + hex.EncodeToString(tag[:]) + ".bin"
	payload := make([]byte, roundTripSize)
	rand.Read(payload)
	want := sha256.Sum256(payload)
	start := time.Now()
	if _, err := d.main.Store(d.ctx, name, bytes.NewReader(payload)); err != nil {
		if c := ftpclient.Code(err); c >= 500 || c == 450 {
			d.skip("round trip", "upload refused, the user may not write here: "+plainErr(err))
			d.skip("clock skew", "no upload")
			return
		}
		d.fail("round trip", "upload: "+plainErr(err), "uploads fail: check the data connection, the storage and the quota")
		d.skip("clock skew", "no upload")
		return
	}
	upEnd := time.Now()
	var problems []string
	if n, err := d.main.Size(name); err != nil || n != roundTripSize {
		problems = append(problems, fmt.Sprintf("SIZE %d, %v", n, err))
	}
	how, sum, err := d.remoteSum(name)
	if err != nil {
		problems = append(problems, "checksum: "+plainErr(err))
	} else if sum != hex.EncodeToString(want[:]) {
		problems = append(problems, "sha256 differs ("+how+")")
	}
	mt, mtErr := d.main.ModTime(name)
	if err := d.main.Delete(name); err != nil {
		problems = append(problems, "DELE: "+plainErr(err))
	}
	if len(problems) > 0 {
		d.fail("round trip", strings.Join(problems, "; "), "the file did not come back as sent: check the storage behind the server")
	} else {
		d.pass("round trip", fmt.Sprintf("1 MiB up in %s, SIZE ok, sha256 matches (%s), deleted", ms(upEnd.Sub(start)), how))
	}
	d.checkSkew(mt, mtErr, upEnd)
}

// remoteSum returns the file's sha256 by HASH when FEAT offers it, else
// by downloading it.
func (d *doctor) remoteSum(name string) (how, sum string, err error) {
	if d.feat.Has("HASH") {
		d.main.Cmd("OPTS", "HASH", "SHA-256")
		rep, err := d.main.Expect(213, "HASH", name)
		if err == nil {
			for _, f := range strings.Fields(rep.Message()) {
				if len(f) == 64 {
					if _, err := hex.DecodeString(f); err == nil {
						return "HASH", strings.ToLower(f), nil
					}
				}
			}
		}
	}
	h := sha256.New()
	if _, err := d.main.Retrieve(d.ctx, name, h); err != nil {
		return "download", "", err
	}
	return "download", hex.EncodeToString(h.Sum(nil)), nil
}

// checkSkew compares the uploaded file's MDTM (mt, or the error MDTM
// got) with the local clock at the end of the upload.
func (d *doctor) checkSkew(mt time.Time, err error, upEnd time.Time) {
	if err != nil {
		d.skip("clock skew", "MDTM not answered: "+plainErr(err))
		return
	}
	skew := mt.Sub(upEnd).Round(time.Second)
	if skew > maxSkew || skew < -maxSkew {
		d.fail("clock skew", fmt.Sprintf("the server's clock is %s off this one's (MDTM of the upload)", skew),
			"synchronise the server's clock with NTP (and this machine's)")
		return
	}
	d.pass("clock skew", fmt.Sprintf("MDTM of the upload within %s of the local clock (%s)", maxSkew, skew))
}

// checkTimings reports how long each step took.
func (d *doctor) checkTimings() {
	first := "n/a"
	if d.tFirst > 0 {
		first = ms(d.tFirst)
	}
	d.pass("timings", fmt.Sprintf("connect %s, tls %s, login %s, first byte %s", ms(d.tConnect), ms(d.tTLS), ms(d.tLogin), first))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
