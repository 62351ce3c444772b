package metrics

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// sdID names the structured-data element that carries a log line's
// key/value pairs. 32473 is the enterprise number RFC 5612 sets aside for
// documentation; operators who need their own can map it in the collector.
const sdID = "ftpsgw@32473"

// facilityDaemon is the syslog facility of every line (RFC 5424 §6.2.1).
const facilityDaemon = 3

// SyslogSink sends every log line, with its key/value pairs as structured
// data, to a syslog receiver in RFC 5424 format. It is an hclog sink: the
// root logger keeps writing its own output as well. A receiver that is
// down costs the lines written meanwhile, never the gateway: writes have a
// short deadline, and a stream transport is redialled on the next line.
type SyslogSink struct {
	network, addr string
	host, app     string
	pid           int
	level         hclog.Level // lines below it are not sent

	mu     sync.Mutex
	conn   net.Conn // guarded by mu; nil until dialled or after a failure
	stream bool     // guarded by mu: conn is a stream (frames are counted)
}

var _ hclog.SinkAdapter = (*SyslogSink)(nil)

// NewSyslogSink parses target ("unix:///dev/log", "udp://host:514",
// "tcp://host:514") and dials it once, so a wrong address fails at
// start-up. level is the log block's level ("" info).
func NewSyslogSink(target, level string) (*SyslogSink, error) {
	lvl, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("syslog %q: %w", target, err)
	}
	s := &SyslogSink{app: "ftpsgw", pid: os.Getpid(), level: lvl}
	switch u.Scheme {
	case "unix", "unixgram":
		s.network, s.addr = "unixgram", u.Path
	case "udp", "tcp":
		s.network, s.addr = u.Scheme, u.Host
	default:
		return nil, fmt.Errorf("syslog %q: want unix://PATH, udp://HOST:PORT or tcp://HOST:PORT", target)
	}
	if s.addr == "" {
		return nil, fmt.Errorf("syslog %q: no address", target)
	}
	if s.host, err = os.Hostname(); err != nil || s.host == "" {
		s.host = "-"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dialLocked(); err != nil {
		return nil, fmt.Errorf("syslog %q: %w", target, err)
	}
	return s, nil
}

func (s *SyslogSink) dialLocked() error {
	c, err := net.DialTimeout(s.network, s.addr, 2*time.Second)
	stream := s.network == "tcp"
	if err != nil && s.network == "unixgram" {
		c, err = net.DialTimeout("unix", s.addr, 2*time.Second) // a stream socket at the path
		stream = true
	}
	if err != nil {
		return err
	}
	s.conn, s.stream = c, stream
	return nil
}

// Accept implements hclog.SinkAdapter.
func (s *SyslogSink) Accept(name string, level hclog.Level, msg string, args ...interface{}) {
	if level < s.level {
		return
	}
	line := s.format(time.Now(), name, level, msg, args)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil && s.dialLocked() != nil {
		return
	}
	if s.stream {
		line = fmt.Sprintf("%d %s", len(line), line) // RFC 6587 octet counting
	}
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := s.conn.Write([]byte(line)); err != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// Close closes the connection to the receiver.
func (s *SyslogSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// format renders one RFC 5424 message:
// <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD-ID key="value" ...] MSG
func (s *SyslogSink) format(t time.Time, name string, level hclog.Level, msg string, args []interface{}) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d %s ", facilityDaemon*8+severity(level),
		t.UTC().Format("2006-01-02T15:04:05.000000Z"), s.host, s.app, s.pid, msgID(name))
	if len(args) < 2 {
		b.WriteString("-")
	} else {
		b.WriteString("[" + sdID)
		for i := 0; i+1 < len(args); i += 2 {
			fmt.Fprintf(&b, " %s=\"%s\"", sdName(fmt.Sprint(args[i])), sdValue(fmt.Sprint(args[i+1])))
		}
		b.WriteString("]")
	}
	b.WriteString(" " + strings.Map(noControl, msg))
	return b.String()
}

// severity maps a log level to a syslog severity (RFC 5424 §6.2.1).
func severity(l hclog.Level) int {
	switch {
	case l >= hclog.Error:
		return 3
	case l == hclog.Warn:
		return 4
	case l == hclog.Info:
		return 6
	}
	return 7
}

// msgID is the subsystem ("ftpsgw.gateway" -> "gateway"), printable ASCII
// of at most 32 characters, or "-".
func msgID(name string) string {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "ftpsgw"), ".")
	name = sdName(name)
	if name == "" {
		return "-"
	}
	if len(name) > 32 {
		name = name[:32]
	}
	return name
}

// sdName keeps the characters RFC 5424 allows in a parameter name.
func sdName(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' || r == '=' || r == ']' || r == '"' {
			return '_'
		}
		return r
	}, s)
}

// sdValue escapes a parameter value: '"', '\' and ']' get a backslash,
// control characters become spaces.
func sdValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"', '\\', ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(noControl(r))
		}
	}
	return b.String()
}

func noControl(r rune) rune {
	if r < ' ' || r == 0x7f {
		return ' '
	}
	return r
}
