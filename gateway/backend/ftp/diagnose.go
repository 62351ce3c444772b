package ftp

import (
	"io/fs"
	"path"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// FTP replies say little: vsftpd answers "550 Delete operation failed."
// whether the file is missing, a directory or protected, and 553 to any
// failed upload. So when a command is refused, the backend looks at the
// files to say why (diagnosable in errors.go says which refusals), and
// the reply's table entry stands only when the files explain nothing.

// state is what a path is on the upstream, as far as it can tell.
type state int

const (
	stMissing state = iota // absent (or its parent is absent or a file)
	stFile
	stDir    // a directory the session can enter
	stLocked // listed in its parent, but it cannot be entered or stat'ed
	stDenied // unknown: its parent cannot be listed
)

// look finds what p is. Where FEAT offers MLST: by MLST, and when that
// fails, by CWD to the parent (enterable: p is missing). Else by SIZE (a
// file, with MDTM for its time) and CWD (a directory), and failing those
// by listing the parent, which finds what exists but cannot be reached
// (chmod 000). floor is the session's home, above which it never looks.
func (l *link) look(p, floor string) (entry, state, error) {
	if !l.feat.Has("MLST") {
		e, st, err := l.sizeOrCwd(p)
		if err != nil || st != stMissing {
			return e, st, err
		}
		if p == floor {
			return entry{}, stDenied, nil
		}
		return l.lookInParent(p, floor)
	}
	c, msg, err := l.cmd("MLST", p)
	switch {
	case err != nil:
		return entry{}, 0, err
	case c == 250:
		return mlstEntry(msg, p)
	case p == floor:
		return entry{}, stDenied, nil
	}
	// MLST needs only search permission on the parent: where CWD proves
	// that, the name is missing.
	dir := path.Dir(p)
	if c, _, err := l.cmd("CWD", dir); err != nil || c/100 == 2 {
		return entry{}, stMissing, err
	}
	return l.behindParent(dir, floor)
}

// mlstEntry reads an MLST reply: its fact line is the one that starts
// with a space.
func mlstEntry(msg, p string) (entry, state, error) {
	for _, line := range splitLines(msg) {
		if len(line) > 1 && line[0] == ' ' {
			e, err := ftpclient.ParseMLSx(line[1:])
			if err != nil {
				return entry{}, 0, err
			}
			e.Name = path.Base(p)
			switch e.Kind {
			case kindFile:
				return e, stFile, nil
			case kindDir, kindSelf:
				e.Kind = kindDir
				return e, stDir, nil
			}
			return e, stLocked, nil // a link or a device: not served
		}
	}
	return entry{}, 0, errParse
}

// sizeOrCwd tries SIZE, then CWD; stMissing means neither worked.
func (l *link) sizeOrCwd(p string) (entry, state, error) {
	c, msg, err := l.cmd("SIZE", p)
	if err != nil {
		return entry{}, 0, err
	}
	if c == 213 {
		e := entry{Name: path.Base(p), Kind: kindFile}
		if e.Size, err = ftpclient.ParseSize(msg); err != nil {
			return entry{}, 0, err
		}
		if c, msg, err := l.cmd("MDTM", p); err != nil {
			return entry{}, 0, err
		} else if c == 213 {
			e.MTime, _ = ftpclient.ParseTime(msg)
		}
		return e, stFile, nil
	}
	if c, _, err = l.cmd("CWD", p); err != nil {
		return entry{}, 0, err
	}
	if c/100 == 2 {
		return entry{Name: path.Base(p), Kind: kindDir}, stDir, nil
	}
	return entry{}, stMissing, nil
}

// lookInParent searches p's parent listing for p.
func (l *link) lookInParent(p, floor string) (entry, state, error) {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	var found *entry
	err := l.list(dir, func(e entry) bool {
		if e.Name == base {
			found = &e
			return false
		}
		return true
	})
	if !diagnosable(err) && err != nil {
		return entry{}, 0, err
	}
	if err == nil {
		if found == nil {
			return entry{}, stMissing, nil
		}
		return *found, stLocked, nil
	}
	return l.behindParent(dir, floor)
}

// behindParent is the state of a name whose parent dir cannot be
// entered or listed: missing when dir is, unknown (denied) otherwise.
func (l *link) behindParent(dir, floor string) (entry, state, error) {
	if dir == floor || !isUnder(dir, floor) {
		return entry{}, stDenied, nil
	}
	_, st, err := l.look(dir, floor)
	if err != nil {
		return entry{}, 0, err
	}
	if st == stMissing || st == stFile {
		return entry{}, stMissing, nil
	}
	return entry{}, stDenied, nil
}

// isUnder reports whether p is floor or below it.
func isUnder(p, floor string) bool {
	return p == floor || floor == "/" || len(p) > len(floor) && p[:len(floor)] == floor && p[len(floor)] == '/'
}

// dirProblem explains why a command needing the directory dir failed:
// nil when dir is a directory the session can enter, fs.ErrNotExist when
// it is missing or a file, fs.ErrPermission otherwise.
func (l *link) dirProblem(dir, floor string) (error, error) {
	c, _, err := l.cmd("CWD", dir)
	if err != nil {
		return nil, err
	}
	if c/100 == 2 {
		return nil, nil
	}
	_, st, err := l.look(dir, floor)
	if err != nil {
		return nil, err
	}
	if st == stMissing || st == stFile {
		return fs.ErrNotExist, nil
	}
	return fs.ErrPermission, nil
}

// explain runs a diagnosis for a refusal: err is returned refined by the
// sentinel diag finds, or as it is. A transport failure during the
// diagnosis is returned instead.
func explain(err error, diag func() (error, error)) error {
	if !diagnosable(err) {
		return err
	}
	sentinel, derr := diag()
	if derr != nil {
		if transport(derr) {
			return derr
		}
		return err
	}
	return refine(err, sentinel)
}

// byState maps a target's state for commands that need it to be a file
// (RETR, DELE, MFMT).
func byState(st state) error {
	switch st {
	case stMissing:
		return fs.ErrNotExist
	case stDir:
		return backend.ErrIsDir
	case stLocked, stDenied:
		return fs.ErrPermission
	}
	return nil
}

// splitLines splits a multi-line reply's text.
func splitLines(msg string) []string { return strings.Split(msg, "\n") }
