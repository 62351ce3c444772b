package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

func (s *session) cmdAUTH(req request) {
	if s.getState() != stateNew {
		s.replyR(replyAlreadyUsingTls)
		return
	}
	switch strings.ToUpper(strings.TrimSpace(req.arg)) {
	case "TLS", "TLS-C", "SSL", "TLS-P":
	default:
		s.replyR(replySecurityMechanismSupported)
		return
	}
	if s.replyR(replyProceedTlsNegotiation) != nil {
		s.closing.Store(true)
		return
	}
	// Anything the client sent after AUTH and before the handshake would
	// be read as if it came through TLS: plaintext command injection.
	if s.lr.buffered() > 0 {
		s.log.Warn("plaintext after auth tls, closing")
		s.closing.Store(true)
		return
	}
	if err := s.startTLS(); err != nil {
		s.closing.Store(true)
	}
}

func (s *session) cmdPBSZ(req request) {
	s.pbsz = true
	s.replyR(replyPbsz0)
}

func (s *session) cmdPROT(req request) {
	if !s.pbsz {
		s.replyR(replyPbszRequiredBefore)
		return
	}
	switch strings.ToUpper(strings.TrimSpace(req.arg)) {
	case "P":
		s.protP = true
		s.replyR(replyProtPrivate)
	case "C":
		s.protP = false
		s.replyR(replyProtClear)
	case "S", "E":
		s.replyR(replyProtectionLevelSupported)
	default:
		s.replyR(replyUnknownProtectionLevel)
	}
}

func (s *session) cmdCCC(req request) {
	s.replyR(replyCccRefusedControl)
}

// sessionCaps is what the logged-in user's storage supports at the home
// (FEAT and HELP show only that); before login, everything.
func (s *session) sessionCaps() backend.Caps {
	if s.getState() != stateLoggedIn || s.fs == nil {
		return backend.AllCaps
	}
	return s.fs.Caps(".")
}

// capVerbs are the verbs FEAT and HELP leave out when the storage lacks
// the capability. REST STREAM stays: downloads always resume.
var capVerbs = map[string]backend.Caps{"APPE": backend.CapAppend, "MFMT": backend.CapChtimes}

func (s *session) cmdFEAT(req request) {
	caps := s.sessionCaps()
	feats := []string{"AUTH TLS", "PBSZ", "PROT", "UTF8", "HOST", "SIZE", "MDTM"}
	if caps.Has(capVerbs["MFMT"]) {
		feats = append(feats, "MFMT")
	}
	feats = append(feats, "REST STREAM", "EPSV", "TVFS", "MLST "+s.mlstFeat(), s.hashFeat())
	feats = append(feats, digestFeats...)
	if s.srv.cfg.ActiveEnabled {
		feats = append(feats, "EPRT")
	}
	s.replyMulti(211, "Features:", feats, "End")
}

func (s *session) cmdHELP(req request) {
	caps := s.sessionCaps()
	verbs := make([]string, 0, len(commands))
	for v := range commands {
		if need, ok := capVerbs[v]; ok && !caps.Has(need) {
			continue
		}
		verbs = append(verbs, v)
	}
	sortStrings(verbs)
	var lines []string
	for i := 0; i < len(verbs); i += 10 {
		lines = append(lines, strings.Join(verbs[i:min(i+10, len(verbs))], " "))
	}
	s.replyMulti(214, "The following commands are recognized.", lines, "Help OK.")
}

func (s *session) cmdNOOP(req request) { s.replyR(replyNoopOk) }

func (s *session) cmdSYST(req request) { s.replyR(replyUnixTypeL8) }

func (s *session) cmdQUIT(req request) {
	s.abortTransfer()
	s.replyR(replyGoodbye)
	s.closing.Store(true)
}

func (s *session) cmdHOST(req request) {
	if s.getState() == stateLoggedIn || s.userName != "" {
		s.replyR(replyHostMustCome)
		return
	}
	h := strings.TrimSpace(req.arg)
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if len(h) > 253 {
		s.replyR(replyHostNameToo)
		return
	}
	s.host = h
	s.replyR(replyHostAccepted)
}

func (s *session) cmdOPTS(req request) {
	opt, val, _ := strings.Cut(strings.TrimSpace(req.arg), " ")
	switch strings.ToUpper(opt) {
	case "UTF8", "UTF-8":
		switch strings.ToUpper(strings.TrimSpace(val)) {
		case "", "ON":
			s.replyR(replyUtf8ModeAlways)
		default:
			s.replyR(replyUtf8CannotTurned)
		}
	case "MLST":
		if s.getState() == stateNew {
			s.replyR(replyTLSFirst)
			return
		}
		s.setMLSTFacts(val)
		s.reply(200, "MLST OPTS "+s.mlstOpts())
	case "HASH":
		s.optsHASH(val)
	default:
		s.replyR(replyOptionUnderstood)
	}
}

func (s *session) cmdUSER(req request) {
	if s.getState() == stateLoggedIn {
		s.replyR(replyAlreadyLoggedRein)
		return
	}
	s.userName = req.arg
	s.replyR(replySpecifyPassword)
}

func (s *session) cmdREIN(req request) {
	s.abortTransfer()
	s.closeData()
	if s.counted != "" {
		s.srv.releaseUser(s.counted)
		s.counted = ""
	}
	s.logout()
	s.ascii, s.restOffset, s.epsvAll = false, 0, false
	s.setState(stateTLS)
	s.srv.setPreauth(s, true)
	s.replyR(replyReadyNewUser)
}

// cmdPASS checks the password. Failures cost a growing delay, count
// towards the defender's ban and end the connection after a few.
func (s *session) cmdPASS(req request) {
	if s.getState() == stateLoggedIn {
		s.replyR(replyAlreadyLogged)
		return
	}
	if s.userName == "" {
		s.replyR(replyLoginUser)
		return
	}
	user := s.userName
	s.userName = ""
	// A ban reaches connections opened before it: no password is checked
	// while the address is banned, and the attempt still counts.
	if banned, _ := s.srv.cfg.Defender.Banned(s.client); banned {
		s.srv.cfg.Defender.Failure(s.client)
		s.srv.obs.Login(LoginBanned, "")
		s.log.Info("login refused", "user", user, "result", string(LoginBanned))
		s.replyR(replyLoginIncorrect)
		s.closing.Store(true)
		return
	}
	// A user name under a password-spraying attack is throttled across
	// all addresses: attempts on it are spaced out, the right password
	// included (policy/account.go).
	if d := s.srv.cfg.Defender.AccountDelay(user); d > 0 {
		s.log.Info("login attempt spaced out", "user", user, "delay", d.Round(time.Millisecond))
		s.sleep(d)
		if s.closing.Load() {
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.AuthTimeout)
	defer cancel()
	id, err := s.srv.cfg.Policy().Authenticate(ctx, policy.LoginRequest{
		User:             user,
		Password:         req.arg,
		Client:           s.client,
		PeerCertificates: s.peerCert.PeerCertificates,
		Upstream:         s.srv.checkUpstream,
	})
	if err != nil {
		s.loginFailed(user, err)
		return
	}
	if err := s.loginOK(ctx, id, backend.Credentials{User: user, Password: req.arg}); err != nil {
		return
	}
}

// loginFailed answers one failed login.
func (s *session) loginFailed(user string, err error) {
	result := LoginBadPassword
	var ae *policy.AuthError
	if errors.As(err, &ae) {
		switch ae.Reason {
		case policy.ReasonUnknownUser:
			result = LoginUnknownUser
		case policy.ReasonDeniedNetwork:
			result = LoginDeniedNetwork
		case policy.ReasonCertificate:
			result = LoginCertificate
		case policy.ReasonUnavailable:
			result = LoginUnavailable
		}
	}
	s.srv.obs.Login(result, "")
	s.log.Info("login failed", "user", user, "result", string(result), "error", err)
	if result == LoginUnavailable {
		// Not the client's fault: no defender strike, no delay.
		s.replyR(replyAuthenticationServiceUnavailable)
		s.closing.Store(true)
		return
	}
	s.failures++
	if s.srv.cfg.Defender.AccountFailure(user) {
		s.log.Warn("user name throttled after repeated failed logins", "user", user)
	}
	banned, until := s.srv.cfg.Defender.Failure(s.client)
	if banned {
		s.srv.cfg.Policy().ForgetVerified() // every login pays the full hash again
		s.srv.obs.Banned(s.client)
		s.log.Warn("client banned", "until", until.UTC().Format(time.RFC3339), "failures", s.failures)
	}
	s.sleep(time.Duration(s.failures) * s.srv.loginFailDelay)
	s.replyR(replyLoginIncorrect)
	if banned || s.failures >= maxLoginFailures {
		s.closing.Store(true)
	}
}

// sleep waits d unless the session is being closed.
func (s *session) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-tick.C:
			if s.closing.Load() {
				return
			}
		}
	}
}

// loginOK opens the user's backend (handing cred to backends that log in
// as the user) and enters the logged-in state.
func (s *session) loginOK(ctx context.Context, id *policy.Identity, cred backend.Credentials) error {
	pol := s.srv.cfg.Policy()
	lim := pol.Limits(id)
	if !s.srv.claimUser(id.User, lim.MaxSessions) {
		s.srv.obs.Login(LoginLimit, id.User)
		s.log.Info("login refused", "user", id.User, "result", string(LoginLimit))
		s.replyR(replyTooManySessions)
		return errDenied
	}
	fsys, err := s.srv.openTree(ctx, id, cred)
	if errors.Is(err, errCredentialsRefused) {
		// The upstream refused the user's own password: a failed login,
		// with its delay and defender strike.
		s.srv.releaseUser(id.User)
		s.loginFailed(id.User, err)
		return err
	}
	if err != nil {
		s.srv.releaseUser(id.User)
		s.srv.obs.Login(LoginUnavailable, id.User)
		s.log.Error("backend open failed", "user", id.User, "backend", id.Backend, "error", err)
		s.replyR(replyStorageDown)
		s.closing.Store(true)
		return err
	}
	s.fs = fsys
	s.counted = id.User
	s.ident = id
	s.backend = id.Backend
	s.cwd = rootPath
	s.srv.cfg.Defender.Success(s.client)
	s.failures = 0
	if s.tls != nil {
		s.tls.Bind(id.User, s.client) // data tickets are bound to this user and address
	}
	s.setState(stateLoggedIn)
	s.srv.setPreauth(s, false)
	s.log = s.log.With("user", id.User)
	s.initQuota(ctx, lim)
	s.srv.obs.Login(LoginOK, id.User)
	s.log.Info("login ok", "backend", id.Backend, "source", id.Source,
		"tls_version", TLSVersionName(s.tlsVer))
	s.loginReply() // login_message_file lines, if any (notices.go)
	return nil
}
