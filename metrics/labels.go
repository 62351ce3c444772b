package metrics

import (
	"strings"
	"unicode/utf8"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/policy"
)

// Label values come only from closed sets. Every function here maps its
// input onto such a set; anything unexpected becomes labelOther, so a bug in
// a caller (or a hostile client, for verbs) can never grow the number of
// series without bound.

const (
	labelOther   = "other"
	verbOther    = "OTHER"
	maxNameLabel = 64 // bytes; backend, certificate and (opt-in) user names
)

// ftpVerbs is the allow-list of FTP verbs that may appear as the command
// label: the gateway's command table. Anything else, including what a
// client invents, is "OTHER".
var ftpVerbs = canonOf(gateway.Verbs()...)

var (
	rejectReasons = setOf(string(gateway.RejectBan), string(gateway.RejectLimit),
		string(gateway.RejectNetwork), string(gateway.RejectProxy), string(gateway.RejectShutdown))
	loginResults = setOf(string(gateway.LoginOK), string(gateway.LoginBadPassword),
		string(gateway.LoginUnknownUser), string(gateway.LoginTLSRequired),
		string(gateway.LoginDeniedNetwork), string(gateway.LoginBanned), string(gateway.LoginLimit),
		string(gateway.LoginCertificate), string(gateway.LoginUnavailable))
	channels      = setOf(string(gateway.ChannelControl), string(gateway.ChannelData))
	refuseReasons = setOf(string(gateway.DataWrongIP), string(gateway.DataNoReuse),
		string(gateway.DataProtClear), string(gateway.DataActiveDenied), string(gateway.DataTLSFailed))
	unboundReasons = setOf(string(gateway.UnboundNoResume), string(gateway.UnboundOtherSession),
		string(gateway.UnboundOtherUser), string(gateway.UnboundOtherAddress))
	directions     = setOf(string(gateway.Upload), string(gateway.Download))
	transferResult = setOf(string(gateway.TransferOK), string(gateway.TransferAborted),
		string(gateway.TransferFailed), string(gateway.TransferTooLarge), string(gateway.TransferQuota),
		string(gateway.TransferVetoed))
	// operations are the permission names, the operations an ACL can
	// deny; policy owns their spelling.
	operations = setOf(policy.PermNames()...)
)

type stringSet map[string]struct{}

func setOf(vals ...string) stringSet {
	s := make(stringSet, len(vals))
	for _, v := range vals {
		s[v] = struct{}{}
	}
	return s
}

// closed returns v if it is in set, else "other".
func closed(set stringSet, v string) string {
	if _, ok := set[v]; ok {
		return v
	}
	return labelOther
}

// members returns the members of s in a stable order (for pre-creating series).
func (s stringSet) members() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	return out
}

// verbLabel maps a client-sent verb to the command label: the upper-cased
// verb if it is on the allow-list, else "OTHER". It never allocates.
func verbLabel(verb string) string {
	if len(verb) < 3 || len(verb) > 7 {
		return verbOther
	}
	var buf [7]byte
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	// The map holds the canonical strings, so a hit does not allocate.
	if v, ok := ftpVerbs[string(buf[:len(verb)])]; ok {
		return v
	}
	return verbOther
}

func canonOf(vals ...string) map[string]string {
	m := make(map[string]string, len(vals))
	for _, v := range vals {
		m[v] = v
	}
	return m
}

// codeClass maps an FTP reply code to "1xx".."5xx"; anything outside
// 100..599 is "other".
func codeClass(code int) string {
	switch {
	case code >= 100 && code < 200:
		return "1xx"
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	case code >= 500 && code < 600:
		return "5xx"
	}
	return labelOther
}

// TLSVersionName names a TLS version as everywhere else (see
// gateway.TLSVersionName); the transfer log and the tls_handshakes metric
// use it.
func TLSVersionName(v uint16) string { return gateway.TLSVersionName(v) }

// nameLabel makes a configured name (backend, certificate, user) safe as a
// label value: valid UTF-8, no control characters, at most maxNameLabel
// bytes. It does not bound the set; callers only pass names from the
// configuration.
func nameLabel(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if r == utf8.RuneError || r < 0x20 || r == 0x7f {
				return '_'
			}
			return r
		}, s)
	}
	if len(s) > maxNameLabel {
		cut := maxNameLabel
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// opLabel bounds a backend operation name: lower-case ASCII letters, digits
// and '_' up to 32 bytes, else "other". Operations are method names chosen
// by the gateway, never client input.
func opLabel(op string) string {
	if op == "" || len(op) > 32 {
		return labelOther
	}
	for i := 0; i < len(op); i++ {
		c := op[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return labelOther
		}
	}
	return op
}
