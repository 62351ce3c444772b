package policy

import (
	"testing"
)

// decideConfig is the fixture of the decision table.
func decideConfig(t testing.TB) Config {
	h := cheapHash(t, "pw")
	return Config{
		Groups: []GroupConfig{
			{Name: "readers", Permissions: []string{"list", "download"}, Rules: []RuleConfig{
				r("/pub/**", "list", "download"),
				r("/pub/secret"),
			}},
			{Name: "writers", Permissions: []string{"upload", "mkdir"}, Rules: []RuleConfig{
				r("/drop/**", "list", "upload"),
			}},
			{Name: "ops", Permissions: []string{"*"}},
		},
		Users: []UserConfig{
			{Name: "alice", PasswordHash: h, Groups: []string{"readers"},
				Permissions: []string{"list", "download", "upload", "mkdir"},
				Rules: []RuleConfig{
					r("/incoming/**", "list", "upload"),
					r("/**/*.exe"),
					r("/private/**"),
					r("/docs/*.txt", "list", "download", "overwrite"),
					r("/docs/**", "list", "download"),
					r("/a/*/c", "list"),
					r("/a/b/**", "list", "download", "delete"),
					r("/tie/*.log", "list", "download"),
					r("/tie/app.*", "list", "delete"),
					r("/ren/src/**", "list", "rename"),
					r("/ren/dst/**", "list"),
					r("/ünïcode/**", "list", "download", "upload"),
					r("/Case/**", "list", "delete"),
					r("/hide"),
					r("/hide/inside/**", "*"),
				}},
			{Name: "bob", PasswordHash: h, Groups: []string{"readers", "writers"}},
			{Name: "carol", PasswordHash: h},
			{Name: "dave", PasswordHash: h, Groups: []string{"ops"}, Rules: []RuleConfig{r("/**", "list")}},
			{Name: "erin", PasswordHash: h, Groups: []string{"readers"}, Rules: []RuleConfig{r("/pub/**", "*")}},
			{Name: "gina", PasswordHash: h, Rules: []RuleConfig{
				r("/x/**/y", "list"),
				r("/s/*", "download"),
				r("/s/*/**", "delete"),
				r("/m*d*le", "list"),
				r("/deep/**/**/z", "list"),
				r("/", "list"),
				r("/**/tmp/**", "delete"),
				r("/q/**/r/**/t", "download"),
			}},
		},
		Anonymous: &AnonymousConfig{Backend: "files", Permissions: []string{"list", "download"}},
		LDAP:      &LDAPConfig{URL: "ldaps://127.0.0.1:1", BindDNTemplate: "uid={user},dc=test"},
	}
}

func fileID(name string) *Identity { return &Identity{User: name, Source: "file"} }

// outcome of a decision in the table.
type outcome int

const (
	deny outcome = iota
	allow
	hidden
)

func (o outcome) String() string { return [...]string{"deny", "allow", "hidden"}[o] }

func TestDecideTable(t *testing.T) {
	p := mustCompile(t, decideConfig(t))
	anon := &Identity{User: "anonymous", Source: "anonymous"}
	ldapW := &Identity{User: "lw", Source: "ldap", Groups: []string{"writers"}}
	ldapR := &Identity{User: "lr", Source: "ldap", Groups: []string{"readers", "nosuchgroup"}}
	ldapX := &Identity{User: "lx", Source: "ldap", Groups: []string{"nosuchgroup"}}
	const nfdU = "u\u0308" // ü decomposed
	cases := []struct {
		id     *Identity
		perm   Perm
		path   string
		want   outcome
		reason string // "" : not checked
	}{
		// alice: lists, user rules, group rules as fallback
		{fileID("alice"), PermList, "/", allow, "user:alice"},
		{fileID("alice"), PermUpload, "/file.txt", allow, "user:alice"},
		{fileID("alice"), PermMkdir, "/newdir", allow, "user:alice"},
		{fileID("alice"), PermDelete, "/file.txt", deny, "default"},
		{fileID("alice"), PermRmdir, "/dir", deny, "default"},
		{fileID("alice"), PermDownload, "/x.exe", hidden, "rule:/**/*.exe (user alice)"},
		{fileID("alice"), PermList, "/dir/sub/x.exe", hidden, ""},
		{fileID("alice"), PermList, "/.exe", hidden, ""},
		{fileID("alice"), PermList, "/x.exe/inside", hidden, "rule:/**/*.exe (user alice)"},
		{fileID("alice"), PermList, "/x.EXE", allow, "user:alice"},
		{fileID("alice"), PermList, "/a.exe.txt", allow, ""},
		{fileID("alice"), PermUpload, "/incoming/x.exe", allow, "rule:/incoming/** (user alice)"},
		{fileID("alice"), PermDownload, "/incoming/file", deny, "rule:/incoming/** (user alice)"},
		{fileID("alice"), PermList, "/incoming", allow, "rule:/incoming/** (user alice)"},
		{fileID("alice"), PermUpload, "/incoming/a/b/c", allow, ""},
		{fileID("alice"), PermMkdir, "/incoming/a", deny, ""},
		{fileID("alice"), PermUpload, "/incomingx/file", allow, "user:alice"},
		{fileID("alice"), PermMkdir, "/incomingx", allow, "user:alice"},
		{fileID("alice"), PermList, "/private", hidden, "rule:/private/** (user alice)"},
		{fileID("alice"), PermList, "/private/x/y", hidden, ""},
		{fileID("alice"), PermUpload, "/private/new", hidden, ""},
		{fileID("alice"), PermList, "/privatex", allow, ""},
		{fileID("alice"), PermOverwrite, "/docs/a.txt", allow, "rule:/docs/*.txt (user alice)"},
		{fileID("alice"), PermOverwrite, "/docs/a.md", deny, "rule:/docs/** (user alice)"},
		{fileID("alice"), PermOverwrite, "/docs/sub/a.txt", deny, "rule:/docs/** (user alice)"},
		{fileID("alice"), PermDownload, "/docs/sub/a.txt", allow, ""},
		{fileID("alice"), PermUpload, "/docs/new", deny, ""},
		{fileID("alice"), PermList, "/docs", allow, "rule:/docs/** (user alice)"},
		{fileID("alice"), PermOverwrite, "/docs/.txt", allow, ""},
		{fileID("alice"), PermList, "/a/x/c", allow, "rule:/a/*/c (user alice)"},
		{fileID("alice"), PermDownload, "/a/x/c", deny, "rule:/a/*/c (user alice)"},
		{fileID("alice"), PermList, "/a/b/c", allow, "rule:/a/*/c (user alice)"},
		{fileID("alice"), PermDelete, "/a/b/c", deny, "rule:/a/*/c (user alice)"},
		{fileID("alice"), PermDelete, "/a/b/d", allow, "rule:/a/b/** (user alice)"},
		{fileID("alice"), PermDelete, "/a/b", allow, "rule:/a/b/** (user alice)"},
		{fileID("alice"), PermDelete, "/a/b/c/d", allow, "rule:/a/b/** (user alice)"},
		{fileID("alice"), PermDelete, "/a", deny, "default"},
		{fileID("alice"), PermList, "/a/x/c/d", allow, "user:alice"},
		{fileID("alice"), PermList, "/tie/app.log", allow, ""},
		{fileID("alice"), PermDownload, "/tie/app.log", deny, ""},
		{fileID("alice"), PermDelete, "/tie/app.log", deny, ""},
		{fileID("alice"), PermDownload, "/tie/x.log", allow, "rule:/tie/*.log (user alice)"},
		{fileID("alice"), PermDelete, "/tie/app.txt", allow, "rule:/tie/app.* (user alice)"},
		{fileID("alice"), PermRename, "/ren/src/f", allow, ""},
		{fileID("alice"), PermRename, "/ren/dst/f", deny, ""},
		{fileID("alice"), PermRename, "/f", deny, "default"},
		{fileID("alice"), PermDownload, "/ünïcode/f", allow, "rule:/ünïcode/** (user alice)"},
		{fileID("alice"), PermUpload, "/ünïcode/ü", allow, ""},
		{fileID("alice"), PermMkdir, "/ünïcode/x", deny, "rule:/ünïcode/** (user alice)"},
		{fileID("alice"), PermMkdir, "/" + nfdU + "nïcode/x", allow, "user:alice"},
		{fileID("alice"), PermMkdir, "/ÜNÏCODE/x", allow, "user:alice"},
		{fileID("alice"), PermDelete, "/Case/f", allow, "rule:/Case/** (user alice)"},
		{fileID("alice"), PermDelete, "/case/f", deny, "default"},
		{fileID("alice"), PermDelete, "/CASE/f", deny, "default"},
		{fileID("alice"), PermList, "/hide", hidden, "rule:/hide (user alice)"},
		{fileID("alice"), PermList, "/hide/inside", hidden, "rule:/hide (user alice)"},
		{fileID("alice"), PermDelete, "/hide/inside/x", hidden, "rule:/hide (user alice)"},
		{fileID("alice"), PermList, "/hide/other", hidden, ""},
		{fileID("alice"), PermList, "/hidex", allow, ""},
		{fileID("alice"), PermList, "/pub/x", allow, "rule:/pub/** (group readers)"},
		{fileID("alice"), PermUpload, "/pub/x", deny, "rule:/pub/** (group readers)"},
		{fileID("alice"), PermList, "/pub", allow, "rule:/pub/** (group readers)"},
		{fileID("alice"), PermList, "/pub/secret", hidden, "rule:/pub/secret (group readers)"},
		{fileID("alice"), PermDownload, "/pub/secret/y", hidden, "rule:/pub/secret (group readers)"},
		{fileID("alice"), PermList, "/pub/secretx", allow, ""},
		{fileID("alice"), PermList, "/pub/x.exe", hidden, "rule:/**/*.exe (user alice)"},
		{fileID("alice"), PermNone, "/", deny, ""},
		{fileID("alice"), PermList | PermDownload, "/docs/x", allow, ""},
		{fileID("alice"), PermList | PermUpload, "/docs/x", deny, ""},
		{fileID("alice"), PermAll, "/", deny, ""},
		{fileID("alice"), PermList, "relative", deny, "default"},
		{fileID("alice"), PermList, "", deny, "default"},
		{fileID("alice"), PermList, "/nul\x00byte", deny, "default"},
		// bob: groups only
		{fileID("bob"), PermList, "/", allow, "group:readers"},
		{fileID("bob"), PermUpload, "/x", allow, "group:writers"},
		{fileID("bob"), PermMkdir, "/x", allow, "group:writers"},
		{fileID("bob"), PermDelete, "/x", deny, "default"},
		{fileID("bob"), PermUpload, "/pub/x", deny, "rule:/pub/** (group readers)"},
		{fileID("bob"), PermDownload, "/pub/x", allow, ""},
		{fileID("bob"), PermList, "/pub/secret", hidden, ""},
		{fileID("bob"), PermUpload, "/drop/f", allow, "rule:/drop/** (group writers)"},
		{fileID("bob"), PermDownload, "/drop/f", deny, "rule:/drop/** (group writers)"},
		{fileID("bob"), PermList, "/x.exe", allow, ""},
		{fileID("bob"), PermList | PermUpload, "/", allow, "user:bob"},
		{fileID("bob"), PermRename, "/ren/src/f", deny, "default"},
		// carol: nothing
		{fileID("carol"), PermList, "/", deny, "default"},
		{fileID("carol"), PermDownload, "/pub/x", deny, "default"},
		// dave: a user rule beats the group's "*"
		{fileID("dave"), PermDelete, "/x", deny, "rule:/** (user dave)"},
		{fileID("dave"), PermList, "/x", allow, "rule:/** (user dave)"},
		{fileID("dave"), PermList, "/", allow, "rule:/** (user dave)"},
		// erin: user rule before the group's hidden rule
		{fileID("erin"), PermDelete, "/pub/x", allow, "rule:/pub/** (user erin)"},
		{fileID("erin"), PermList, "/pub/secret", allow, "rule:/pub/** (user erin)"},
		{fileID("erin"), PermDelete, "/other", deny, "default"},
		// gina: glob edge cases, no lists
		{fileID("gina"), PermList, "/x/y", allow, "rule:/x/**/y (user gina)"},
		{fileID("gina"), PermList, "/x/a/y", allow, ""},
		{fileID("gina"), PermList, "/x/a/b/y", allow, ""},
		{fileID("gina"), PermList, "/x/y/z", deny, "default"},
		{fileID("gina"), PermList, "/xy", deny, "default"},
		{fileID("gina"), PermList, "/x", deny, "default"},
		{fileID("gina"), PermList, "/x/yy", deny, "default"},
		{fileID("gina"), PermDownload, "/s/a", allow, "rule:/s/* (user gina)"},
		{fileID("gina"), PermDownload, "/s", deny, "default"},
		{fileID("gina"), PermDelete, "/s/a", deny, "rule:/s/* (user gina)"},
		{fileID("gina"), PermDelete, "/s/a/b", allow, "rule:/s/*/** (user gina)"},
		{fileID("gina"), PermDownload, "/s/a/b", deny, ""},
		{fileID("gina"), PermList, "/middle", allow, "rule:/m*d*le (user gina)"},
		{fileID("gina"), PermList, "/mdle", allow, ""},
		{fileID("gina"), PermList, "/mXdYle", allow, ""},
		{fileID("gina"), PermList, "/mddddle", allow, ""},
		{fileID("gina"), PermList, "/middlex", deny, "default"},
		{fileID("gina"), PermList, "/m/d/le", deny, "default"},
		{fileID("gina"), PermList, "/deep/z", allow, "rule:/deep/**/**/z (user gina)"},
		{fileID("gina"), PermList, "/deep/q/r/z", allow, ""},
		{fileID("gina"), PermList, "/deep/z/q", deny, ""},
		{fileID("gina"), PermList, "/", allow, "rule:/ (user gina)"},
		{fileID("gina"), PermDownload, "/", deny, "rule:/ (user gina)"},
		{fileID("gina"), PermDelete, "/tmp", allow, "rule:/**/tmp/** (user gina)"},
		{fileID("gina"), PermDelete, "/a/b/tmp/c/d", allow, ""},
		{fileID("gina"), PermDelete, "/a/tmpx/c", deny, ""},
		{fileID("gina"), PermDownload, "/q/r/t", allow, "rule:/q/**/r/**/t (user gina)"},
		{fileID("gina"), PermDownload, "/q/r/r/r/t", allow, ""},
		{fileID("gina"), PermDownload, "/q/a/r/b/c/t", allow, ""},
		{fileID("gina"), PermDownload, "/q/a/b/t", deny, ""},
		{fileID("gina"), PermDownload, "/q/r/t/x", deny, ""},
		// anonymous, LDAP identities, identities not in this snapshot
		{anon, PermDownload, "/x", allow, "anonymous"},
		{anon, PermUpload, "/x", deny, "default"},
		{anon, PermList, "/pub", allow, "anonymous"},
		{ldapW, PermUpload, "/drop/x", allow, "rule:/drop/** (group writers)"},
		{ldapW, PermUpload, "/x", allow, "group:writers"},
		{ldapW, PermDownload, "/x", deny, "default"},
		{ldapR, PermDownload, "/pub/a", allow, ""},
		{ldapR, PermList, "/pub/secret", hidden, ""},
		{ldapX, PermList, "/", deny, "default"},
		{fileID("zed"), PermList, "/", deny, "default"},
		{&Identity{User: "alice", Source: "other"}, PermList, "/", deny, "default"},
		{&Identity{User: "alice", Source: "anonymous"}, PermList, "/", allow, "anonymous"},
		{nil, PermList, "/", deny, "default"},
	}
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		name := "nil"
		if c.id != nil {
			name = c.id.User
		}
		d := p.Decide(c.id, c.perm, c.path)
		got := deny
		switch {
		case d.Hidden && d.Allowed:
			t.Errorf("%s %v %q: hidden and allowed", name, c.perm, c.path)
		case d.Hidden:
			got = hidden
		case d.Allowed:
			got = allow
		}
		if got != c.want || (c.reason != "" && d.Reason != c.reason) {
			t.Errorf("%s %v %q = %v (%s), want %v (%s)", name, c.perm, c.path, got, d.Reason, c.want, c.reason)
		}
	}
}

// TestRenameAcrossRules checks the gateway's rename rule: PermRename on
// both the source and the destination.
func TestRenameAcrossRules(t *testing.T) {
	p := mustCompile(t, decideConfig(t))
	rename := func(id *Identity, from, to string) bool {
		return p.Decide(id, PermRename, from).Allowed && p.Decide(id, PermRename, to).Allowed
	}
	cases := []struct {
		user, from, to string
		want           bool
	}{
		{"alice", "/ren/src/a", "/ren/src/b", true},
		{"alice", "/ren/src/a", "/ren/src/sub/b", true},
		{"alice", "/ren/src/a", "/ren/dst/a", false},
		{"alice", "/ren/dst/a", "/ren/src/a", false},
		{"alice", "/ren/src/a", "/private/a", false},
		{"alice", "/ren/src/a", "/ren/src/a.exe", true}, // /ren/src/** outranks /**/*.exe
		{"alice", "/ren/src/a", "/a.exe", false},
		{"bob", "/ren/src/a", "/ren/src/b", false},
		{"erin", "/pub/a", "/pub/b", true},
		{"erin", "/pub/a", "/elsewhere", false},
	}
	for _, c := range cases {
		if got := rename(fileID(c.user), c.from, c.to); got != c.want {
			t.Errorf("%s rename %s -> %s = %v, want %v", c.user, c.from, c.to, got, c.want)
		}
	}
}

func TestDecideAppliesReload(t *testing.T) {
	cfg := decideConfig(t)
	p1 := mustCompile(t, cfg)
	id := fileID("bob")
	if !p1.Decide(id, PermUpload, "/x").Allowed {
		t.Fatal("bob cannot upload before reload")
	}
	cfg.Users[1].Groups = []string{"readers"} // bob leaves writers
	p2 := mustCompile(t, cfg)
	if p2.Decide(id, PermUpload, "/x").Allowed {
		t.Fatal("bob keeps writers' upload after reload")
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p := mustCompile(t, decideConfig(t))
	id := fileID("alice")
	ldap := &Identity{User: "lr", Source: "ldap", Groups: []string{"readers"}}
	n := testing.AllocsPerRun(100, func() {
		p.Decide(id, PermDownload, "/pub/secret/deep/a/b/c.txt")
		p.Decide(id, PermUpload, "/incoming/a")
		p.Decide(ldap, PermList, "/pub/x")
		p.Decide(fileID("bob"), PermList|PermUpload, "/")
	})
	if n != 0 {
		t.Fatalf("Decide allocates %v times per run", n)
	}
}

func BenchmarkDecide(b *testing.B) {
	p := mustCompile(b, decideConfig(b))
	id := fileID("alice")
	paths := []string{"/", "/incoming/a/b/c.bin", "/docs/readme.txt", "/pub/secret/x", "/a/b/c/d/e/f/g/h.txt", "/dir/sub/x.exe"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Decide(id, PermDownload, paths[i%len(paths)])
		i++
	}
}
