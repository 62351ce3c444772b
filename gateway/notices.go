package gateway

// notices.go: the optional multi-line 220 (banner_file) and 230
// (login_message_file) texts.

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a login notice.
const (
	MaxNoticeLines     = 50
	MaxNoticeLineBytes = 200
)

// Notices are the login notices in force; Config.Notices returns them.
// Empty slices mean the one-line default reply.
type Notices struct {
	Banner []string // 220 lines
	Login  []string // 230 lines
}

// NoticeLines turns a notice file's text into at most MaxNoticeLines lines
// of at most MaxNoticeLineBytes each, with control characters removed and
// trailing blank lines dropped. Invalid UTF-8 becomes '?'.
func NoticeLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if len(out) == MaxNoticeLines {
			break
		}
		var b strings.Builder
		for _, r := range l {
			switch {
			case r == '\t':
				r = ' '
			case r == utf8.RuneError:
				r = '?'
			case unicode.IsControl(r) || r == 0xff:
				continue
			}
			if b.Len()+utf8.RuneLen(r) > MaxNoticeLineBytes {
				break
			}
			b.WriteRune(r)
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func (s *session) notices() Notices {
	if s.srv.cfg.Notices == nil {
		return Notices{}
	}
	return s.srv.cfg.Notices()
}

// greet sends the 220: multi-line with the banner file, else one line.
func (s *session) greet() error {
	if lines := s.notices().Banner; len(lines) > 0 {
		return s.replyMulti(220, s.srv.cfg.Banner, lines, s.srv.cfg.Banner)
	}
	return s.reply(220, s.srv.cfg.Banner)
}

// loginReply sends the 230: multi-line with the login message, else one
// line.
func (s *session) loginReply() error {
	r := replyLoginSuccessful
	if lines := s.notices().Login; len(lines) > 0 {
		return s.replyMulti(r.code, r.text, lines, r.text)
	}
	return s.replyR(r)
}
