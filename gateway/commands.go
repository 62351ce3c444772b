package gateway

import (
	"slices"
	"strings"

	"github.com/ftpsgw/ftpsgw/policy"
)

// argMode says whether a command takes an argument.
type argMode uint8

const (
	argNone     argMode = iota // an argument is a syntax error
	argOptional                // may have one
	argRequired                // must have one
)

// access is the least state a command needs.
type access uint8

const (
	accPreTLS   access = iota // answered before AUTH TLS
	accTLS                    // needs TLS, not a login
	accLoggedIn               // needs a login
)

// command is one row of the command table.
type command struct {
	run func(s *session, req request) // the handler
	acc access
	arg argMode
	// during: allowed while a transfer is in flight.
	during bool
	// perm, when set, is checked by the dispatcher against the path in
	// the argument before the handler runs (pathArg must be set).
	perm    policy.Perm
	pathArg bool
	// async: the handler may start a transfer whose goroutine reports
	// the final reply code itself.
	async bool
	// usesRest: the command consumes the REST marker (RETR, STOR, APPE,
	// STOU). The marker stays in effect across every other command (RFC
	// 3659: PASV, EPSV, TYPE may come between) and is cleared after one
	// of these, on REIN and by a new REST.
	usesRest bool
	// audit: the command changes the storage; dispatch writes one audit
	// line for it, whatever its outcome (transfers have their own line).
	audit bool
}

// commands is the command table. Verbs not here answer 500.
var commands map[string]*command

func init() {
	commands = map[string]*command{
		// before TLS
		"AUTH": {run: (*session).cmdAUTH, acc: accPreTLS, arg: argRequired},
		"FEAT": {run: (*session).cmdFEAT, acc: accPreTLS, arg: argNone},
		"HELP": {run: (*session).cmdHELP, acc: accPreTLS, arg: argOptional},
		"NOOP": {run: (*session).cmdNOOP, acc: accPreTLS, arg: argNone, during: true},
		"QUIT": {run: (*session).cmdQUIT, acc: accPreTLS, arg: argNone, during: true},
		"SYST": {run: (*session).cmdSYST, acc: accPreTLS, arg: argNone},
		"HOST": {run: (*session).cmdHOST, acc: accPreTLS, arg: argRequired},
		"OPTS": {run: (*session).cmdOPTS, acc: accPreTLS, arg: argRequired},
		// TLS, before login
		"PBSZ": {run: (*session).cmdPBSZ, acc: accTLS, arg: argRequired},
		"PROT": {run: (*session).cmdPROT, acc: accTLS, arg: argRequired},
		"CCC":  {run: (*session).cmdCCC, acc: accTLS, arg: argNone},
		"USER": {run: (*session).cmdUSER, acc: accTLS, arg: argRequired},
		"PASS": {run: (*session).cmdPASS, acc: accTLS, arg: argOptional},
		"REIN": {run: (*session).cmdREIN, acc: accTLS, arg: argNone},
		"SITE": {run: (*session).cmdSITE, acc: accLoggedIn, arg: argRequired, audit: true},
		// logged in: session parameters
		"TYPE": {run: (*session).cmdTYPE, acc: accLoggedIn, arg: argRequired},
		"MODE": {run: (*session).cmdMODE, acc: accLoggedIn, arg: argRequired},
		"STRU": {run: (*session).cmdSTRU, acc: accLoggedIn, arg: argRequired},
		"ALLO": {run: (*session).cmdALLO, acc: accLoggedIn, arg: argOptional},
		"REST": {run: (*session).cmdREST, acc: accLoggedIn, arg: argRequired},
		"STAT": {run: (*session).cmdSTAT, acc: accLoggedIn, arg: argOptional, during: true},
		"ABOR": {run: (*session).cmdABOR, acc: accLoggedIn, arg: argNone, during: true},
		// logged in: navigation and files
		"PWD":  {run: (*session).cmdPWD, acc: accLoggedIn, arg: argNone},
		"XPWD": {run: (*session).cmdPWD, acc: accLoggedIn, arg: argNone},
		"CWD":  {run: (*session).cmdCWD, acc: accLoggedIn, arg: argRequired, pathArg: true},
		"XCWD": {run: (*session).cmdCWD, acc: accLoggedIn, arg: argRequired, pathArg: true},
		"CDUP": {run: (*session).cmdCDUP, acc: accLoggedIn, arg: argNone},
		"XCUP": {run: (*session).cmdCDUP, acc: accLoggedIn, arg: argNone},
		"MKD":  {run: (*session).cmdMKD, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermMkdir, audit: true},
		"XMKD": {run: (*session).cmdMKD, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermMkdir, audit: true},
		"RMD":  {run: (*session).cmdRMD, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermRmdir, audit: true},
		"XRMD": {run: (*session).cmdRMD, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermRmdir, audit: true},
		"DELE": {run: (*session).cmdDELE, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDelete, audit: true},
		"RNFR": {run: (*session).cmdRNFR, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermRename},
		// RNTO: the handler decides the rename as a whole (RenameAllowed).
		"RNTO": {run: (*session).cmdRNTO, acc: accLoggedIn, arg: argRequired, pathArg: true, audit: true},
		"SIZE": {run: (*session).cmdSIZE, acc: accLoggedIn, arg: argRequired, pathArg: true},
		"MDTM": {run: (*session).cmdMDTM, acc: accLoggedIn, arg: argRequired, pathArg: true},
		"MFMT": {run: (*session).cmdMFMT, acc: accLoggedIn, arg: argRequired, audit: true},
		"MLST": {run: (*session).cmdMLST, acc: accLoggedIn, arg: argOptional, pathArg: true},
		// logged in: data connections and transfers
		"PASV": {run: (*session).cmdPASV, acc: accLoggedIn, arg: argNone},
		"EPSV": {run: (*session).cmdEPSV, acc: accLoggedIn, arg: argOptional},
		"PORT": {run: (*session).cmdPORT, acc: accLoggedIn, arg: argRequired},
		"EPRT": {run: (*session).cmdEPRT, acc: accLoggedIn, arg: argRequired},
		"LIST": {run: (*session).cmdLIST, acc: accLoggedIn, arg: argOptional, async: true},
		"NLST": {run: (*session).cmdNLST, acc: accLoggedIn, arg: argOptional, async: true},
		"MLSD": {run: (*session).cmdMLSD, acc: accLoggedIn, arg: argOptional, async: true},
		"RETR": {run: (*session).cmdRETR, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true, usesRest: true},
		"STOR": {run: (*session).cmdSTOR, acc: accLoggedIn, arg: argRequired, pathArg: true, async: true, usesRest: true},
		"APPE": {run: (*session).cmdAPPE, acc: accLoggedIn, arg: argRequired, pathArg: true, async: true, usesRest: true},
		"STOU": {run: (*session).cmdSTOU, acc: accLoggedIn, arg: argOptional, async: true, usesRest: true},
		// logged in: digests (cmd_hash.go); async: a computation reports
		// its own final reply, like a transfer
		"HASH":    {run: (*session).cmdHASH, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true},
		"XCRC":    {run: (*session).cmdXCRC, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true},
		"XMD5":    {run: (*session).cmdXMD5, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true},
		"XSHA1":   {run: (*session).cmdXSHA1, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true},
		"XSHA256": {run: (*session).cmdXSHA256, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true},
		"XSHA512": {run: (*session).cmdXSHA512, acc: accLoggedIn, arg: argRequired, pathArg: true, perm: policy.PermDownload, async: true},
	}
}

// Verbs returns the verbs of the command table, sorted: the closed set the
// metrics may use as a label.
func Verbs() []string {
	out := make([]string, 0, len(commands))
	for v := range commands {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// dispatch runs one request; false ends the session.
func (s *session) dispatch(req request) (keep bool) {
	c, ok := commands[req.verb]
	if !ok {
		s.replyR(replyUnknownCommand)
		s.srv.obs.Command("OTHER", 500)
		return true
	}
	s.pol.Store(s.srv.cfg.Policy()) // one snapshot per command: a reload cannot split it
	code := s.gate(c, req)
	if code != 0 && c.usesRest {
		s.restOffset = 0 // the transfer command was refused: the marker is spent
	}
	if code != 0 {
		s.srv.obs.Command(req.verb, code)
		return !s.closing.Load()
	}
	if req.verb != "RNFR" && req.verb != "RNTO" {
		s.renameFrom = nil
	}
	s.xferStarted = false
	s.verb = req.verb
	c.run(s, req)
	s.noteCommand(req.verb) // admin API snapshot (sessions_api.go)
	if c.audit {
		s.auditLine(req)
	}
	if c.usesRest {
		s.restOffset = 0
	}
	if !c.async || !s.xferStarted {
		s.srv.obs.Command(req.verb, s.lastCode())
	}
	return s.getState() != stateClosed && !s.closing.Load()
}

// gate checks state, argument presence, transfer-in-flight and path
// permission. It returns the reply code it sent, or 0 to run the handler.
func (s *session) gate(c *command, req request) int {
	st := s.getState()
	switch {
	case c.acc >= accTLS && st == stateNew:
		if req.verb == "USER" || req.verb == "PASS" {
			s.srv.obs.Login(LoginTLSRequired, "")
			s.log.Info("login refused", "reason", "tls_required")
		}
		s.replyR(replyTLSFirst)
		return replyTLSFirst.code
	case c.acc == accLoggedIn && st != stateLoggedIn:
		s.replyR(replyLoginFirst)
		return replyLoginFirst.code
	case c.arg == argNone && req.arg != "":
		s.replyR(replyNoArgumentAllowed)
		return 501
	case c.arg == argRequired && strings.TrimSpace(req.arg) == "":
		s.replyR(replyArgumentRequired)
		return 501
	case !c.during && s.busy():
		s.replyR(replyTransferProgress)
		return 503
	}
	if c.pathArg && c.perm != 0 {
		p, err := resolve(s.cwd, req.arg)
		if err != nil {
			return s.fail(err)
		}
		if err := s.authorize(c.perm, p); err != nil {
			return s.fail(err)
		}
	}
	return 0
}

// fail sends the reply for err and returns its code.
func (s *session) fail(err error) int {
	r := replyFor(err)
	if r == replyLocalError || r == replyUnavailable {
		s.log.Warn("operation failed", "error", err)
	} else {
		s.log.Debug("operation refused", "error", err)
	}
	s.replyR(r)
	return r.code
}

// authorize asks the policy whether the logged-in user may exercise perm
// on p. Denials are logged and counted here, once.
func (s *session) authorize(perm policy.Perm, p vpath) error {
	return s.judge(perm, p, s.policy().Decide(s.ident, perm, p.String()))
}

// judge turns a decision about perm on p into nil or the error to answer
// (errHidden answers as a missing path, errDenied as a denial), logging
// and counting a refusal.
func (s *session) judge(perm policy.Perm, p vpath, d policy.Decision) error {
	if d.Allowed {
		return nil
	}
	s.srv.obs.Denied(perm.Name(), s.ident.User)
	s.log.Info("denied", "command", s.verb, "operation", perm.Name(), "path", p.String(), "rule", d.Reason)
	if d.Hidden {
		return errHidden
	}
	return errDenied
}

// policy is the snapshot the current command decides with, taken at
// dispatch before the gate; a transfer goroutine sees the snapshot of the
// latest command.
func (s *session) policy() *policy.Policy {
	if p := s.pol.Load(); p != nil {
		return p
	}
	return s.srv.cfg.Policy()
}

// visible reports whether p may be shown at all (not hidden by a rule).
func (s *session) visible(p vpath) bool {
	d := s.policy().Decide(s.ident, policy.PermList, p.String())
	return !d.Hidden
}

// allowed is authorize without logging, for facts and listings.
func (s *session) allowed(perm policy.Perm, p vpath) bool {
	return s.policy().Decide(s.ident, perm, p.String()).Allowed
}

// auditLine writes the one line of a command that changes the storage:
// the session's id, user and client come with the session's logger; the
// command, the virtual path and the outcome (the reply code) are added.
func (s *session) auditLine(req request) {
	arg := req.arg
	if req.verb == "MFMT" || req.verb == "SITE" {
		_, arg, _ = strings.Cut(arg, " ") // MFMT TIME PATH; SITE SUB ARGS
	}
	path := arg
	if p, err := resolve(s.cwd, arg); err == nil {
		path = p.String()
	}
	code := s.lastCode()
	outcome := "ok"
	if code >= 400 {
		outcome = "failed"
	}
	s.log.Info("audit", "command", req.verb, "path", path, "outcome", outcome, "code", code)
}
