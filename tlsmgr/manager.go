package tlsmgr

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// source is one certificate source: file, self_signed or acme.
type source interface {
	// certificate picks the certificate for a handshake; hello.ServerName
	// is already the SNI name or, failing that, the HOST name.
	certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
	// reload re-reads the source; on error the old certificate stays.
	reload() error
	// expiries maps certificate names to their NotAfter.
	expiries() map[string]time.Time
	// close stops background work.
	close()
}

// Manager owns TLS for the gateway: certificates, the version and cipher
// policy, client-certificate verification and the binding of data
// connections to their FTP session. It implements the gateway's
// TLSProvider. A Manager is safe for concurrent use.
type Manager struct {
	cfg        Config
	log        hclog.Logger
	minVersion uint16
	src        source

	// ticketKeys is the one config whose automatic session ticket keys
	// encrypt and decrypt every ticket, whichever per-session config
	// minted or received it. Only its EncryptTicket/DecryptTicket are used.
	ticketKeys *tls.Config

	// nonce is minted at New and written into every ticket; a ticket with
	// another nonce (another process, another Manager) binds nothing.
	nonce token
	// binding is BindingUser or BindingSession.
	binding string
	// reg knows every FTP session's user and client address.
	reg *registry

	trust atomic.Pointer[clientTrust] // nil when no client_ca_file

	expiryEvery time.Duration
	now         func() time.Time

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New validates cfg, loads or obtains the certificates (for ACME it waits
// until every domain has a certificate, so failures are loud at start-up)
// and starts the background work: file polling, ACME renewal and the
// expiry warnings. Background work stops when ctx ends or Close is called.
// A nil logger discards logs.
func New(ctx context.Context, cfg Config, logger hclog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	minVersion, _ := parseMinVersion(cfg.MinVersion)
	m := &Manager{
		cfg:         cfg,
		log:         logger,
		minVersion:  minVersion,
		ticketKeys:  policyConfig(minVersion),
		binding:     cfg.SessionBinding,
		expiryEvery: time.Hour,
		now:         time.Now,
	}
	if m.binding == "" {
		m.binding = BindingUser
	}
	_, _ = rand.Read(m.nonce[:]) // crypto/rand.Read never fails
	m.reg = newRegistry(func() time.Time { return m.now() })
	if err := m.loadClientAuth(); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	var err error
	switch cfg.Source {
	case SourceFile:
		m.src, err = newFileSource(bg, cfg, logger.Named("file"), &m.wg)
	case SourceSelfSigned:
		m.src, err = newSelfSignedSource(cfg, logger.Named("self_signed"))
	case SourceACME:
		m.src, err = newACMESource(bg, cfg.ACME, logger.Named("acme"))
	}
	if err != nil {
		cancel()
		m.wg.Wait()
		return nil, err
	}
	m.wg.Add(1)
	go m.watchExpiry(bg)
	return m, nil
}

// Reload re-reads the certificate files (source file and self_signed), the
// client CA file and the client CRL file. On any error the previous
// material stays in force (the CA file and the CRL are kept or replaced
// together) and the error says what was wrong. Sessions in flight are not touched; new
// handshakes use the new material.
func (m *Manager) Reload() error {
	var errs []error
	if err := m.loadClientAuth(); err != nil {
		m.log.Error("client ca or crl reload rejected, keeping the current ones", "error", err)
		errs = append(errs, err)
	}
	if err := m.src.reload(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Expiries maps each certificate's name to its NotAfter, for metrics.
func (m *Manager) Expiries() map[string]time.Time {
	return m.src.expiries()
}

// Close stops the background work. Configs already handed out keep
// working with the last certificates. Close is idempotent.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		m.cancel()
		m.wg.Wait()
		m.src.close()
	})
}

// NewSession returns the TLS state of one FTP session (a *Session); id is
// the gateway's session id, used only in logs. The gateway must Close it.
func (m *Manager) NewSession(id string) TLSSession {
	return newSession(m, id)
}

// getCertificate serves a handshake: SNI wins, else the HOST name.
func (m *Manager) getCertificate(hello *tls.ClientHelloInfo, host string) (*tls.Certificate, error) {
	if hello.ServerName == "" && host != "" {
		h := *hello
		h.ServerName = host
		hello = &h
	}
	return m.src.certificate(hello)
}

// loadClientAuth (re)reads client_ca_file and client_crl_file and swaps
// them in together.
func (m *Manager) loadClientAuth() error {
	tr, err := m.loadClientTrust()
	if err != nil {
		return err
	}
	if tr != nil {
		m.trust.Store(tr)
	}
	return nil
}

// watchExpiry logs a warning for every certificate within ExpiryWarning of
// its NotAfter, at start and then every expiryEvery.
func (m *Manager) watchExpiry(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.expiryEvery)
	defer t.Stop()
	for {
		m.checkExpiry()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkExpiry logs one line per certificate close to (or past) expiry and
// returns how many it logged.
func (m *Manager) checkExpiry() int {
	now := m.now()
	n := 0
	for name, notAfter := range m.Expiries() {
		left := notAfter.Sub(now)
		switch {
		case left <= 0:
			m.log.Error("certificate has expired", "name", name, "not_after", notAfter.UTC().Format(time.RFC3339))
			n++
		case left < ExpiryWarning:
			m.log.Warn("certificate expires soon", "name", name, "not_after", notAfter.UTC().Format(time.RFC3339), "remaining", left.Round(time.Minute).String())
			n++
		}
	}
	return n
}
