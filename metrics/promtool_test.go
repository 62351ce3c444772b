package metrics

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

const deployDir = "../deploy"

// promtool returns the path of promtool; without it the test fails in CI
// (CI=true) and is skipped elsewhere.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found: %v", err)
		}
		t.Skipf("promtool not found: %v", err)
	}
	return p
}

func runPromtool(t *testing.T, dir string, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool(t)
	for _, perUser := range []bool{false, true} {
		m := newMetrics(t, Config{PerUser: perUser})
		exerciseAll(m)
		ts := serve(t, m, nil)
		fams, body := ts.scrape(t)
		if len(fams) < 20 {
			t.Fatalf("only %d families", len(fams))
		}
		runPromtool(t, ".", []byte(body), "check", "metrics")
	}
}

func TestPromtoolRules(t *testing.T) {
	dir := filepath.Join(deployDir, "prometheus")
	runPromtool(t, dir, nil, "check", "rules", "alerts.yml")
	runPromtool(t, dir, nil, "test", "rules", "alerts_test.yml")
	runPromtool(t, dir, nil, "check", "config", "prometheus.yml")
}

// exposedNames gathers the registry after exerciseAll and returns every
// exposed sample name (families plus _bucket/_sum/_count of histograms).
func exposedNames(t *testing.T) map[string]bool {
	t.Helper()
	m := newMetrics(t, Config{})
	exerciseAll(m)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
		if len(f.GetMetric()) == 0 {
			t.Errorf("%s has no series after exerciseAll", f.GetName())
		}
	}
	return names
}

var metricRef = regexp.MustCompile(`\b(?:ftpsgw|go|process)_[a-zA-Z0-9_]+`)

// queries collects every PromQL string of a Grafana dashboard: "expr"
// of targets, and "query"/"definition" of template variables.
func queries(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				*out = append(*out, s)
				continue
			}
			queries(val, out)
		}
	case []any:
		for _, e := range x {
			queries(e, out)
		}
	}
}

func TestDashboardUsesExposedMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "grafana", "ftpsgw-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	var qs []string
	queries(dash, &qs)
	exposed := exposedNames(t)
	used := make(map[string]bool)
	for _, q := range qs {
		for _, name := range metricRef.FindAllString(q, -1) {
			used[name] = true
			if !exposed[name] {
				t.Errorf("dashboard query uses %s, which the registry does not expose: %s", name, q)
			}
		}
	}
	// Every ftpsgw_ family should be on the dashboard somewhere.
	for name := range exposed {
		if !strings.HasPrefix(name, "ftpsgw_") || strings.HasSuffix(name, "_bucket") ||
			strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !used[name] && !used[name+"_bucket"] && !used[name+"_count"] {
			t.Errorf("metric %s is not on the dashboard", name)
		}
	}
	if len(used) < 15 {
		t.Errorf("dashboard references only %d metrics", len(used))
	}
}

func TestAlertsUseExposedMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	exposed := exposedNames(t)
	var refs []string
	for _, name := range metricRef.FindAllString(string(raw), -1) {
		refs = append(refs, name)
		if !exposed[name] {
			t.Errorf("alerts.yml uses %s, which the registry does not expose", name)
		}
	}
	sort.Strings(refs)
	if len(refs) < 6 {
		t.Errorf("alerts.yml references only %v", refs)
	}
}
