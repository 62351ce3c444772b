# Every block and key ftpsgw understands, with the values an operator would
# typically pick. Keys marked "default" may be left out: the value shown is
# what ftpsgw uses then. Paths under /etc/ftpsgw must exist; key and secret
# files must be readable by their owner only (chmod 600).
#
# Validate a copy of it with: ftpsgw check-config -config full.hcl
# It uses source = "file" for TLS; the acme block below shows the ACME keys
# and is ignored (with a warning) until source = "acme". The ftp
# backend below speaks FTPS upstream; tls = "none" works too, and
# check-config then warns that the password crosses in clear.

server {
  listen              = ["0.0.0.0:21"]   # default
  implicit_listen     = ["0.0.0.0:990"]  # default: none
  banner              = "ftpsgw ready"   # default
  banner_file         = "/etc/ftpsgw/banner.txt" # default: none; multi-line 220 (50 lines x 200 bytes kept)
  login_message_file  = "/etc/ftpsgw/motd.txt"   # default: none; multi-line 230
  login_timeout       = "30s"            # default
  idle_timeout        = "5m"             # default
  data_timeout        = "30s"            # default
  max_sessions        = 2000             # default
  max_sessions_per_ip = 32               # default
  drain_timeout       = "5m"             # default
  allow_from          = ["10.0.0.0/8", "192.168.0.0/16"] # default: everyone not denied
  deny_from           = ["10.66.0.0/16"]                 # default: none
  proxy_protocol {
    trusted_cidrs = ["10.0.0.0/8"]
  }
}

tls {
  source         = "file"
  cert_file      = "/etc/ftpsgw/tls/cert.pem"
  key_file       = "/etc/ftpsgw/tls/key.pem"
  min_version    = "1.2"                 # default; "1.3" is the only other choice
  require        = "all"                 # default; "login" lets data go unencrypted (PROT C)
  session_reuse  = "required"            # default; "observe" | "off"
  session_binding = "user"               # default: tickets of this user from this address; "session": this FTP session's only
  reuse_exempt_from = ["10.20.0.0/16"]   # default []: legacy clients whose data connections are served as in "observe"
  close_notify_exempt_from = []          # default []: clients whose uploads may end without close_notify
  strict_sni     = false                 # default; true refuses SNI names the certificates do not cover
  client_ca_file = "/etc/ftpsgw/tls/client-ca.pem"
  client_cert    = "optional"            # default "none" ("optional" when client_ca_file is set)
  client_crl_file = "/etc/ftpsgw/tls/client-ca.crl" # default "": revoked client certificates (PEM or DER), reloaded on SIGHUP
  state_dir      = "/var/lib/ftpsgw/tls" # source "self_signed" only: where its certificate is kept
  hostnames      = ["ftp.example.com"]   # source "self_signed" only; default localhost, 127.0.0.1, ::1
  acme {
    domains       = ["ftp.example.com"]
    email         = "ops@example.com"
    ca_url        = ""                   # default: Let's Encrypt production
    ca_root_file  = "/etc/ftpsgw/acme-ca.pem"
    storage       = "/var/lib/ftpsgw/acme" # default
    challenges    = ["http-01"]          # default
    http_port     = 80                   # default
    tls_alpn_port = 443                  # default
    listen_host   = ""                   # default: all addresses
    ocsp_stapling = true                 # default
  }
}

passive {
  port_range     = "50000-50999"         # default
  public_address = "203.0.113.10"        # default: the control connection's local address
  address_for "10.0.0.0/8" {
    address = "10.1.2.3"
  }
  address_for "192.168.0.0/16" {
    address = "192.168.1.10"
  }
}

active {
  enabled = false                        # default
}

admin {                                  # default: no admin listener
  listen       = "127.0.0.1:9122"        # non-loopback only with tls_cert_file and tls_key_file
  token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" # or token_file
  pprof        = false                   # default; true: /debug/pprof/ behind the token
}

hook "ingest" {                          # default: none; any number
  events      = ["upload", "login_failed"]
  url         = "https://ingest.internal/ftp" # https; http only to loopback
  secret_file = "/etc/ftpsgw/hook.secret"     # HMAC-SHA256 key for X-Ftpsgw-Signature
  timeout     = "10s"                         # default
}

hook "audit" {
  events  = ["delete", "rename", "mkdir", "rmdir", "ban"]
  command = ["/bin/true", "{event}", "{path}"] # absolute path, no shell; the event JSON on stdin
}

hook "scanner" {
  events         = ["upload"]
  command        = ["/bin/true"]              # exit 0 publishes the upload
  timeout        = "30s"
  veto           = true                       # default false: screen uploads before publication
  quarantine_dir = "/var/lib/ftpsgw/quarantine" # default "": refused uploads are removed
}

metrics {
  listen                   = "127.0.0.1:9121" # default; "" turns the listener off
  per_user                 = false            # default
  basic_auth_user          = "prometheus"     # default: no authentication
  basic_auth_password_file = "/etc/ftpsgw/metrics.secret"
  tls_cert_file            = "/etc/ftpsgw/tls/cert.pem" # default: plain HTTP
  tls_key_file             = "/etc/ftpsgw/tls/key.pem"
}

log {
  level           = "info"               # default
  format          = "json"               # default
  transfer_log    = "/var/log/ftpsgw/transfers.log"   # default: the main log
  transfer_format = "xferlog"            # default "json"
}

defender {
  max_failures = 5                       # default
  window       = "10m"                   # default
  ban          = "30m"                   # default
  max_ban      = "24h"                   # default: the cap on doubling bans
  exempt       = ["192.0.2.10/32"]       # default: none; never counted or banned
  account_failures  = 5                  # default: failures on one user name, any address ...
  account_max_delay = "10s"              # default: ... then its attempts are spaced out up to this
}

backend "local" "files" {
  root = "/srv/ftp"
  durability = "fsync"     # default; "none" skips the syncs (faster, loses recent uploads in a crash)
}

backend "sftp" "legacy" {
  address          = "sftp.internal:22"
  user             = "gateway"
  private_key_file = "/etc/ftpsgw/id_ed25519"
  known_hosts_file = "/etc/ftpsgw/known_hosts"  # required: host key pinning is mandatory
  root             = "/export"
  max_connections  = 64                  # default
  keepalive        = "30s"               # default
  op_timeout       = "30s"               # default
  concurrency      = 64                  # default: SFTP requests in flight per file
}

backend "s3" "archive" {
  endpoint        = "https://s3.internal:9000"
  bucket          = "ftp"
  region          = "us-east-1"
  access_key_id   = "AKIAEXAMPLE"
  secret_key_file = "/etc/ftpsgw/s3.secret"
  prefix          = ""
}

backend "ftp" "mainframe" {
  address         = "10.9.9.9:21"
  user            = "svc"            # credentials = "service" only
  password_file   = "/etc/ftpsgw/upstream.secret"
  root            = "/"              # default
  tls             = "explicit"       # default; "explicit" | "implicit" | "none"
  ca_file         = "/etc/ftpsgw/upstream-ca.pem" # default: system roots
  # fingerprint   = "SHA256:..."     # pin the upstream's certificate instead
  credentials     = "service"        # default; "passthrough": the user's own login upstream
  max_connections = 64               # default; upstream control connections
  keepalive       = "60s"            # default; NOOP on an idle session
  op_timeout      = "30s"            # default
}

auth "ldap" {
  url              = "ldaps://ldap.internal:636"
  bind_dn_template = "uid={user},ou=people,dc=example,dc=com"
  group_attribute  = "memberOf"
  start_tls        = false               # default; only with ldap:// URLs
  ca_file          = "/etc/ftpsgw/ldap-ca.pem"
  timeout          = "10s"
  cache_ttl        = "1m"
  default_backend  = "files"
  default_home     = "/home/{user}"
}

# Instead of auth "ldap" (only one of the two): users not listed here log
# in with the names and passwords an upstream FTP server accepts.
# auth "upstream" {
#   backend   = "mainframe"              # an ftp backend, credentials = "passthrough"
#   home      = "/"                      # default; may contain {user}
#   groups    = ["readers"]              # their permissions, rules and mounts apply
#   cache_ttl = "30s"                    # default
# }

anonymous {                              # default: no anonymous login
  backend     = "archive"
  home        = "/public"
  permissions = ["list", "download"]     # never more than these
}

group "readers" {
  permissions = ["list", "download"]
  backend     = "files"                  # for LDAP users of this group
  home        = "/shared"
  rule "/shared/private/**" {
    permissions = []
  }
}

group "writers" {
  permissions = ["list", "download", "upload", "overwrite", "append", "delete", "rename", "mkdir", "rmdir"]
}

user "alice" {
  password_hash = "$argon2id$v=19$m=65536,t=3,p=2$szmUazhV5BezWWpe6Nv4Bw$Sy43mAZeVzb15saxEozANhbMel5q04qJYR9tZzaJWKk"
  groups        = ["readers"]
  backend       = "files"
  home          = "/alice"
  allow_from    = ["10.0.0.0/8"]
  permissions   = ["list", "download", "upload", "mkdir"]
  rule "/incoming/**" {
    permissions = ["list", "upload"]
  }
  rule "/**/*.exe" {
    permissions = []
  }
  max_sessions  = 4
  max_file_size = "10GiB"
  quota         = "100GiB"
  quota_files   = 100000
  bandwidth {
    upload   = "20MiB/s"
    download = "50MiB/s"
  }
  mount "/archive" {                     # a virtual folder on another backend
    backend = "legacy"
    path    = "/exports/alice"           # default "/"
  }
}

user "bob" {
  password_hash = "$2a$12$eW26tMgsOKOF24B4zbIHFOY0Q/FO0aH3JnO1PPleRzeJS9XIgaCNC"
  groups        = ["writers"]
  backend       = "legacy"
  home          = "/"
}

user "robot" {
  backend             = "mainframe"
  permissions         = ["list", "download"]
  client_cert_subject = "CN=robot.example.com"
  cert_only           = true
}
