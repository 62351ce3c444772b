package backendtest

import (
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Reporter is a backend.Reporter that records what a backend config's
// Validate reports, per key, for the backends' config tests. File
// records whether the key names a secret and reports a missing file.
type Reporter struct {
	Errs  map[string][]string
	Warns map[string][]string
	Files map[string]bool // key -> secret
}

var _ backend.Reporter = (*Reporter)(nil)

// NewReporter returns an empty Reporter.
func NewReporter() *Reporter {
	return &Reporter{Errs: map[string][]string{}, Warns: map[string][]string{}, Files: map[string]bool{}}
}

// Errorf implements backend.Reporter.
func (r *Reporter) Errorf(key, format string, args ...any) {
	r.Errs[key] = append(r.Errs[key], fmt.Sprintf(format, args...))
}

// Warnf implements backend.Reporter.
func (r *Reporter) Warnf(key, format string, args ...any) {
	r.Warns[key] = append(r.Warns[key], fmt.Sprintf(format, args...))
}

// File implements backend.Reporter.
func (r *Reporter) File(key, path string, secret bool) {
	r.Files[key] = secret
	if _, err := os.Stat(path); err != nil {
		r.Errorf(key, "%v", err)
	}
}

// Decode decodes the HCL body src into cfg (a backend's config struct,
// holding its defaults) as the config loader does, and returns the
// decoder's diagnostics ("no diagnostics" when there are none).
func Decode(t testing.TB, src string, cfg any) string {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return gohcl.DecodeBody(f.Body, nil, cfg).Error()
}
