package main

// Listings (ls, dir, nlist, mls, mdir) and the commands on several files
// (mget, mput, mdelete) with remote globbing (NLST and path.Match) and
// local globbing (filepath.Glob).

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/asciiconv"
)

func (c *ftpClient) cmdLs(ctx context.Context, args []string) error {
	return c.listing(ctx, "LIST", args)
}

func (c *ftpClient) cmdNlist(ctx context.Context, args []string) error {
	return c.listing(ctx, "NLST", args)
}

// listing runs ls/nlist: [remote-dir] [local-file].
func (c *ftpClient) listing(ctx context.Context, verb string, args []string) error {
	var dir, out string
	if len(args) > 0 {
		dir = args[0]
	}
	if len(args) > 1 {
		out = args[1]
	}
	return c.listInto(ctx, verb, []string{dir}, out)
}

func (c *ftpClient) cmdMls(ctx context.Context, args []string) error {
	return c.multiList(ctx, "NLST", args)
}

func (c *ftpClient) cmdMdir(ctx context.Context, args []string) error {
	return c.multiList(ctx, "LIST", args)
}

// multiList runs mls/mdir: remote-files local-file.
func (c *ftpClient) multiList(ctx context.Context, verb string, args []string) error {
	out := args[len(args)-1]
	if out != "-" {
		yes, _, err := c.confirm("output to local-file: " + out)
		if err != nil || !yes {
			return err
		}
	}
	return c.listInto(ctx, verb, args[:len(args)-1], out)
}

// listInto lists each remote path (with verb) into out: "" or "-" the
// output, "|cmd" a shell pipe, else a local file. Listings come as
// CRLF lines and are written with LF.
func (c *ftpClient) listInto(ctx context.Context, verb string, remotes []string, out string) error {
	w, done, err := c.openOutput(ctx, out)
	if err != nil {
		return err
	}
	for _, r := range remotes {
		conv := asciiconv.NewFromNetwork(w)
		_, err = c.dataTransfer(ctx, verb, remoteArgs(r), 0, func(conn net.Conn) error {
			if _, err := io.Copy(conv, conn); err != nil {
				return err
			}
			return conv.Flush()
		})
		if err != nil {
			break
		}
	}
	if derr := done(); err == nil {
		err = derr
	}
	return err
}

// openOutput opens where a listing goes; done closes it (and waits for
// a pipe's command).
func (c *ftpClient) openOutput(ctx context.Context, out string) (io.Writer, func() error, error) {
	switch {
	case out == "" || out == "-":
		return textFilter{c.out}, func() error { return nil }, nil
	case strings.HasPrefix(out, "|"):
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", strings.TrimPrefix(out, "|"))
		cmd.Stdout, cmd.Stderr = c.out, c.errOut
		pw, err := cmd.StdinPipe()
		if err != nil {
			return nil, nil, fmt.Errorf("pipe: %w", err)
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, fmt.Errorf("pipe: %w", err)
		}
		return pw, func() error {
			pw.Close()
			if err := cmd.Wait(); err != nil {
				return fmt.Errorf("pipe: %w", err)
			}
			return nil
		}, nil
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, nil, fmt.Errorf("listing: %w", err)
	}
	return f, f.Close, nil
}

// remoteGlob expands a pattern in the last element of a remote path
// through NLST of its directory and path.Match; names starting with a
// dot match only a pattern that does. Without globbing, or without
// pattern characters, the name is itself.
func (c *ftpClient) remoteGlob(ctx context.Context, pattern string) ([]string, error) {
	if !c.glob || !strings.ContainsAny(pattern, "*?[") {
		return []string{pattern}, nil
	}
	dir, base := path.Split(pattern)
	if strings.ContainsAny(dir, "*?[") {
		return nil, fmt.Errorf("%s: globbing works in the last path element only", pattern)
	}
	if _, err := path.Match(base, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	arg := strings.TrimSuffix(dir, "/")
	if dir == "/" {
		arg = "/"
	}
	var listing strings.Builder
	if _, err := c.dataTransfer(ctx, "NLST", remoteArgs(arg), 0, func(conn net.Conn) error {
		_, err := io.Copy(&listing, io.LimitReader(conn, 16<<20))
		return err
	}); err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(listing.String(), "\n") {
		n := path.Base(strings.TrimRight(line, "\r"))
		if n == "." || n == ".." || n == "/" || strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		if ok, _ := path.Match(base, n); ok {
			names = append(names, dir+n)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no remote file matches", pattern)
	}
	return names, nil
}

// localGlob expands a local pattern with filepath.Glob.
func (c *ftpClient) localGlob(pattern string) ([]string, error) {
	if !c.glob || !strings.ContainsAny(pattern, "*?[") {
		return []string{pattern}, nil
	}
	names, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pattern, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no local file matches", pattern)
	}
	return names, nil
}

// each runs fn on every name the patterns expand to, asking first
// (verb name?) when prompting is on; it goes on after a failure and
// returns how many failed.
func (c *ftpClient) each(verb string, patterns []string, expand func(string) ([]string, error), fn func(name string) error) error {
	failed, total := 0, 0
	all := false
	for _, p := range patterns {
		names, err := expand(p)
		if err != nil {
			c.fail(err)
			failed++
			total++
			continue
		}
		for _, n := range names {
			if !all {
				yes, a, err := c.confirm(verb + " " + n)
				if err != nil {
					return err
				}
				if !yes {
					continue
				}
				all = a
			}
			total++
			if err := fn(n); err != nil {
				c.fail(err)
				failed++
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d failed", verb, failed, total)
	}
	return nil
}

func (c *ftpClient) cmdMget(ctx context.Context, args []string) error {
	expand := func(p string) ([]string, error) { return c.remoteGlob(ctx, p) }
	return c.each("mget", args, expand, func(name string) error {
		local, err := mgetLocalName(name, c.caseMap)
		if err != nil {
			return err
		}
		return c.get(ctx, name, local, getPlain)
	})
}

// mgetLocalName is the local name of a remote file in mget: its last
// element only, so that a server's names cannot reach outside the local
// directory; all-upper-case names are lowered under case.
func mgetLocalName(remote string, lower bool) (string, error) {
	n := path.Base(remote)
	if n == "." || n == ".." || n == "/" || strings.ContainsAny(n, "\\\x00") {
		return "", fmt.Errorf("mget: refusing the local name %q", n)
	}
	if lower && strings.ToUpper(n) == n && strings.ToLower(n) != n {
		n = strings.ToLower(n)
	}
	return n, nil
}

func (c *ftpClient) cmdMput(ctx context.Context, args []string) error {
	return c.each("mput", args, c.localGlob, func(name string) error {
		if fi, err := os.Stat(name); err == nil && fi.IsDir() {
			return fmt.Errorf("mput: %s is a directory, skipped", name)
		}
		return c.put(ctx, name, filepath.ToSlash(name), "STOR")
	})
}

func (c *ftpClient) cmdMdelete(ctx context.Context, args []string) error {
	expand := func(p string) ([]string, error) { return c.remoteGlob(ctx, p) }
	return c.each("mdelete", args, expand, func(name string) error {
		_, err := c.expect(2, "DELE", name)
		return err
	})
}

// textFilter replaces control bytes other than LF and TAB in a listing
// shown on the output, so that a hostile server cannot drive the
// terminal with it.
type textFilter struct{ w io.Writer }

func (f textFilter) Write(p []byte) (int, error) {
	q := make([]byte, len(p))
	for i, b := range p {
		if (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f {
			b = '?'
		}
		q[i] = b
	}
	if _, err := f.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}
