package policy

import "testing"

// BenchmarkDecideChecked complements BenchmarkDecide: one sub-benchmark
// per kind of decision the gateway takes per command, each checked, so a
// broken evaluation cannot benchmark fast. "hidden-ancestor" walks every
// ancestor of a deep path; "ldap" resolves the groups by name; "lists"
// falls through every rule to the permission lists.
func BenchmarkDecideChecked(b *testing.B) {
	p := mustCompile(b, decideConfig(b))
	ldap := &Identity{User: "lr", Source: "ldap", Groups: []string{"readers", "writers"}}
	for _, tc := range []struct {
		name string
		id   *Identity
		perm Perm
		path string
		want outcome
	}{
		{"user-rule", fileID("alice"), PermUpload, "/incoming/a/b/c.bin", allow},
		{"group-rule", fileID("alice"), PermUpload, "/pub/x", deny},
		{"hidden-ancestor", fileID("alice"), PermDownload, "/pub/secret/deep/a/b/c.txt", hidden},
		{"deep-allowed", fileID("alice"), PermDelete, "/a/b/c/d/e/f/g/h/i/j.txt", allow},
		{"lists", fileID("bob"), PermList | PermUpload, "/home/files/sub/dir/x.bin", allow},
		{"ldap", ldap, PermDownload, "/pub/reports/2026/q4.csv", allow},
		{"default-deny", fileID("carol"), PermDownload, "/pub/x", deny},
		{"unknown-user", fileID("nobody"), PermList, "/", deny},
	} {
		b.Run(tc.name, func(b *testing.B) {
			got := func() outcome {
				d := p.Decide(tc.id, tc.perm, tc.path)
				switch {
				case d.Hidden:
					return hidden
				case d.Allowed:
					return allow
				}
				return deny
			}
			if o := got(); o != tc.want {
				b.Fatalf("Decide(%s, %v, %s) = %v, want %v", tc.id.User, tc.perm, tc.path, o, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(tc.id, tc.perm, tc.path)
			}
			if o := got(); o != tc.want {
				b.Fatal(o)
			}
		})
	}
}

// BenchmarkRenameAllowed decides RNTO as a whole, subtree check included.
func BenchmarkRenameAllowed(b *testing.B) {
	p := mustCompile(b, renameConfig(b))
	for _, tc := range []struct {
		name     string
		user     string
		from, to string
		want     bool
	}{
		{"same-rule", "alice", "/incoming/a.bin", "/incoming/sub/b.bin", true},
		{"reveals-hidden", "alice", "/docs", "/docs2", false},
		{"across-rules", "alice", "/a/x", "/b/x", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			id := fileID(tc.user)
			if d := p.RenameAllowed(id, tc.from, tc.to); d.Allowed != tc.want {
				b.Fatalf("RenameAllowed(%s, %s, %s) = %+v, want allowed %v", tc.user, tc.from, tc.to, d, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				p.RenameAllowed(id, tc.from, tc.to)
			}
		})
	}
}
