package ftp

// The parsers themselves are tested in gateway/ftpclient; this is what
// this package does with their entries.

import "testing"

func TestInfoAndVisible(t *testing.T) {
	dir := info(entry{Name: "d", Kind: kindDir, Size: 4096})
	if !dir.IsDir() || dir.Size() != 0 || dir.Mode().Perm() != 0o755 {
		t.Errorf("dir info = %+v", dir)
	}
	if f := info(entry{Name: "f", Kind: kindFile, Size: 3}); !f.Mode().IsRegular() || f.Mode().Perm() != 0o644 {
		t.Errorf("file info = %+v", f)
	}
	for _, e := range []entry{
		{Name: ".", Kind: kindDir}, {Name: "..", Kind: kindDir}, {Name: "a/b", Kind: kindFile},
		{Name: "l", Kind: kindLink}, {Name: ".ftpsgw-up-x", Kind: kindFile}, {Name: "cr\rlf", Kind: kindFile},
		{Name: "", Kind: kindFile}, {Name: "dev", Kind: kindOther},
	} {
		if visible(e) {
			t.Errorf("%+v is visible", e)
		}
	}
	if !visible(entry{Name: ".hidden", Kind: kindFile}) {
		t.Errorf("dot files are not visible")
	}
}
