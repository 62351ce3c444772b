package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// reporter records what Validate reports, one "key: message" a line.
type reporter struct{ errs, warns []string }

func (r *reporter) Errorf(key, format string, args ...any) {
	r.errs = append(r.errs, key+": "+fmt.Sprintf(format, args...))
}

func (r *reporter) Warnf(key, format string, args ...any) {
	r.warns = append(r.warns, key+": "+fmt.Sprintf(format, args...))
}

func (r *reporter) File(key, path string, secret bool) {}

// decode decodes an HCL block body into a new local config, as the
// config loader does.
func decode(t *testing.T, body string) (backend.Config, error) {
	t.Helper()
	typ, ok := backend.Lookup(TypeName)
	if !ok {
		t.Fatalf("type %q is not registered (types: %q)", TypeName, backend.Types())
	}
	f, diags := hclparse.NewParser().ParseHCL([]byte(body), "test.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cfg := typ.NewConfig()
	if diags := gohcl.DecodeBody(f.Body, nil, cfg); diags.HasErrors() {
		return cfg, diags
	}
	return cfg, nil
}

func TestRegistryDecode(t *testing.T) {
	if _, err := decode(t, ``); err == nil {
		t.Errorf("a block without root decoded")
	}
	if _, err := decode(t, `root = "/x"`+"\n"+`bogus = 1`); err == nil {
		t.Errorf("a block with an unknown key decoded")
	}
	cfg, err := decode(t, `root = "/srv/ftp"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.(*Config).Root; got != "/srv/ftp" {
		t.Errorf("root decoded as %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		root, wantErr, wantWarn string
	}{
		{dir, "", ""},
		{"", "required", ""},
		{"relative/dir", "", ""},                // from the working directory, as the quickstart's ./data
		{filepath.Join(dir, "missing"), "", ""}, // created when the backend opens
		{file, "not a directory", ""},
	}
	for _, tc := range tests {
		var r reporter
		(&Config{Root: tc.root}).Validate(&r)
		check := func(kind string, got []string, want string) {
			if want == "" && len(got) > 0 || want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], "root: ") || !strings.Contains(got[0], want)) {
				t.Errorf("root %q: %s %q, want one on root containing %q", tc.root, kind, got, want)
			}
		}
		check("errors", r.errs, tc.wantErr)
		check("warnings", r.warns, tc.wantWarn)
	}
}

func TestConfigOpen(t *testing.T) {
	dir := t.TempDir()
	o, err := (&Config{Root: dir}).Open(t.Context(), "disk", hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Probe(t.Context()); err != nil {
		t.Errorf("Probe: %v", err)
	}
	// A missing root is created; a file in its place is refused.
	missing := filepath.Join(dir, "missing")
	o2, err := (&Config{Root: missing}).Open(t.Context(), "disk", hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("Open over a missing root: %v", err)
	}
	o2.Close()
	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Errorf("missing root not created: %v", err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := (&Config{Root: file}).Open(t.Context(), "disk", hclog.NewNullLogger()); err == nil {
		t.Errorf("Open over a file succeeded")
	}
}
