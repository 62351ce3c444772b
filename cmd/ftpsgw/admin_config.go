package main

// admin_config.go: the admin block and the login notice files
// (server.banner_file, server.login_message_file).

import (
	"crypto/sha256"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/gateway/admin"
)

// maxNoticeFile bounds a notice file read; NoticeLines keeps 50 lines of
// 200 bytes, so more is never shown.
const maxNoticeFile = 64 << 10

type adminBlock struct {
	Listen      string `hcl:"listen,optional"`
	TokenSHA256 string `hcl:"token_sha256,optional"`
	TokenFile   string `hcl:"token_file,optional"`
	TLSCertFile string `hcl:"tls_cert_file,optional"`
	TLSKeyFile  string `hcl:"tls_key_file,optional"`
	// ClientCAFile: client certificates it verifies authenticate as the
	// token does (mutual TLS).
	ClientCAFile string `hcl:"client_ca_file,optional"`
	// Pprof serves runtime profiles under /debug/pprof/, authenticated.
	Pprof bool      `hcl:"pprof,optional"`
	Range hcl.Range `hcl:",def_range"`
}

// adminSettings is the admin block converted; Listen "" is off.
type adminSettings struct {
	Listen       string
	Digest       [32]byte // SHA-256 of the token
	TLSCertFile  string
	TLSKeyFile   string
	ClientCAFile string // mutual TLS; "" off
	Pprof        bool   // /debug/pprof/ (admin.Handler.EnableProfiling)
}

func (c *converter) adminBlock(b *adminBlock) {
	if b == nil {
		return
	}
	r := b.Range
	a := adminSettings{Listen: b.Listen, TLSCertFile: b.TLSCertFile, TLSKeyFile: b.TLSKeyFile, ClientCAFile: b.ClientCAFile, Pprof: b.Pprof}
	if a.Listen == "" {
		c.probs.add(r, `admin: listen is required (such as "127.0.0.1:9122")`)
	} else if err := checkListen(a.Listen); err != nil {
		c.probs.add(c.loc.attr(r, "listen"), "admin: listen: %v", err)
	} else if !loopbackListen(a.Listen) && (a.TLSCertFile == "" || a.TLSKeyFile == "") {
		c.probs.add(c.loc.attr(r, "listen"), "admin: listen %q is not a loopback address: set tls_cert_file and tls_key_file", a.Listen)
	}
	if (b.TLSCertFile == "") != (b.TLSKeyFile == "") {
		c.probs.add(r, "admin: tls_cert_file and tls_key_file go together")
	}
	c.readable(r, "tls_cert_file", b.TLSCertFile)
	c.secret(r, "tls_key_file", b.TLSKeyFile)
	if b.ClientCAFile != "" {
		if b.TLSCertFile == "" {
			c.probs.add(c.loc.attr(r, "client_ca_file"), "admin: client_ca_file needs tls_cert_file and tls_key_file")
		}
		c.readable(r, "client_ca_file", b.ClientCAFile)
	}
	switch {
	case b.TokenSHA256 != "" && b.TokenFile != "":
		c.probs.add(r, "admin: set one of token_sha256 and token_file, not both")
	case b.TokenSHA256 == "" && b.TokenFile == "" && b.ClientCAFile == "":
		c.probs.add(r, "admin: set token_sha256, token_file or client_ca_file")
	case b.TokenSHA256 == "" && b.TokenFile == "":
		// client certificates only
	case b.TokenSHA256 != "":
		d, err := admin.ParseTokenSHA256(b.TokenSHA256)
		if err != nil {
			c.probs.add(c.loc.attr(r, "token_sha256"), "admin: token_sha256: %v", err)
		}
		a.Digest = d
	default:
		c.secret(r, "token_file", b.TokenFile)
		if !c.skipFiles {
			if raw, err := os.ReadFile(b.TokenFile); err == nil {
				tok := strings.TrimSpace(string(raw))
				if len(tok) < 16 {
					c.probs.add(c.loc.attr(r, "token_file"), "admin: token_file: the token must be at least 16 characters")
				}
				a.Digest = sha256.Sum256([]byte(tok))
			}
		}
	}
	c.s.admin = a
}

// loopbackListen reports whether a listen address binds loopback only.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// noticeFiles reads server.banner_file and server.login_message_file.
func (c *converter) noticeFiles(b *serverBlock) {
	if b == nil {
		return
	}
	read := func(key, path string) []string {
		if path == "" || c.skipFiles {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			c.probs.add(c.loc.attr(b.Range, key), "%s: %v", key, fileError(path, err))
			return nil
		}
		defer f.Close()
		buf := make([]byte, maxNoticeFile)
		n, _ := f.Read(buf)
		return gateway.NoticeLines(string(buf[:n]))
	}
	c.s.notices = gateway.Notices{
		Banner: read("banner_file", b.BannerFile),
		Login:  read("login_message_file", b.LoginMessageFile),
	}
}
