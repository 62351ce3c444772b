package gateway

import (
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/listing"
	"github.com/ftpsgw/ftpsgw/policy"
)

// quote doubles embedded quotes for 257 replies (RFC 959).
func quote(p vpath) string { return `"` + strings.ReplaceAll(p.String(), `"`, `""`) + `"` }

// resolveArg resolves the request's path argument.
func (s *session) resolveArg(arg string) (vpath, error) { return resolve(s.cwd, arg) }

// statVisible stats p, answering as missing when a rule hides it.
func (s *session) statVisible(p vpath) (fs.FileInfo, error) {
	if !s.visible(p) {
		return nil, errHidden
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	return s.fs.Stat(ctx, p.name())
}

// statMeta is statVisible for the metadata commands (SIZE, MDTM, MLST):
// the policy's CanStat decides (list or download on the path, as for a
// listing); a hidden path answers as a missing one and a path with
// neither permission as a denial, both before the backend is touched.
func (s *session) statMeta(p vpath) (fs.FileInfo, error) {
	if err := s.judge(policy.PermList, p, s.policy().CanStat(s.ident, p.String())); err != nil {
		return nil, err
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	return s.fs.Stat(ctx, p.name())
}

func (s *session) cmdPWD(req request) {
	s.reply(257, quote(s.cwd)+" is the current directory.")
}

func (s *session) cmdCWD(req request) {
	p, err := s.resolveArg(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	s.chdir(p)
}

func (s *session) cmdCDUP(req request) { s.chdir(s.cwd.parent()) }

func (s *session) chdir(p vpath) {
	fi, err := s.statVisible(p)
	if err != nil {
		s.fail(err)
		return
	}
	if !fi.IsDir() {
		s.fail(backend.ErrNotDir)
		return
	}
	s.cwd = p
	s.replyR(replyDirectorySuccessfullyChanged)
}

func (s *session) cmdMKD(req request) {
	p, _ := s.resolveArg(req.arg) // the dispatcher resolved it already
	ctx, cancel := s.opCtx()
	defer cancel()
	if err := s.fs.Mkdir(ctx, p.name()); err != nil {
		s.fail(err)
		return
	}
	s.changed(ChangeMkdir, p, "")
	s.reply(257, quote(p)+" created.")
}

// changed reports a completed change of p (and, for a rename, its new
// path to) to the observer: the hooks' delete, rename, mkdir and rmdir
// events.
func (s *session) changed(op ChangeOp, p vpath, to string) {
	s.srv.obs.Changed(ChangeRecord{Time: time.Now(), Op: op, SessionID: s.id, User: s.ident.User,
		Client: s.client, Backend: s.backend, Path: p.String(), To: to})
}

func (s *session) cmdRMD(req request) {
	p, _ := s.resolveArg(req.arg)
	if p.isRoot() {
		s.replyR(replyDenied)
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if err := s.fs.Rmdir(ctx, p.name()); err != nil {
		s.fail(err)
		return
	}
	s.changed(ChangeRmdir, p, "")
	s.replyR(replyDirectoryRemoved)
}

func (s *session) cmdDELE(req request) {
	p, _ := s.resolveArg(req.arg)
	ctx, cancel := s.opCtx()
	defer cancel()
	fi, err := s.fs.Stat(ctx, p.name())
	if err == nil && fi.IsDir() {
		err = backend.ErrIsDir
	}
	if err == nil {
		err = s.fs.Remove(ctx, p.name())
	}
	if err != nil {
		s.fail(err)
		return
	}
	s.srv.cfg.Quotas.Remove(s.ident.User, p.String(), fi.Size()) // the key uploads reserve under
	s.forgetHash(p)
	s.changed(ChangeDelete, p, "")
	s.replyR(replyFileDeleted)
}

func (s *session) cmdRNFR(req request) {
	p, _ := s.resolveArg(req.arg)
	if p.isRoot() {
		s.replyR(replyDenied)
		return
	}
	if _, err := s.statVisible(p); err != nil {
		s.fail(err)
		return
	}
	s.renameFrom = &p
	s.replyR(replyReadyRnto)
}

func (s *session) cmdRNTO(req request) {
	from := s.renameFrom
	s.renameFrom = nil
	if from == nil {
		s.replyR(replyBadSequence)
		return
	}
	to, err := s.resolveArg(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	if to.isRoot() {
		s.replyR(replyDenied)
		return
	}
	// One decision for the whole move, before the storage is asked about
	// either side: PermRename on both, and everything under from judged
	// like the same path under to (a hidden side answers as missing).
	if err := s.judge(policy.PermRename, to, s.policy().RenameAllowed(s.ident, from.String(), to.String())); err != nil {
		s.fail(err)
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if fi, err := s.fs.Stat(ctx, from.name()); err == nil && fi.IsDir() && !s.fs.Caps(from.name()).Has(backend.CapRenameDir) {
		s.fail(errNoDirRename)
		return
	}
	// Replacing an existing file also needs overwrite on the target.
	replaced, err := s.fs.Stat(ctx, to.name())
	if err == nil && !replaced.IsDir() {
		if err := s.authorize(policy.PermOverwrite, to); err != nil {
			s.fail(err)
			return
		}
	} else {
		replaced = nil
	}
	if err := s.fs.Rename(ctx, from.name(), to.name()); err != nil {
		s.fail(err)
		return
	}
	if replaced != nil {
		// The file renamed over is gone: its bytes and its file leave the
		// quota (the moved file was counted already).
		s.srv.cfg.Quotas.Remove(s.ident.User, to.String(), replaced.Size())
	}
	s.forgetHash(*from)
	s.forgetHash(to)
	s.log.Info("renamed", "from", from.String(), "to", to.String())
	s.changed(ChangeRename, *from, to.String())
	s.replyR(replyRenameSuccessful)
}

// statRegular resolves arg and stats it, answering as missing when a rule
// hides it and refusing anything but a regular file.
func (s *session) statRegular(arg string) (fs.FileInfo, error) {
	p, err := s.resolveArg(arg)
	if err != nil {
		return nil, err
	}
	fi, err := s.statMeta(p)
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotFile
	}
	return fi, err
}

func (s *session) cmdSIZE(req request) {
	fi, err := s.statRegular(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	s.reply(213, strconv.FormatInt(fi.Size(), 10))
}

func (s *session) cmdMDTM(req request) {
	fi, err := s.statRegular(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	s.reply(213, listing.FormatMDTM(fi.ModTime()))
}

// cmdMFMT sets a file's modification time: "MFMT YYYYMMDDHHMMSS path".
func (s *session) cmdMFMT(req request) {
	ts, name, ok := strings.Cut(req.arg, " ")
	if !ok || name == "" {
		s.replyR(replyMFMTUsage)
		return
	}
	t, err := listing.ParseMDTM(ts)
	if err != nil {
		s.replyR(replyInvalidTimeValue)
		return
	}
	p, err := s.resolveArg(name)
	if err != nil {
		s.fail(err)
		return
	}
	if err := s.authorize(policy.PermOverwrite, p); err != nil {
		s.fail(err)
		return
	}
	if !s.fs.Caps(p.name()).Has(backend.CapChtimes) {
		s.fail(errUnsupported)
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	if err := s.fs.Chtimes(ctx, p.name(), t); err != nil {
		s.fail(err)
		return
	}
	s.reply(213, "Modify="+listing.FormatMDTM(t)+"; "+p.String())
}

func (s *session) cmdTYPE(req request) {
	switch strings.ToUpper(strings.Join(strings.Fields(req.arg), " ")) {
	case "A", "A N":
		s.ascii = true
		s.replyR(replySwitchingAsciiMode)
	case "I", "L 8", "L8":
		s.ascii = false
		s.replyR(replySwitchingBinaryMode)
	default:
		s.replyR(replyTypeSupported)
	}
}

func (s *session) cmdMODE(req request) {
	if strings.EqualFold(strings.TrimSpace(req.arg), "S") {
		s.replyR(replyModeSetS)
		return
	}
	s.replyR(replyOnlyModeS)
}

func (s *session) cmdSTRU(req request) {
	if strings.EqualFold(strings.TrimSpace(req.arg), "F") {
		s.replyR(replyStructureSetF)
		return
	}
	s.replyR(replyOnlyStruF)
}

func (s *session) cmdALLO(req request) { s.replyR(replyAlloNeeded) }

func (s *session) cmdREST(req request) {
	n, err := strconv.ParseInt(strings.TrimSpace(req.arg), 10, 64)
	if err != nil || n < 0 {
		s.replyR(replyRestRequiresNon)
		return
	}
	s.restOffset = n
	s.reply(350, "Restarting at "+strconv.FormatInt(n, 10)+". Send STOR or RETR.")
}

// cmdSTAT without an argument reports the session; with one it lists a
// path over the control connection.
func (s *session) cmdSTAT(req request) {
	if req.arg == "" {
		s.replyMulti(211, "ftpsgw status:", s.statusLines(), "End of status.")
		return
	}
	if s.busy() {
		s.replyR(replyTransferProgress)
		return
	}
	p, err := s.resolveArg(stripListFlags(req.arg))
	if err == nil {
		err = s.authorize(policy.PermList, p)
	}
	var lines []string
	if err == nil {
		lines, err = s.listLines(p, formatLIST)
	}
	if err != nil {
		s.fail(err)
		return
	}
	s.replyMulti(213, "Status of "+p.String()+":", lines, "End of status.")
}

func (s *session) statusLines() []string {
	lines := []string{
		"Connected to " + s.local.String() + " from " + s.client.String(),
		"Logged in as " + s.ident.User,
		"TLS " + TLSVersionName(s.tlsVer) + ", data protection " + map[bool]string{true: "private", false: "clear"}[s.protP],
		"TYPE " + map[bool]string{true: "ASCII", false: "BINARY"}[s.ascii] + ", MODE S, STRU F",
	}
	s.xmu.Lock()
	if x := s.xfer; x != nil {
		lines = append(lines, "Transferring "+x.path.String()+": "+strconv.FormatInt(x.bytes.Load(), 10)+" bytes so far")
	}
	s.xmu.Unlock()
	return lines
}

// cmdMLST describes one path on the control connection (RFC 3659).
func (s *session) cmdMLST(req request) {
	p, err := s.resolveArg(req.arg)
	if err != nil {
		s.fail(err)
		return
	}
	fi, err := s.statMeta(p)
	if err != nil {
		s.fail(err)
		return
	}
	s.replyMulti(250, "Listing "+p.String(), []string{s.mlsxLine(p, fi, "", p.String())}, "End")
}

// cmdSITE answers the SITE commands, none of which this gateway offers
// (lftp's mirror sends SITE CHMOD): 502, so clients carry on.
func (s *session) cmdSITE(req request) {
	s.replyR(replySiteCommandImplemented)
}
