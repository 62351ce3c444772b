package tlsmgr

import (
	"bytes"
	"crypto/tls"
	"net/netip"
)

// bindPrefix starts the SessionState.Extra entry that carries a ticket's
// binding. The entry is written by wrap and read by unwrap only, inside a
// ticket that crypto/tls has encrypted and authenticated with the
// Manager's ticket keys, so its contents are our own.
var bindPrefix = []byte("ftpsgw-bind-v2:")

// tokenLen is the size of the process nonce and of a session token.
const tokenLen = 16

// token names one FTP session (or, as the nonce, one Manager) for the
// lifetime of the process.
type token [tokenLen]byte

// Binding kinds, the byte after the nonce.
const (
	// kindVoid: minted on a data connection that was not bound itself (a
	// full handshake): resuming it proves nothing.
	kindVoid byte = 0
	// kindSession: minted in the FTP session named by the token, before it
	// logged in (control connections); the user and address come from the
	// session registry when the ticket is checked.
	kindSession byte = 1
	// kindIdentity: minted in the FTP session named by the token after it
	// had logged in; the user and client address follow.
	kindIdentity byte = 2
)

// binding is the decoded bind entry of a ticket.
type binding struct {
	nonce   token
	kind    byte
	session token      // kindSession, kindIdentity
	user    string     // kindIdentity
	addr    netip.Addr // kindIdentity
}

// encode returns the Extra entry for b:
//
//	prefix | nonce[16] | kind | session[16] | addr length | addr | user
//
// (a void entry stops after kind).
func (b binding) encode() []byte {
	e := make([]byte, 0, len(bindPrefix)+2*tokenLen+2+16+len(b.user))
	e = append(e, bindPrefix...)
	e = append(e, b.nonce[:]...)
	e = append(e, b.kind)
	if b.kind == kindVoid {
		return e
	}
	e = append(e, b.session[:]...)
	if b.kind == kindSession {
		return e
	}
	a := b.addr.Unmap().AsSlice()
	e = append(e, byte(len(a)))
	e = append(e, a...)
	return append(e, b.user...)
}

// decodeBinding parses an entry written by encode; ok is false for
// anything else (which we never write).
func decodeBinding(e []byte) (b binding, ok bool) {
	rest, found := bytes.CutPrefix(e, bindPrefix)
	if !found || len(rest) < tokenLen+1 {
		return b, false
	}
	copy(b.nonce[:], rest)
	b.kind = rest[tokenLen]
	rest = rest[tokenLen+1:]
	switch b.kind {
	case kindVoid:
		return b, len(rest) == 0
	case kindSession, kindIdentity:
	default:
		return b, false
	}
	if len(rest) < tokenLen {
		return b, false
	}
	copy(b.session[:], rest)
	rest = rest[tokenLen:]
	if b.kind == kindSession {
		return b, len(rest) == 0
	}
	if len(rest) < 1 || int(rest[0]) > len(rest)-1 {
		return b, false
	}
	n := int(rest[0])
	addr, okAddr := netip.AddrFromSlice(rest[1 : 1+n])
	if !okAddr || n == 0 {
		return b, false
	}
	b.addr, b.user = addr, string(rest[1+n:])
	return b, true
}

// setBinding replaces any bind entry in ss.Extra (a resumed session carries
// the entry it was minted with) by b's.
func setBinding(ss *tls.SessionState, b binding) {
	extra := make([][]byte, 0, len(ss.Extra)+1)
	for _, e := range ss.Extra {
		if !bytes.HasPrefix(e, bindPrefix) {
			extra = append(extra, e)
		}
	}
	ss.Extra = append(extra, b.encode())
}

// bindingOf returns the bind entry of ss, if it has a valid one.
func bindingOf(ss *tls.SessionState) (binding, bool) {
	for _, e := range ss.Extra {
		if bytes.HasPrefix(e, bindPrefix) {
			return decodeBinding(e)
		}
	}
	return binding{}, false
}
