package gateway

import (
	"errors"
	"path"
	"strings"
)

// Limits on client-supplied paths.
const (
	maxPathLen    = 1024 // bytes in a resolved virtual path
	maxElementLen = 255  // bytes in one path element
)

// errBadPath: the client's path cannot be resolved (too long, element too
// long). NUL and control bytes never get this far (lineproto refuses them).
var errBadPath = errors.New("invalid path")

// vpath is a resolved virtual path: absolute, clean, slash-separated, "/"
// being the user's home. Only resolve builds one, so handlers and backends
// never see an unresolved client string.
type vpath struct {
	p string
}

var rootPath = vpath{p: "/"}

// String is the path as the user sees it.
func (v vpath) String() string { return v.p }

// name is the backend name: relative to the home, "." for the home itself.
func (v vpath) name() string {
	if v.p == "/" {
		return "."
	}
	return v.p[1:]
}

// base is the last element ("/" for the root).
func (v vpath) base() string { return path.Base(v.p) }

// parent is the containing directory (the root is its own parent).
func (v vpath) parent() vpath { return vpath{p: path.Dir(v.p)} }

// child joins one plain entry name from a listing.
func (v vpath) child(name string) vpath { return vpath{p: path.Join(v.p, name)} }

// isRoot reports whether v is the user's home.
func (v vpath) isRoot() bool { return v.p == "/" }

// resolve turns a client argument into a virtual path relative to cwd.
// ".." never climbs above "/", repeated slashes collapse, and an empty
// argument means cwd.
func resolve(cwd vpath, arg string) (vpath, error) {
	if strings.IndexByte(arg, 0) >= 0 {
		return vpath{}, errBadPath
	}
	var p string
	switch {
	case strings.HasPrefix(arg, "/"):
		p = path.Clean(arg)
	case cwd.p == "":
		p = path.Join(cwd.p, arg)
	case arg == "":
		p = path.Clean(cwd.p) // path.Join(cwd.p, arg), without its copy
	default:
		p = path.Clean(cwd.p + "/" + arg) // path.Join(cwd.p, arg), one copy fewer
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p) // "/.." -> "/"; no copy when already clean
	if len(p) > maxPathLen || !elementsFit(p) {
		return vpath{}, errBadPath
	}
	return vpath{p: p}, nil
}

// elementsFit reports whether no element of the absolute path p is longer
// than maxElementLen.
func elementsFit(p string) bool {
	for rest := p[1:]; ; {
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return len(rest) <= maxElementLen
		}
		if i > maxElementLen {
			return false
		}
		rest = rest[i+1:]
	}
}
