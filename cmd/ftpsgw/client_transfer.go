package main

// Transfers of one file: get, reget, newer, put, append, with
// sunique/runique and restart. Listings and mget/mput/mdelete are in
// client_list.go, the feedback in client_meter.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/asciiconv"
	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

// dataTransfer runs one data command in the current mode (passive or
// active), notes the data connection for status and trace, and drops a
// control connection that failed.
func (c *ftpClient) dataTransfer(ctx context.Context, verb string, args []string, restart int64, fn func(net.Conn) error) (ftpclient.TransferInfo, error) {
	opts := ftpclient.TransferOptions{Active: !c.passive, Restart: restart}
	info, err := c.conn.Transfer(ctx, opts, fn, verb, args...)
	if info.Passive.Addr != "" {
		d := fmt.Sprintf("%s %s", info.Passive.Verb, info.Passive.Addr)
		if info.TLS != nil {
			d += fmt.Sprintf(", TLS %s, session resumed: %s", tlsVersionName(info.TLS.Version), map[bool]string{true: "yes", false: "no"}[info.TLS.DidResume])
		}
		c.lastData = d
		if c.trace {
			c.printf("data: %s\n", d)
		}
		if info.TLS != nil && !info.TLS.DidResume && c.verbose {
			c.printf("warning: the data connection did not resume the control connection's TLS session; this server does not bind them\n")
		}
	}
	if err != nil {
		c.lost(err)
	}
	return info, err
}

// remoteArgs is the argument list of a command on one remote path (none
// for an empty path).
func remoteArgs(p string) []string {
	if p == "" {
		return nil
	}
	return []string{p}
}

func (c *ftpClient) cmdGet(ctx context.Context, args []string) error {
	return c.get(ctx, args[0], localFor(args), getPlain)
}

func (c *ftpClient) cmdReget(ctx context.Context, args []string) error {
	return c.get(ctx, args[0], localFor(args), getReget)
}

func (c *ftpClient) cmdNewer(ctx context.Context, args []string) error {
	return c.get(ctx, args[0], localFor(args), getNewer)
}

// localFor is the local name of get remote [local]: the second argument,
// else the remote name's last element.
func localFor(args []string) string {
	if len(args) > 1 {
		return args[1]
	}
	return path.Base(args[0])
}

// getMode says how get treats an existing local file.
type getMode int

const (
	getPlain getMode = iota // replace it (or a unique name with runique)
	getReget                // resume from its size
	getNewer                // only when the remote file is newer
)

// getPlan is what get decided before the transfer.
type getPlan struct {
	local    string
	toOut    bool  // local is "-": the output
	offset   int64 // REST
	size     int64 // the remote size, -1 unknown
	mtime    time.Time
	hasMtime bool
	skip     bool // nothing to fetch (newer, a complete reget)
}

// planGet probes the remote file (MDTM, SIZE, quietly) and applies the
// mode, restart and runique.
func (c *ftpClient) planGet(remote, local string, mode getMode) (getPlan, error) {
	p := getPlan{local: local, toOut: local == "-", offset: c.restart, size: -1}
	c.restart = 0
	c.silent = true // ftp(1) does not show the replies of its own probes
	var mtimeErr error
	if !p.toOut {
		p.mtime, mtimeErr = c.conn.ModTime(remote)
		p.hasMtime = mtimeErr == nil
	}
	if n, err := c.conn.Size(remote); err == nil {
		p.size = n
	}
	c.silent = false
	switch mode {
	case getNewer:
		if mtimeErr != nil {
			return p, fmt.Errorf("newer: %w", mtimeErr)
		}
		if fi, err := os.Stat(local); err == nil && !fi.ModTime().Before(p.mtime) {
			c.printf("Local file %q is newer than remote file %q.\n", local, remote)
			p.skip = true
			return p, nil
		}
	case getReget:
		if fi, err := os.Stat(local); err == nil {
			p.offset = fi.Size()
		}
		if p.offset > 0 && p.size >= 0 && p.offset >= p.size {
			if p.offset > p.size {
				return p, fmt.Errorf("reget: local file %s (%d bytes) is larger than the remote file (%d bytes)", local, p.offset, p.size)
			}
			c.printf("Local file %s is complete (%d bytes).\n", local, p.offset)
			p.skip = true
			return p, nil
		}
	}
	if p.offset > 0 && c.ascii() {
		return p, errors.New("get: restarting needs binary mode (the offsets of ascii mode are not the local file's)")
	}
	if c.runique && !p.toOut && p.offset == 0 {
		u, err := uniqueLocal(local)
		if err != nil {
			return p, err
		}
		if u != local {
			c.printf("Receiving %s as %s (runique).\n", remote, u)
		}
		p.local = u
	}
	return p, nil
}

// openLocal opens get's local file: truncated, or at the restart offset.
func openLocal(p getPlan) (*os.File, error) {
	flags := os.O_WRONLY | os.O_CREATE
	if p.offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(p.local, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if p.offset > 0 {
		if fi, err := f.Stat(); err != nil || fi.Size() < p.offset {
			f.Close()
			return nil, fmt.Errorf("get: local file %s is shorter than the restart offset %d", p.local, p.offset)
		}
		if _, err := f.Seek(p.offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("get: %w", err)
		}
	}
	return f, nil
}

// get downloads remote into local ("-": the output).
func (c *ftpClient) get(ctx context.Context, remote, local string, mode getMode) error {
	p, err := c.planGet(remote, local, mode)
	if err != nil || p.skip {
		return err
	}
	if c.verbose {
		c.printf("local: %s remote: %s\n", p.local, remote)
	}
	var f *os.File
	var w io.Writer = c.out
	if !p.toOut {
		if f, err = openLocal(p); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	var conv *asciiconv.FromNetwork
	if c.ascii() && c.crStrip {
		conv = asciiconv.NewFromNetwork(w)
		w = conv
	}
	m := c.newMeter(p.size, p.offset, p.toOut)
	_, err = c.dataTransfer(ctx, "RETR", []string{remote}, p.offset, func(conn net.Conn) error {
		_, err := io.Copy(w, meterReader{conn, m})
		if err == nil && conv != nil {
			err = conv.Flush()
		}
		m.finish() // before the completion reply is shown
		return err
	})
	m.finish()
	if f != nil {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("get: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	if f != nil && p.hasMtime {
		os.Chtimes(p.local, p.mtime, p.mtime) // newer compares against it
	}
	c.stats(m, "received")
	return nil
}

// maxUnique bounds the names runique tries.
const maxUnique = 99

// uniqueLocal is name when no file has it, else name.1, name.2, ...
func uniqueLocal(name string) (string, error) {
	if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
		return name, nil
	}
	for i := 1; i <= maxUnique; i++ {
		n := name + "." + strconv.Itoa(i)
		if _, err := os.Lstat(n); errors.Is(err, os.ErrNotExist) {
			return n, nil
		}
	}
	return "", fmt.Errorf("runique: %s.1 to %s.%d all exist", name, name, maxUnique)
}

func (c *ftpClient) cmdPut(ctx context.Context, args []string) error {
	return c.put(ctx, args[0], remoteFor(args), "STOR")
}

func (c *ftpClient) cmdAppend(ctx context.Context, args []string) error {
	return c.put(ctx, args[0], remoteFor(args), "APPE")
}

// remoteFor is the remote name of put local [remote]: the second
// argument, else the local name (with slashes).
func remoteFor(args []string) string {
	if len(args) > 1 {
		return args[1]
	}
	return filepath.ToSlash(args[0])
}

// stouName finds the name the server chose for STOU: "150 FILE: name"
// (RFC 1123) or "unique file name NAME" in the completion reply.
var stouName = regexp.MustCompile(`(?:FILE:\s*|unique file name\s+)([^\s)]+)`)

// put uploads local to remote with verb (STOR, APPE; STOU under
// sunique).
func (c *ftpClient) put(ctx context.Context, local, remote, verb string) error {
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("put: %s is a directory", local)
	}
	offset := c.restart
	c.restart = 0
	if offset > 0 {
		if c.ascii() {
			return errors.New("put: restarting needs binary mode")
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return fmt.Errorf("put: %w", err)
		}
	}
	if c.sunique && verb == "STOR" {
		verb = "STOU"
	}
	if c.verbose {
		c.printf("local: %s remote: %s\n", local, remote)
	}
	var src io.Reader = f
	if c.ascii() {
		src = asciiconv.NewToNetwork(f)
	}
	m := c.newMeter(fi.Size(), offset, false)
	info, err := c.dataTransfer(ctx, verb, []string{remote}, offset, func(conn net.Conn) error {
		_, err := io.Copy(meterWriter{conn, m}, src)
		m.finish()
		return err
	})
	m.finish()
	if err != nil {
		return err
	}
	if verb == "STOU" {
		name := "(unknown)"
		for _, rep := range []ftpclient.Reply{info.Preamble, info.Final} {
			if sm := stouName.FindStringSubmatch(rep.Message()); sm != nil {
				name = cleanText(sm[1])
				break
			}
		}
		c.printf("Stored as %s (sunique).\n", name)
	}
	c.stats(m, "sent")
	return nil
}
