package gateway

import (
	"bufio"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/listing"
	"github.com/ftpsgw/ftpsgw/policy"
)

// errStatFull ends a STAT listing at maxStatLines.
var errStatFull = errors.New("stat listing full")

// listFormat turns one entry into one listing line.
type listFormat func(s *session, dir vpath, fi fs.FileInfo, now time.Time) string

func formatLIST(s *session, dir vpath, fi fs.FileInfo, now time.Time) string {
	return listing.ListLine(fi, now)
}

func formatNLST(s *session, dir vpath, fi fs.FileInfo, now time.Time) string {
	return fi.Name()
}

func formatMLSD(s *session, dir vpath, fi fs.FileInfo, now time.Time) string {
	return s.mlsxLine(dir.child(fi.Name()), fi, "", fi.Name())
}

// stripListFlags drops ls-style options ("-la", "-a") that clients put
// before LIST's path; the gateway always lists the same way.
func stripListFlags(arg string) string {
	for {
		arg = strings.TrimLeft(arg, " ")
		if !strings.HasPrefix(arg, "-") {
			return arg
		}
		i := strings.IndexByte(arg, ' ')
		if i < 0 {
			return ""
		}
		arg = arg[i:]
	}
}

func (s *session) cmdLIST(req request) { s.list("LIST", stripListFlags(req.arg), formatLIST) }
func (s *session) cmdNLST(req request) { s.list("NLST", stripListFlags(req.arg), formatNLST) }
func (s *session) cmdMLSD(req request) { s.list("MLSD", req.arg, formatMLSD) }

// listBuf is the write buffer of a listing's data connection: entries go
// out as they are read, a buffer at a time.
const listBuf = 32 << 10

// maxStatLines caps a STAT listing, which travels on the control
// connection as one reply.
const maxStatLines = 10000

// list streams a directory listing over the data connection. The path is
// checked before the 150, so a missing or denied path gets its 550 without
// opening a data connection; the entries are then read from the backend a
// batch at a time while the first ones are already on the wire.
func (s *session) list(verb, arg string, format listFormat) {
	p, err := s.resolveArg(arg)
	if err == nil {
		err = s.authorize(policy.PermList, p)
	}
	if err == nil {
		err = s.checkDataAllowed()
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = s.statList(p, verb == "MLSD")
	}
	if err != nil {
		s.fail(err)
		return
	}
	s.startTransfer(verb, p, "", "Here comes the directory listing.", func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error) {
		w := bufio.NewWriterSize(data, listBuf)
		err := s.eachLine(ctx, p, fi, format, w.Flush, func(line string) error {
			n, err := w.WriteString(line)
			x.bytes.Add(int64(n))
			if err == nil {
				_, err = w.WriteString("\r\n")
				x.bytes.Add(2)
			}
			return err
		})
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			return replyForTransfer(err), resultFor(err), err
		}
		return reply{226, "Directory send OK."}, TransferOK, nil
	})
}

// statList describes a path to be listed; MLSD (dirOnly) must name a
// directory.
func (s *session) statList(p vpath, dirOnly bool) (fs.FileInfo, error) {
	ctx, cancel := s.opCtx()
	defer cancel()
	fi, err := s.fs.Stat(ctx, p.name())
	if err == nil && dirOnly && !fi.IsDir() {
		err = errNotDirListing
	}
	return fi, err
}

// eachLine formats p's listing line by line: the entries of a directory,
// streamed from the backend, or the one line of a file. Entries hidden by
// rules and names that cannot be sent on one line are left out. batchDone
// runs after each batch the backend hands over (nil: nothing to do), so a
// buffered writer can send what it holds before the next batch is read.
func (s *session) eachLine(ctx context.Context, p vpath, fi fs.FileInfo, format listFormat, batchDone func() error, emit func(string) error) error {
	now := time.Now()
	if !fi.IsDir() {
		return emit(format(s, p.parent(), fi, now))
	}
	l, err := s.fs.ReadDir(ctx, p.name())
	if err != nil {
		return err
	}
	defer l.Close()
	for {
		batch, err := l.Next(ctx, backend.ListBatch)
		for _, e := range batch {
			if !listing.SafeName(e.Name()) {
				s.log.Info("listing entry left out: control bytes or invalid UTF-8", "dir", p.String(), "name", strconv.Quote(e.Name()))
				continue
			}
			if !s.visible(p.child(e.Name())) {
				continue
			}
			if err := emit(format(s, p, e, now)); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if batchDone != nil {
			if err := batchDone(); err != nil {
				return err
			}
		}
	}
}

// listLines collects p's listing for STAT, at most maxStatLines lines.
func (s *session) listLines(p vpath, format listFormat) ([]string, error) {
	fi, err := s.statList(p, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	var lines []string
	err = s.eachLine(ctx, p, fi, format, nil, func(line string) error {
		if len(lines) == maxStatLines {
			return errStatFull
		}
		lines = append(lines, line)
		return nil
	})
	if errors.Is(err, errStatFull) {
		lines, err = append(lines, "(listing truncated: use LIST or MLSD)"), nil
	}
	return lines, err
}

// MLST facts, in the order FEAT advertises them.
var mlstFactNames = []string{"type", "size", "modify", "perm", "unique"}

func defaultMLSTFacts() map[string]bool {
	m := make(map[string]bool, len(mlstFactNames))
	for _, f := range mlstFactNames {
		m[f] = true
	}
	return m
}

// mlstFeat is the FEAT line's fact list, enabled facts starred.
func (s *session) mlstFeat() string {
	var b strings.Builder
	for _, f := range mlstFactNames {
		b.WriteString(f)
		if s.mlstFacts[f] {
			b.WriteByte('*')
		}
		b.WriteByte(';')
	}
	return b.String()
}

// setMLSTFacts applies "OPTS MLST type;size;" (unknown facts ignored).
func (s *session) setMLSTFacts(val string) {
	m := make(map[string]bool)
	for _, f := range strings.Split(strings.ToLower(val), ";") {
		if slices.Contains(mlstFactNames, f) {
			m[f] = true
		}
	}
	s.mlstFacts = m
}

func (s *session) mlstOpts() string {
	var b strings.Builder
	for _, f := range mlstFactNames {
		if s.mlstFacts[f] {
			b.WriteString(f + ";")
		}
	}
	return b.String()
}

// mlsxLine builds one MLSD/MLST entry for p with the facts in force.
func (s *session) mlsxLine(p vpath, fi fs.FileInfo, typ, name string) string {
	f := listing.Facts{}
	if s.mlstFacts["type"] {
		f.Type = listing.TypeFile
		if fi.IsDir() {
			f.Type = listing.TypeDir
		}
		if typ != "" {
			f.Type = typ
		}
	}
	if s.mlstFacts["size"] {
		f.Size = fi.Size()
	}
	if s.mlstFacts["modify"] {
		f.Modify = fi.ModTime()
	}
	if s.mlstFacts["perm"] {
		f.Perm = s.permFact(p, fi.IsDir())
	}
	if s.mlstFacts["unique"] {
		h := fnv.New64a()
		h.Write([]byte(s.backend + "\x00" + s.ident.Home + "\x00" + p.String()))
		f.Unique = strconv.FormatUint(h.Sum64(), 36)
	}
	if !s.mlstFacts["type"] {
		f.Type = ""
	}
	return listing.MLSxLine(f, name)
}

// permFact says what this user may do with p, from the policy.
func (s *session) permFact(p vpath, isDir bool) string {
	can := func(perm policy.Perm) bool { return s.allowed(perm, p) }
	if isDir {
		return listing.PermFact(true, listing.PermSet{
			Create: can(policy.PermUpload),
			Delete: can(policy.PermRmdir),
			Enter:  true,
			Rename: can(policy.PermRename),
			List:   can(policy.PermList),
			Mkdir:  can(policy.PermMkdir),
			Purge:  can(policy.PermDelete),
		})
	}
	return listing.PermFact(false, listing.PermSet{
		Append: can(policy.PermAppend),
		Delete: can(policy.PermDelete),
		Rename: can(policy.PermRename),
		Read:   can(policy.PermDownload),
		Write:  can(policy.PermOverwrite),
	})
}
