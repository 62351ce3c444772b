package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSyslogFromRealBinary: with log.syslog set, the real binary's login
// and audit lines reach a syslog receiver as RFC 5424 messages.
func TestSyslogFromRealBinary(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	lo := 26000 + rand.IntN(1900)
	g := startBinary(t, `server {
  listen = ["127.0.0.1:%[1]s"]
}
tls {
  source    = "self_signed"
  state_dir = "%[3]s/state"
}
passive {
  port_range = "`+fmt.Sprintf("%d-%d", lo, lo+1)+`"
}
metrics {
  listen = "127.0.0.1:%[2]s"
}
log {
  syslog = "udp://`+pc.LocalAddr().String()+`"
}
backend "local" "files" {
  root = "%[3]s/data"
}
user "alice" {
  password_hash = "`+mustHash(t, "alice-pw")+`"
  permissions   = ["*"]
}
`)
	c := rawLogin(t, g.ctl, "127.0.0.1", "alice", "alice-pw")
	c.want(257, "MKD audited")
	var got []string
	buf := make([]byte, 8192)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pc.SetReadDeadline(deadline)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		l := string(buf[:n])
		got = append(got, l)
		if strings.Contains(l, " audit") && strings.Contains(l, `command="MKD"`) {
			if !strings.HasPrefix(l, "<30>1 ") || !strings.Contains(l, `path="/audited"`) || !strings.Contains(l, `user="alice"`) {
				t.Errorf("audit line over syslog: %q", l)
			}
			for _, l := range got {
				if strings.Contains(l, "alice-pw") {
					t.Errorf("a password reached syslog: %q", l)
				}
			}
			return
		}
	}
	t.Fatalf("no audit line over syslog; got:\n%s", strings.Join(got, "\n"))
}
