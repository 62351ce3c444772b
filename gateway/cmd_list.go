package gateway

import (
	"context"
	"hash/fnv"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/listing"
	"github.com/ftpsgw/ftpsgw/policy"
)

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

// list sends a directory listing over the data connection. The listing
// is read from the backend before 150, so a missing or denied path gets
// its 550 without opening a data connection.
func (s *session) list(verb, arg string, format listFormat) {
	p, err := s.resolveArg(arg)
	if err == nil {
		err = s.authorize(policy.PermList, p)
	}
	if err == nil {
		err = s.checkDataAllowed()
	}
	var lines []string
	if err == nil {
		if verb == "MLSD" {
			lines, err = s.listDirOnly(p, format)
		} else {
			lines, err = s.listLines(p, format)
		}
	}
	if err != nil {
		s.fail(err)
		return
	}
	s.startTransfer(verb, p, "", "Here comes the directory listing.", func(ctx context.Context, x *transfer, data net.Conn) (reply, TransferResult, error) {
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
		n, err := data.Write([]byte(b.String()))
		x.bytes.Add(int64(n))
		if err != nil {
			return replyAborted, TransferFailed, err
		}
		return reply{226, "Directory send OK."}, TransferOK, nil
	})
}

// listDirOnly is listLines for MLSD, which must name a directory.
func (s *session) listDirOnly(p vpath, format listFormat) ([]string, error) {
	ctx, cancel := s.opCtx()
	defer cancel()
	fi, err := s.fs.Stat(ctx, p.name())
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, errNotDirListing
	}
	return s.listLines(p, format)
}

// listLines lists a directory (or describes a single file), leaving out
// entries hidden by rules and names that cannot be sent on one line.
func (s *session) listLines(p vpath, format listFormat) ([]string, error) {
	ctx, cancel := s.opCtx()
	defer cancel()
	fi, err := s.fs.Stat(ctx, p.name())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if !fi.IsDir() {
		return []string{format(s, p.parent(), fi, now)}, nil
	}
	entries, err := s.fs.ReadDir(ctx, p.name())
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, len(entries))
	for _, e := range entries {
		if !listing.SafeName(e.Name()) || !s.visible(p.child(e.Name())) {
			continue
		}
		lines = append(lines, format(s, p, e, now))
	}
	return lines, nil
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
