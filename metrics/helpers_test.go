package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ftpsgw/ftpsgw/gateway"
)

// testServer is a Metrics serving on 127.0.0.1:0 for one test.
type testServer struct {
	m      *Metrics
	base   string // "http://127.0.0.1:port"
	client *http.Client
}

func newMetrics(t *testing.T, cfg Config) *Metrics {
	t.Helper()
	m, err := New(cfg, "v1.2.3-test")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// serve starts m.Serve on a loopback listener and stops it when the test
// ends, checking that Serve returned http.ErrServerClosed.
func serve(t *testing.T, m *Metrics, tlsClient *tls.Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ln) }()
	scheme := "http"
	tr := &http.Transport{}
	if tlsClient != nil {
		scheme = "https"
		tr.TLSClientConfig = tlsClient
	}
	ts := &testServer{m: m, base: scheme + "://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return ts
}

// get performs a GET, optionally with basic auth, and returns status and body.
func (ts *testServer) get(t *testing.T, path string, auth ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape fetches /metrics over HTTP and parses the text format.
func (ts *testServer) scrape(t *testing.T, auth ...string) (families, string) {
	t.Helper()
	code, body := ts.get(t, "/metrics", auth...)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	return parseText(t, body), body
}

type families map[string]*dto.MetricFamily

func parseText(t *testing.T, body string) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

// value returns the value of the series name{labels} (exactly these
// labels), and whether it exists. For histograms, name may end in _count
// or _sum.
func (f families) value(name string, labels map[string]string) (float64, bool) {
	part := ""
	fam := f[name]
	if fam == nil {
		for _, suffix := range []string{"_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && f[base] != nil {
				fam, part = f[base], suffix
			}
		}
	}
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !labelsEqual(m.GetLabel(), labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		case m.Histogram != nil && part == "_count":
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Histogram != nil && part == "_sum":
			return m.GetHistogram().GetSampleSum(), true
		}
	}
	return 0, false
}

func labelsEqual(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, lp := range got {
		if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

// l builds a label map from name, value pairs.
func l(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// exerciseAll calls every Observer method and every setter once, so that
// every metric the package defines has at least one series.
func exerciseAll(m *Metrics) {
	m.ConnAccepted()
	m.ConnRejected(gateway.RejectLimit)
	m.SessionOpened()
	m.Login(gateway.LoginOK, "alice")
	m.Login(gateway.LoginBadPassword, "alice")
	m.TLSHandshake(gateway.ChannelControl, tls.VersionTLS13, nil)
	m.TLSHandshake(gateway.ChannelData, tls.VersionTLS12, errors.New("bad record"))
	m.Command("RETR", 226)
	m.Command("XYZZY", 500)
	m.Denied("upload", "alice")
	m.Transfer(sampleRecord())
	m.PassivePorts(3)
	m.PassiveExhausted()
	m.DataRefused(gateway.DataNoReuse)
	m.DataUnbound(gateway.UnboundOtherSession)
	m.UnclosedUploadAccepted()
	m.Banned(netip.MustParseAddr("192.0.2.1"))
	m.BackendOp("files", "open", 3*time.Millisecond, nil)
	m.BackendOp("files", "stat", time.Millisecond, errors.New("gone"))
	m.ConfigReload(true)
	m.ConfigReload(false)
	m.SetBanSource(func() int { return 2 })
	m.SetCertExpiry(func() map[string]time.Time {
		return map[string]time.Time{"ftp.example.com": time.Unix(1900000000, 0)}
	})
}

// sampleRecord is the fixed transfer record of the transfer log tests.
func sampleRecord() gateway.TransferRecord {
	return gateway.TransferRecord{
		Time:       time.Date(2026, time.November, 22, 10, 3, 1, 500_000_000, time.UTC),
		SessionID:  "s-42",
		User:       "alice",
		Client:     netip.MustParseAddr("127.0.0.1"),
		Direction:  gateway.Upload,
		Path:       "/path/f.bin",
		Bytes:      1234,
		Duration:   1200 * time.Millisecond,
		Result:     gateway.TransferOK,
		TLSVersion: tls.VersionTLS13,
		Backend:    "files",
		Mode:       "binary",
	}
}

func goVersion() string { return runtime.Version() }
