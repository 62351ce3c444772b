# A read-only download site: one local directory published to a few
# partners, nothing can be uploaded, changed or deleted, and an anonymous
# login may list and download the public part only.

server {
  listen              = ["0.0.0.0:21"]
  banner              = "downloads ready"
  max_sessions        = 500
  max_sessions_per_ip = 8
}

tls {
  source    = "file"
  cert_file = "/etc/ftpsgw/tls/cert.pem"
  key_file  = "/etc/ftpsgw/tls/key.pem"
  min_version = "1.2"
  require   = "all"
}

passive {
  port_range = "50000-50199"
}

log {
  level        = "info"
  format       = "json"
  transfer_log = "/var/log/ftpsgw/transfers.log"
  transfer_format = "xferlog"
}

defender {
  max_failures = 5
  window       = "10m"
  ban          = "1h"
}

backend "local" "downloads" {
  root = "/srv/downloads"
}

group "partners" {
  permissions = ["list", "download"]
  rule "/internal/**" {
    permissions = []
  }
}

anonymous {
  backend     = "downloads"
  home        = "/public"
  permissions = ["list", "download"]
}

user "acme" {
  # replace with the output of: ftpsgw hash-password
  password_hash = "$argon2id$v=19$m=65536,t=3,p=2$szmUazhV5BezWWpe6Nv4Bw$Sy43mAZeVzb15saxEozANhbMel5q04qJYR9tZzaJWKk"
  groups        = ["partners"]
  home          = "/partners/acme"
  bandwidth {
    download = "20MiB/s"
  }
}
