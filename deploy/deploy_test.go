package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// Paths are relative to this directory (deploy/), where go test runs.

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type portRange struct{ lo, hi int }

func (r portRange) String() string { return fmt.Sprintf("%d-%d", r.lo, r.hi) }

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var hclPortRange = regexp.MustCompile(`(?m)^\s*port_range\s*=\s*"(\d+)-(\d+)"`)

// exampleRange is the passive port_range of an example config.
func exampleRange(t *testing.T, path string) portRange {
	t.Helper()
	m := hclPortRange.FindAllStringSubmatch(readFile(t, path), -1)
	if len(m) != 1 {
		t.Fatalf("%s: want one passive port_range, found %d", path, len(m))
	}
	r := portRange{atoi(t, m[0][1]), atoi(t, m[0][2])}
	if r.lo < 1024 || r.hi > 65535 || r.lo > r.hi {
		t.Fatalf("%s: bad port_range %s", path, r)
	}
	return r
}

// hclString returns the value of the first `key = "value"` in an HCL file.
func hclString(t *testing.T, path, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + `\s*=\s*"([^"]*)"`).FindStringSubmatch(readFile(t, path))
	if m == nil {
		t.Fatalf("%s: no %s", path, key)
	}
	return m[1]
}

func hclDuration(t *testing.T, path, key string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(hclString(t, path, key))
	if err != nil {
		t.Fatalf("%s: %s: %v", path, key, err)
	}
	return d
}

var pairsWith = regexp.MustCompile(`ftpsgw-pairs-with:\s*deploy/(\S+)`)

// pairedExample is the example config a deployment file declares it pairs
// with ("ftpsgw-pairs-with: deploy/examples/X.hcl").
func pairedExample(t *testing.T, path string) string {
	t.Helper()
	m := pairsWith.FindStringSubmatch(readFile(t, path))
	if m == nil {
		t.Fatalf("%s: no ftpsgw-pairs-with line", path)
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Fatalf("%s pairs with a missing file: %v", path, err)
	}
	return m[1]
}

// TestPassiveRangesMatchExamples: every firewall rule, EXPOSE, Service and
// NetworkPolicy port list and the HAProxy notes carry exactly the passive
// port_range of the example config they pair with.
func TestPassiveRangesMatchExamples(t *testing.T) {
	one := func(re string) func(*testing.T, string) []portRange {
		return func(t *testing.T, s string) []portRange {
			var out []portRange
			for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(s, -1) {
				out = append(out, portRange{atoi(t, m[1]), atoi(t, m[2])})
			}
			return out
		}
	}
	cases := []struct {
		file    string
		extract func(*testing.T, string) []portRange
	}{
		{"firewall/nftables.conf", one(`(?m)^define PASSIVE = (\d+)-(\d+)\s*$`)},
		{"firewall/iptables.rules", one(`(?m)^-A INPUT -p tcp --dport (\d+):(\d+) `)},
		{"container/Containerfile", func(t *testing.T, s string) []portRange {
			var out []portRange
			for _, ins := range containerfile(s) {
				if ins.op != "EXPOSE" {
					continue
				}
				for _, f := range strings.Fields(ins.args) {
					if lo, hi, ok := strings.Cut(strings.TrimSuffix(f, "/tcp"), "-"); ok {
						out = append(out, portRange{atoi(t, lo), atoi(t, hi)})
					}
				}
			}
			return out
		}},
		{"kubernetes/service.yaml", func(t *testing.T, s string) []portRange {
			var svc service
			decodeYAML(t, s, &svc)
			var ps []int
			for _, p := range svc.Spec.Ports {
				if p.Name == "ftp" {
					continue
				}
				if p.TargetPort.Value != strconv.Itoa(p.Port) {
					t.Errorf("service.yaml: passive port %d targets %s: the announced port must be the pod's port", p.Port, p.TargetPort.Value)
				}
				ps = append(ps, p.Port)
			}
			slices.Sort(ps)
			if len(ps) == 0 || len(ps) != ps[len(ps)-1]-ps[0]+1 || len(slices.Compact(slices.Clone(ps))) != len(ps) {
				t.Errorf("service.yaml: passive ports %v are not one contiguous range", ps)
				return nil
			}
			return []portRange{{ps[0], ps[len(ps)-1]}}
		}},
		{"kubernetes/networkpolicy.yaml", one(`(?m)port: (\d+)\n\s+endPort: (\d+)`)},
		{"haproxy/haproxy.cfg", one(`ftpsgw-passive-range: (\d+)-(\d+)`)},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ex := pairedExample(t, c.file)
			want := exampleRange(t, ex)
			got := c.extract(t, readFile(t, c.file))
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s: passive ranges %v, want exactly [%s] from %s", c.file, got, want, ex)
			}
		})
	}
}

// TestExampleRanges: every example config sets a passive range, so every
// deployment file can pair with one.
func TestExampleRanges(t *testing.T) {
	files, _ := filepath.Glob("examples/*.hcl")
	if len(files) < 5 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		exampleRange(t, f)
	}
}

type instruction struct {
	op, args string
	line     int
}

// containerfile splits a Containerfile into instructions, joining
// continuation lines and dropping comments.
func containerfile(s string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(s))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(l, `\`) {
			cur.WriteString(strings.TrimSuffix(l, `\`) + " ")
			continue
		}
		cur.WriteString(l)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(op), strings.TrimSpace(args), start})
		cur.Reset()
	}
	return out
}

func TestContainerfile(t *testing.T) {
	ins := containerfile(readFile(t, "container/Containerfile"))
	var froms []int
	for i, in := range ins {
		switch in.op {
		case "FROM":
			froms = append(froms, i)
		case "ADD":
			t.Errorf("line %d: ADD %s: use COPY (ADD fetches URLs and unpacks archives)", in.line, in.args)
		}
		if strings.Contains(in.args, "http://") || strings.Contains(in.args, "https://") {
			t.Errorf("line %d: %s fetches from the network outside the Go module proxy: %s", in.line, in.op, in.args)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM", len(froms))
	}
	build := ins[froms[0]].args
	if !regexp.MustCompile(`^\S*golang:\$\{GO_VERSION\}\S* AS \w+$`).MatchString(build) {
		t.Errorf("build stage %q: want golang:${GO_VERSION} AS name", build)
	}
	var goVersion string
	for _, in := range ins[:froms[0]] {
		if v, ok := strings.CutPrefix(in.args, "GO_VERSION="); ok && in.op == "ARG" {
			goVersion = v
		}
	}
	if goVersion != "1.26" {
		t.Errorf("ARG GO_VERSION=%q, want 1.26 (go.mod's go 1.26.x)", goVersion)
	}
	final := ins[froms[len(froms)-1]:]
	if base := final[0].args; !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("final stage from %q: want distroless/static or scratch", base)
	}

	var buildCmd string
	for _, in := range ins {
		if in.op == "RUN" && strings.Contains(in.args, "go build") {
			buildCmd = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/ftpsgw"} {
		if !strings.Contains(buildCmd, want) {
			t.Errorf("go build %q lacks %s", buildCmd, want)
		}
	}
	// The -X path must name the variable cmd/ftpsgw really has.
	if !regexp.MustCompile(`(?m)^package main$`).MatchString(readFile(t, "../cmd/ftpsgw/main.go")) ||
		!regexp.MustCompile(`(?m)^var version = "`).MatchString(readFile(t, "../cmd/ftpsgw/main.go")) {
		t.Error(`cmd/ftpsgw/main.go no longer has package main's var version = "...": fix -X main.version`)
	}

	last := map[string]instruction{}
	var volumes, expose []string
	for _, in := range final {
		last[in.op] = in
		switch in.op {
		case "VOLUME":
			volumes = append(volumes, jsonArray(t, in.args)...)
		case "EXPOSE":
			expose = append(expose, strings.Fields(in.args)...)
		}
	}
	user, ok := last["USER"]
	if !ok {
		t.Fatal("final stage has no USER")
	}
	if u, _, _ := strings.Cut(user.args, ":"); u != "65532" {
		t.Errorf("USER %s: want 65532 (non-root, numeric so runAsNonRoot can verify it)", user.args)
	}
	if ep := jsonArray(t, last["ENTRYPOINT"].args); !slices.Equal(ep, []string{"/usr/local/bin/ftpsgw", "serve", "-config", "/etc/ftpsgw/ftpsgw.hcl"}) {
		t.Errorf("ENTRYPOINT %q", ep)
	}
	for _, v := range []string{"/etc/ftpsgw", "/var/lib/ftpsgw"} {
		if !slices.Contains(volumes, v) {
			t.Errorf("VOLUME lacks %s: %v", v, volumes)
		}
	}
	ex := pairedExample(t, "container/Containerfile")
	_, port, _ := strings.Cut(hclListen(t, ex), ":")
	_, mport, _ := strings.Cut(hclString(t, ex, "listen"), ":")
	for _, p := range []string{port, mport} {
		if !slices.Contains(expose, p) {
			t.Errorf("EXPOSE %v lacks %s, a listener of %s", expose, p, ex)
		}
	}
}

// hclListen is the first control listener of an example config.
func hclListen(t *testing.T, path string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*listen\s*=\s*\["([^"]+)"`).FindStringSubmatch(readFile(t, path))
	if m == nil {
		t.Fatalf("%s: no server listen list", path)
	}
	return m[1]
}

func jsonArray(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	if err := yaml.Unmarshal([]byte(s), &out); err != nil || !strings.HasPrefix(s, "[") {
		t.Fatalf("want exec (JSON array) form, got %q", s)
	}
	return out
}

// unitKeys parses a systemd unit into key -> values (repeated keys keep
// every value).
func unitKeys(s string) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == ';' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok {
			out[strings.TrimSpace(k)] = append(out[strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	const unit = "systemd/ftpsgw.service"
	keys := unitKeys(readFile(t, unit))
	const cfg = "-config /etc/ftpsgw/ftpsgw.hcl"
	want := map[string]string{
		"Type":                    "exec",
		"ExecStart":               "/usr/local/bin/ftpsgw serve " + cfg,
		"ExecStartPre":            "/usr/local/bin/ftpsgw check-config " + cfg,
		"KillSignal":              "SIGTERM",
		"Restart":                 "on-failure",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectControlGroups":    "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"MemoryDenyWriteExecute":  "yes",
		"LockPersonality":         "yes",
		"SystemCallArchitectures": "native",
		"StateDirectory":          "ftpsgw",
	}
	for k, v := range want {
		if got := keys[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if !slices.Contains(keys["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%q lacks @system-service", keys["SystemCallFilter"])
	}
	if !slices.Contains(keys["ExecReload"], "/bin/kill -HUP $MAINPID") {
		t.Errorf("ExecReload=%q lacks /bin/kill -HUP $MAINPID", keys["ExecReload"])
	}
	if u := keys["User"]; len(u) != 1 || u[0] == "root" || u[0] == "0" {
		t.Errorf("User=%q: want a dedicated unprivileged user", u)
	}
	if len(keys["ReadWritePaths"]) == 0 {
		t.Error("no ReadWritePaths for the backend root")
	}
	// TimeoutStopSec: above the drain timeout, not absurdly so.
	stop := time.Duration(atoi(t, keys["TimeoutStopSec"][0])) * time.Second
	for _, ex := range []string{"examples/full.hcl", "examples/haproxy.hcl"} {
		if d := hclDuration(t, ex, "drain_timeout"); stop <= d || stop > d+2*time.Minute {
			t.Errorf("TimeoutStopSec=%s, want a little above %s's drain_timeout %s", stop, ex, d)
		}
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit checked by parsing only")
		return
	}
	// verify needs the binary to exist: point the unit at a stand-in.
	dir := t.TempDir()
	bin := filepath.Join(dir, "ftpsgw")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	u := strings.ReplaceAll(readFile(t, unit), "/usr/local/bin/ftpsgw", bin)
	path := filepath.Join(dir, "ftpsgw.service")
	if err := os.WriteFile(path, []byte(u), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ftpsgw") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// haproxyConfig splits an HAProxy config into sections (keyword line ->
// its indented lines, comments dropped).
func haproxyConfig(s string) map[string][]string {
	out := map[string][]string{}
	var cur string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "#"); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			cur = strings.Join(strings.Fields(l), " ")
			out[cur] = nil
			continue
		}
		out[cur] = append(out[cur], strings.Join(strings.Fields(l), " "))
	}
	return out
}

func TestHAProxyConfig(t *testing.T) {
	const cfg = "haproxy/haproxy.cfg"
	sec := haproxyConfig(readFile(t, cfg))
	ex := pairedExample(t, cfg)
	idle := hclDuration(t, ex, "idle_timeout")
	timeouts := map[string]time.Duration{}
	for _, l := range sec["defaults"] {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "timeout" {
			d, err := time.ParseDuration(f[2])
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			timeouts[f[1]] = d
		}
	}
	if !slices.Contains(sec["defaults"], "mode tcp") {
		t.Error("defaults: want mode tcp")
	}
	for _, k := range []string{"client", "server"} {
		if timeouts[k] <= idle {
			t.Errorf("timeout %s %s: want above the gateway's idle_timeout %s", k, timeouts[k], idle)
		}
	}
	if timeouts["tunnel"] < time.Hour {
		t.Errorf("timeout tunnel %s: control connections stay silent through whole transfers; want hours", timeouts["tunnel"])
	}
	var servers int
	for name, lines := range sec {
		if strings.HasPrefix(name, "frontend") {
			for _, l := range lines {
				if strings.HasPrefix(l, "bind ") && l != "bind :21" {
					t.Errorf("%s: %q: HAProxy carries the control port 21 only; passive ports go straight to the gateways", name, l)
				}
			}
		}
		if !strings.HasPrefix(name, "backend") {
			continue
		}
		proxied := slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, "default-server ") && strings.Contains(l, " send-proxy-v2")
		})
		for _, l := range lines {
			if strings.HasPrefix(l, "server ") {
				servers++
				if !proxied && !strings.Contains(l, " send-proxy-v2") {
					t.Errorf("%s: %q sends no PROXY v2 header", name, l)
				}
			}
		}
	}
	if servers == 0 {
		t.Error("no servers")
	}
	if !regexp.MustCompile(`(?s)proxy_protocol\s*\{[^}]*trusted_cidrs\s*=\s*\["`).MatchString(readFile(t, ex)) {
		t.Errorf("%s: no proxy_protocol { trusted_cidrs = [...] }", ex)
	}

	haproxy := testkit.RequireTool(t, "haproxy")
	if out, err := exec.Command(haproxy, "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c -f %s: %v\n%s", cfg, err, out)
	}
}

// Kubernetes shapes, only the fields the tests read.

type intOrString struct{ Value string }

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error { v.Value = n.Value; return nil }

type secContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	RunAsUser                *int  `yaml:"runAsUser"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Capabilities             struct {
		Add  []string `yaml:"add"`
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
	SeccompProfile struct {
		Type string `yaml:"type"`
	} `yaml:"seccompProfile"`
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

type container struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	SecurityContext secContext `yaml:"securityContext"`
	LivenessProbe   *probe     `yaml:"livenessProbe"`
	ReadinessProbe  *probe     `yaml:"readinessProbe"`
	VolumeMounts    []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
}

type deployment struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Replicas int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				HostNetwork                   bool        `yaml:"hostNetwork"`
				SecurityContext               secContext  `yaml:"securityContext"`
				InitContainers                []container `yaml:"initContainers"`
				Containers                    []container `yaml:"containers"`
				Volumes                       []struct {
					Name      string                 `yaml:"name"`
					ConfigMap *struct{ Name string } `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Type                  string            `yaml:"type"`
		ExternalTrafficPolicy string            `yaml:"externalTrafficPolicy"`
		LoadBalancerIP        string            `yaml:"loadBalancerIP"`
		Selector              map[string]string `yaml:"selector"`
		Ports                 []struct {
			Name       string      `yaml:"name"`
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

func decodeYAML(t *testing.T, s string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(false)
	if err := dec.Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestKubernetesManifests(t *testing.T) {
	const ex = "examples/kubernetes.hcl"
	files, _ := filepath.Glob("kubernetes/*.yaml")
	kinds := map[string]string{}
	for _, f := range files {
		var m struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		decodeYAML(t, readFile(t, f), &m)
		if m.APIVersion == "" || m.Kind == "" {
			t.Errorf("%s: no apiVersion/kind", f)
		}
		if m.Metadata.Namespace != "" {
			t.Errorf("%s: sets namespace %q; the manifests are namespace-agnostic", f, m.Metadata.Namespace)
		}
		kinds[m.Kind] = f
	}
	for _, k := range []string{"ConfigMap", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "PersistentVolumeClaim", "Kustomization", "Secret"} {
		if kinds[k] == "" {
			t.Errorf("no %s manifest", k)
		}
	}

	// The ConfigMap ships the example config verbatim.
	var cm struct {
		Metadata struct{ Name string } `yaml:"metadata"`
		Data     map[string]string     `yaml:"data"`
	}
	decodeYAML(t, readFile(t, "kubernetes/configmap.yaml"), &cm)
	if cm.Data["ftpsgw.hcl"] != readFile(t, ex) {
		t.Errorf("configmap.yaml data ftpsgw.hcl differs from %s", ex)
	}

	var d deployment
	decodeYAML(t, readFile(t, "kubernetes/deployment.yaml"), &d)
	ps := d.Spec.Template.Spec
	if d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" || ps.HostNetwork {
		t.Errorf("replicas %d, strategy %q: one pod per LoadBalancer address", d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	if drain := hclDuration(t, ex, "drain_timeout"); time.Duration(ps.TerminationGracePeriodSeconds)*time.Second <= drain {
		t.Errorf("terminationGracePeriodSeconds %d: want above drain_timeout %s", ps.TerminationGracePeriodSeconds, drain)
	}
	if sc := ps.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile.Type != "RuntimeDefault" ||
		sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault", sc)
	}
	_, metricsPort, _ := strings.Cut(hclString(t, ex, "listen"), ":")
	_, ftpPort, _ := strings.Cut(hclListen(t, ex), ":")
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
		sc := c.SecurityContext
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			!slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 ||
			sc.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("container %s securityContext %+v: want runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, drop ALL, seccomp RuntimeDefault", c.Name, sc)
		}
	}
	c := ps.Containers[0]
	ports := map[string]string{}
	for _, p := range c.Ports {
		ports[p.Name] = strconv.Itoa(p.ContainerPort)
	}
	if ports["ftp"] != ftpPort || ports["metrics"] != metricsPort {
		t.Errorf("container ports %v, want ftp %s and metrics %s from %s", ports, ftpPort, metricsPort, ex)
	}
	for name, pr := range map[string]struct {
		p    *probe
		path string
	}{"liveness": {c.LivenessProbe, "/healthz"}, "readiness": {c.ReadinessProbe, "/readyz"}} {
		if pr.p == nil || pr.p.HTTPGet == nil || pr.p.HTTPGet.Path != pr.path ||
			(pr.p.HTTPGet.Port.Value != "metrics" && pr.p.HTTPGet.Port.Value != metricsPort) {
			t.Errorf("%s probe: want GET %s on the metrics port %s", name, pr.path, metricsPort)
		}
	}
	if a := d.Spec.Template.Metadata.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != metricsPort {
		t.Errorf("pod annotations %v: want prometheus.io/scrape and port %s", a, metricsPort)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || (m.MountPath == "/etc/ftpsgw/ftpsgw.hcl" && m.SubPath == "ftpsgw.hcl")
	}
	if !mounted {
		t.Error("the ConfigMap is not mounted at /etc/ftpsgw/ftpsgw.hcl (the image's -config)")
	}

	var svc service
	decodeYAML(t, readFile(t, "kubernetes/service.yaml"), &svc)
	if svc.Spec.Type != "LoadBalancer" || svc.Spec.ExternalTrafficPolicy != "Local" {
		t.Errorf("service type %q, externalTrafficPolicy %q: want LoadBalancer, Local (keep client addresses)", svc.Spec.Type, svc.Spec.ExternalTrafficPolicy)
	}
	if pub := hclString(t, ex, "public_address"); svc.Spec.LoadBalancerIP != pub {
		t.Errorf("loadBalancerIP %q, want the config's public_address %q", svc.Spec.LoadBalancerIP, pub)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p struct {
		Name       string      `yaml:"name"`
		Port       int         `yaml:"port"`
		TargetPort intOrString `yaml:"targetPort"`
	}) bool {
		return p.Name == "ftp" && p.TargetPort.Value == ftpPort
	}) {
		t.Errorf("service: no ftp port targeting %s", ftpPort)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("service selector %s=%s does not match the pod", k, v)
		}
	}
}
