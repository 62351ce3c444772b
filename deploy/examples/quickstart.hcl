# Quickstart: try ftpsgw on your own machine, from the repository root:
#
#   go run ./cmd/ftpsgw serve -config deploy/examples/quickstart.hcl
#   curl --ssl-reqd -k -u demo ftp://127.0.0.1:2121/      (password: see README)
#
# It serves ./data (created if missing) on 127.0.0.1 only, with a
# self-signed certificate kept under ./state. Not for production: the
# certificate is self-signed and the demo password is public.

server {
  listen        = ["127.0.0.1:2121"]
  drain_timeout = "10s"
}

tls {
  source    = "self_signed"
  state_dir = "./state"
}

passive {
  port_range = "50000-50099"
  public_address = "127.0.0.1"
}

metrics {
  listen = "127.0.0.1:9121"
}

log {
  level  = "info"
  format = "text"
}

backend "local" "files" {
  root = "./data"
}

user "demo" {
  # argon2id hash of the demo password written in the README;
  # make your own with: ftpsgw hash-password
  password_hash = "$argon2id$v=19$m=65536,t=3,p=2$szmUazhV5BezWWpe6Nv4Bw$Sy43mAZeVzb15saxEozANhbMel5q04qJYR9tZzaJWKk"
  backend       = "files"
  permissions   = ["*"]
}
