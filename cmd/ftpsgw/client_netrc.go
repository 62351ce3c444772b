package main

// ~/.netrc, as ftp(1) reads it: machine, default, login, password,
// account and macdef entries. A file that holds a password must not be
// readable by the group or others.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// netrcEntry is one machine (or the default) of ~/.netrc.
type netrcEntry struct {
	machine  string // "" for default
	login    string
	password string
	account  string
	macros   map[string][]string
}

// maxNetrc bounds the size of ~/.netrc.
const maxNetrc = 1 << 20

// errNetrcPerm reports a ~/.netrc with a password that others can read.
var errNetrcPerm = errors.New("holds a password but is readable by others: chmod 600 it; not used")

// readNetrc reads and checks the .netrc under home; a missing file is no
// error and no entries.
func readNetrc(home string) ([]netrcEntry, error) {
	if home == "" {
		return nil, nil
	}
	path := filepath.Join(home, ".netrc")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi.Size() > maxNetrc {
		return nil, fmt.Errorf("%s: larger than 1 MiB", path)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	entries, err := parseNetrc(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, e := range entries {
		if e.password != "" && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s: %w", path, errNetrcPerm)
		}
	}
	return entries, nil
}

// parseNetrc parses the text of a .netrc file.
func parseNetrc(text string) ([]netrcEntry, error) {
	var entries []netrcEntry
	var cur *netrcEntry
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		words := strings.Fields(lines[i])
		for j := 0; j < len(words); j++ {
			w := words[j]
			if strings.HasPrefix(w, "#") {
				break // a comment to the end of the line
			}
			next := func() (string, error) {
				if j+1 >= len(words) {
					return "", fmt.Errorf("line %d: %s without a value", i+1, w)
				}
				j++
				return words[j], nil
			}
			var err error
			switch w {
			case "machine", "default":
				entries = append(entries, netrcEntry{macros: map[string][]string{}})
				cur = &entries[len(entries)-1]
				if w == "machine" {
					cur.machine, err = next()
				}
			case "login", "password", "account", "macdef":
				if cur == nil {
					return nil, fmt.Errorf("line %d: %s before any machine", i+1, w)
				}
				var v string
				if v, err = next(); err != nil {
					break
				}
				switch w {
				case "login":
					cur.login = v
				case "password":
					cur.password = v
				case "account":
					cur.account = v
				case "macdef":
					// The macro is the following lines up to an empty one.
					var body []string
					for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
						body = append(body, lines[i])
					}
					cur.macros[v] = body
					j = len(words)
				}
			default:
				return nil, fmt.Errorf("line %d: unknown token %q", i+1, w)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return entries, nil
}

// lookupNetrc returns the entry for host, else the default entry, else
// nil.
func lookupNetrc(entries []netrcEntry, host string) *netrcEntry {
	var def *netrcEntry
	for i := range entries {
		e := &entries[i]
		if e.machine == "" && def == nil {
			def = e
		}
		if e.machine != "" && strings.EqualFold(e.machine, host) {
			return e
		}
	}
	return def
}
