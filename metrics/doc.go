// Package metrics makes the gateway observable: Prometheus metrics, the
// root logger and the transfer log.
//
// # Metrics
//
// Metrics implements gateway.Observer on a private Prometheus registry
// (never the global default), so only ftpsgw_ metrics and the Go runtime
// and process collectors are exposed. Every label value comes from a
// closed set: typed gateway reasons and results, FTP verbs from a fixed
// allow-list (anything else is "OTHER"), reply classes "1xx".."5xx",
// permission names, and configured backend and certificate names. Paths
// and client addresses are never labels; user names are a label only with
// Config.PerUser, and then only for logins that succeeded, ACL denials and
// transfers, i.e. names the policy has accepted.
//
// The same listener serves /metrics, /healthz (the process is alive) and
// /readyz (every check registered with AddReadyCheck passes; otherwise 503
// naming the failing checks). It has read, write and idle timeouts, a
// header size limit, optional HTTPS (Config.TLSCertFile/TLSKeyFile) and
// optional basic auth (Config.BasicAuthUser/BasicAuthPasswordFile) on
// /metrics and /readyz; /healthz stays open for liveness probes.
//
// # Logs
//
// NewLogger builds the process's root go-hclog logger (JSON or text,
// trace..error). NewTransferLog writes one line per finished transfer in
// JSON or wu-ftpd xferlog format to a file (reopened on SIGHUP for
// rotation) or, without a file, to a logger. Nothing here logs FTP command
// lines or passwords.
//
// # Trust boundary
//
// The metrics listener is for operators and scrapers; bind it to loopback
// or a management network. Its only input is the HTTP request line and
// headers, handled by net/http. Secret files (password, TLS key) are
// refused when accessible to others.
//
// # Concurrency and lifecycle
//
// New builds everything; Observer methods, SetBanSource, SetCertExpiry,
// ConfigReload and AddReadyCheck are safe for concurrent use at any time,
// including while serving. Serve blocks until Shutdown, like
// http.Server.Serve, and may be called once. TransferLog methods are safe
// for concurrent use; Close ends it.
package metrics
