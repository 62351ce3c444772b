package metrics

import (
	"crypto/tls"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway"
)

func TestObserverDeltas(t *testing.T) {
	m := newMetrics(t, Config{})
	ts := serve(t, m, nil)
	before, _ := ts.scrape(t)

	m.ConnAccepted()
	m.ConnAccepted()
	m.ConnRejected(gateway.RejectBan)
	m.ConnRejected("made_up") // not in the closed set
	m.SessionOpened()
	m.SessionOpened()
	m.SessionOpened()
	m.SessionClosed()
	m.Login(gateway.LoginOK, "alice")
	m.Login(gateway.LoginBadPassword, "bob")
	m.Login(gateway.LoginBadPassword, "bob")
	m.TLSHandshake(gateway.ChannelControl, tls.VersionTLS13, nil)
	m.TLSHandshake(gateway.ChannelData, tls.VersionTLS12, errors.New("handshake failure"))
	m.TLSHandshake(gateway.ChannelControl, 0, errors.New("not TLS"))
	m.Command("retr", 226)
	m.Command("RETR", 150)
	m.Command("XYZZY", 500)
	m.Command("noop", 200)
	m.Denied("upload", "alice")
	m.Denied("format_disk", "alice")
	up := sampleRecord()
	up.Bytes, up.Duration = 1000, 2*time.Second
	down := sampleRecord()
	down.Direction, down.Result, down.Bytes, down.Duration = gateway.Download, gateway.TransferAborted, 500, 250*time.Millisecond
	m.Transfer(up)
	m.Transfer(down)
	m.Transfer(up)
	m.PassivePorts(9)
	m.PassivePorts(7)
	m.PassiveExhausted()
	m.DataRefused(gateway.DataWrongIP)
	m.DataRefused(gateway.DataWrongIP)
	m.DataUnbound(gateway.UnboundOtherUser)
	m.DataUnbound(gateway.UnboundNoResume)
	m.DataUnbound(gateway.UnboundNoResume)
	m.DataUnbound("made_up")
	m.UnclosedUploadAccepted()
	m.Banned(netip.MustParseAddr("192.0.2.1"))
	m.SetBackendType("files", "local")
	m.BackendOp("files", "open", 10*time.Millisecond, nil)
	m.BackendOp("files", "open", 20*time.Millisecond, errors.New("io"))
	m.BackendOp("files", "Bad Op!", time.Millisecond, errors.New("io"))
	m.ConfigReload(true)
	m.ConfigReload(false)
	m.ConfigReload(false)
	m.SetBanSource(func() int { return 3 })
	m.SetThrottleSource(func() int { return 4 })
	expiry := time.Unix(1893456000, 0)
	m.SetCertExpiry(func() map[string]time.Time { return map[string]time.Time{"ftp.example.com": expiry} })

	after, _ := ts.scrape(t)

	deltas := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ftpsgw_connections_accepted_total", nil, 2},
		{"ftpsgw_connections_rejected_total", l("reason", "ban"), 1},
		{"ftpsgw_connections_rejected_total", l("reason", "other"), 1},
		{"ftpsgw_connections_rejected_total", l("reason", "limit"), 0},
		{"ftpsgw_logins_total", l("result", "ok"), 1},
		{"ftpsgw_logins_total", l("result", "bad_password"), 2},
		{"ftpsgw_logins_total", l("result", "unknown_user"), 0},
		{"ftpsgw_tls_handshakes_total", l("channel", "control", "version", "TLS1.3", "result", "ok"), 1},
		{"ftpsgw_tls_handshakes_total", l("channel", "data", "version", "TLS1.2", "result", "error"), 1},
		{"ftpsgw_tls_handshakes_total", l("channel", "control", "version", "unknown", "result", "error"), 1},
		{"ftpsgw_commands_total", l("command", "RETR", "class", "2xx"), 1},
		{"ftpsgw_commands_total", l("command", "RETR", "class", "1xx"), 1},
		{"ftpsgw_commands_total", l("command", "OTHER", "class", "5xx"), 1},
		{"ftpsgw_commands_total", l("command", "NOOP", "class", "2xx"), 1},
		{"ftpsgw_acl_denials_total", l("operation", "upload"), 1},
		{"ftpsgw_acl_denials_total", l("operation", "other"), 1},
		{"ftpsgw_transfers_total", l("direction", "upload", "result", "ok"), 2},
		{"ftpsgw_transfers_total", l("direction", "download", "result", "aborted"), 1},
		{"ftpsgw_transfers_total", l("direction", "download", "result", "ok"), 0},
		{"ftpsgw_transfer_bytes_total", l("direction", "upload"), 2000},
		{"ftpsgw_transfer_bytes_total", l("direction", "download"), 500},
		{"ftpsgw_transfer_duration_seconds_count", l("direction", "upload"), 2},
		{"ftpsgw_transfer_duration_seconds_sum", l("direction", "upload"), 4},
		{"ftpsgw_transfer_duration_seconds_sum", l("direction", "download"), 0.25},
		{"ftpsgw_passive_allocation_failures_total", nil, 1},
		{"ftpsgw_data_connections_refused_total", l("reason", "wrong_ip"), 2},
		{"ftpsgw_data_connections_refused_total", l("reason", "prot_c"), 0},
		{"ftpsgw_data_connections_unbound_accepted_total", l("reason", "no_resume"), 2},
		{"ftpsgw_data_connections_unbound_accepted_total", l("reason", "other_user"), 1},
		{"ftpsgw_data_connections_unbound_accepted_total", l("reason", "other_address"), 0},
		{"ftpsgw_data_connections_unbound_accepted_total", l("reason", "other"), 1},
		{"ftpsgw_uploads_unclosed_accepted_total", nil, 1},
		{"ftpsgw_defender_bans_total", nil, 1},
		{"ftpsgw_backend_operation_duration_seconds_count", l("backend", "files", "type", "local", "operation", "open"), 2},
		{"ftpsgw_backend_operation_duration_seconds_sum", l("backend", "files", "type", "local", "operation", "open"), 0.03},
		{"ftpsgw_backend_operation_duration_seconds_count", l("backend", "files", "type", "local", "operation", "other"), 1},
		{"ftpsgw_backend_errors_total", l("backend", "files", "type", "local", "operation", "open"), 1},
		{"ftpsgw_backend_errors_total", l("backend", "files", "type", "local", "operation", "other"), 1},
		{"ftpsgw_config_reloads_total", l("result", "ok"), 1},
		{"ftpsgw_config_reloads_total", l("result", "error"), 2},
	}
	for _, d := range deltas {
		b, _ := before.value(d.name, d.labels)
		a, ok := after.value(d.name, d.labels)
		if !ok {
			t.Errorf("%s%v: missing after the events", d.name, d.labels)
			continue
		}
		if got := a - b; math.Abs(got-d.want) > 1e-9 {
			t.Errorf("%s%v: delta %v, want %v", d.name, d.labels, got, d.want)
		}
	}

	gauges := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ftpsgw_sessions_active", nil, 2},
		{"ftpsgw_passive_ports_in_use", nil, 7},
		{"ftpsgw_defender_bans_active", nil, 3},
		{"ftpsgw_defender_accounts_throttled", nil, 4},
		{"ftpsgw_certificate_expiry_timestamp_seconds", l("name", "ftp.example.com"), 1893456000},
		{"ftpsgw_build_info", l("version", "v1.2.3-test", "goversion", goVersion()), 1},
	}
	for _, g := range gauges {
		got, ok := after.value(g.name, g.labels)
		if !ok || got != g.want {
			t.Errorf("%s%v = %v (present %v), want %v", g.name, g.labels, got, ok, g.want)
		}
	}
	if _, ok := after["go_goroutines"]; !ok {
		t.Error("Go runtime collector missing")
	}
	if _, ok := after["process_cpu_seconds_total"]; !ok {
		t.Error("process collector missing")
	}
}

func TestBansActiveWithoutSource(t *testing.T) {
	m := newMetrics(t, Config{})
	ts := serve(t, m, nil)
	fams, _ := ts.scrape(t)
	if v, ok := fams.value("ftpsgw_defender_bans_active", nil); !ok || v != 0 {
		t.Errorf("bans_active = %v (present %v), want 0", v, ok)
	}
	if _, ok := fams["ftpsgw_certificate_expiry_timestamp_seconds"]; ok {
		t.Error("certificate expiry series without a source")
	}
	m.SetBanSource(func() int { return 5 })
	m.SetBanSource(nil)
	fams, _ = ts.scrape(t)
	if v, _ := fams.value("ftpsgw_defender_bans_active", nil); v != 0 {
		t.Errorf("bans_active after SetBanSource(nil) = %v, want 0", v)
	}
}

func TestPerUserOffLeaksNoUser(t *testing.T) {
	m := newMetrics(t, Config{PerUser: false})
	ts := serve(t, m, nil)
	m.Login(gateway.LoginOK, "alice-secret-name")
	m.Login(gateway.LoginUnknownUser, "mallory-typed-this")
	m.Denied("delete", "alice-secret-name")
	rec := sampleRecord()
	rec.User, rec.Path = "alice-secret-name", "/home/alice-secret-path/f"
	m.Transfer(rec)

	fams, body := ts.scrape(t)
	for _, s := range []string{"alice-secret", "mallory", "127.0.0.1", "/home/"} {
		if strings.Contains(body, s) {
			t.Errorf("scrape contains %q", s)
		}
	}
	for name, fam := range fams {
		for _, mm := range fam.GetMetric() {
			for _, lp := range mm.GetLabel() {
				if lp.GetName() == "user" {
					t.Errorf("%s has a user label with per_user off", name)
				}
			}
		}
	}
	if v, _ := fams.value("ftpsgw_logins_total", l("result", "ok")); v != 1 {
		t.Errorf("logins ok = %v, want 1", v)
	}
}

func TestPerUserOn(t *testing.T) {
	m := newMetrics(t, Config{PerUser: true})
	ts := serve(t, m, nil)
	m.Login(gateway.LoginOK, "alice")
	m.Login(gateway.LoginOK, "alice")
	m.Login(gateway.LoginUnknownUser, "mallory-typed-this")
	m.Login(gateway.LoginBadPassword, "bob")
	m.Denied("delete", "alice")
	m.Transfer(sampleRecord())

	fams, body := ts.scrape(t)
	if strings.Contains(body, "mallory") || strings.Contains(body, "bob") {
		t.Error("a failed login's user name became a label value")
	}
	want := []struct {
		name   string
		labels map[string]string
		v      float64
	}{
		{"ftpsgw_logins_total", l("result", "ok", "user", "alice"), 2},
		{"ftpsgw_logins_total", l("result", "unknown_user", "user", ""), 1},
		{"ftpsgw_logins_total", l("result", "bad_password", "user", ""), 1},
		{"ftpsgw_acl_denials_total", l("operation", "delete", "user", "alice"), 1},
		{"ftpsgw_transfers_total", l("direction", "upload", "result", "ok", "user", "alice"), 1},
		{"ftpsgw_transfer_bytes_total", l("direction", "upload", "user", "alice"), 1234},
		{"ftpsgw_transfer_duration_seconds_count", l("direction", "upload"), 1},
	}
	for _, w := range want {
		if got, ok := fams.value(w.name, w.labels); !ok || got != w.v {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.v)
		}
	}
}

func TestUnknownVerbsAreOther(t *testing.T) {
	m := newMetrics(t, Config{})
	ts := serve(t, m, nil)
	hostile := []string{"XYZZY", "HACK", "", "R", "RETRX", "\xff\xfe\xfd", "SITE EXEC", "ret\x00", "<script>", "rEtR"}
	for _, v := range hostile {
		m.Command(v, 500)
	}
	fams, body := ts.scrape(t)
	if v, _ := fams.value("ftpsgw_commands_total", l("command", "OTHER", "class", "5xx")); v != float64(len(hostile)-1) {
		t.Errorf("OTHER = %v, want %d", v, len(hostile)-1)
	}
	if v, _ := fams.value("ftpsgw_commands_total", l("command", "RETR", "class", "5xx")); v != 1 {
		t.Errorf("RETR (from rEtR) = %v, want 1", v)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "XYZZY") {
		t.Error("an unknown verb reached the scrape")
	}
}

func TestVerbLabel(t *testing.T) {
	cases := map[string]string{
		"USER": "USER", "user": "USER", "pAsS": "PASS", "CWD": "CWD", "xmkd": "XMKD",
		"MLSD": "MLSD", "EPSV": "EPSV", "HOST": "HOST", "PBSZ": "PBSZ", "ABOR": "ABOR",
		"": "OTHER", "AB": "OTHER", "ABORT": "OTHER", "FOO": "OTHER", "ÜSER": "OTHER",
		"CWD ": "OTHER", "\x00CWD": "OTHER", "hash": "HASH", "xsha256": "XSHA256", "XSHA2566": "OTHER",
	}
	for in, want := range cases {
		if got := verbLabel(in); got != want {
			t.Errorf("verbLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = verbLabel("retr") }); n != 0 {
		t.Errorf("verbLabel allocates %v times", n)
	}
}

func TestCodeClass(t *testing.T) {
	cases := map[int]string{0: "other", 99: "other", 100: "1xx", 150: "1xx", 226: "2xx", 331: "3xx",
		421: "4xx", 530: "5xx", 599: "5xx", 600: "other", -1: "other"}
	for in, want := range cases {
		if got := codeClass(in); got != want {
			t.Errorf("codeClass(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestNameAndOpLabels(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	if got := nameLabel(long); len(got) > maxNameLabel || !strings.HasPrefix(long, got) || len(got) != 64 {
		t.Errorf("nameLabel(long) = %q (%d bytes)", got, len(got))
	}
	if got := nameLabel("a\nb\xffc"); got != "a_b_c" {
		t.Errorf("nameLabel = %q, want a_b_c", got)
	}
	ops := map[string]string{"open": "open", "read_dir": "read_dir", "Open": "other", "": "other",
		"a b": "other", strings.Repeat("a", 33): "other"}
	for in, want := range ops {
		if got := opLabel(in); got != want {
			t.Errorf("opLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTLSVersionName(t *testing.T) {
	cases := map[uint16]string{0: "none", tls.VersionTLS10: "TLS1.0", tls.VersionTLS11: "TLS1.1",
		tls.VersionTLS12: "TLS1.2", tls.VersionTLS13: "TLS1.3", 0x0300: "unknown"}
	for in, want := range cases {
		if got := TLSVersionName(in); got != want {
			t.Errorf("TLSVersionName(%#x) = %q, want %q", in, got, want)
		}
	}
}

func TestPrivateRegistry(t *testing.T) {
	m := newMetrics(t, Config{})
	// A second instance must not collide: nothing is registered globally.
	_ = newMetrics(t, Config{PerUser: true})
	if m.Registry() == nil {
		t.Fatal("nil registry")
	}
}
