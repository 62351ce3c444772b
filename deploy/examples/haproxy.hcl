# One gateway node behind HAProxy (deploy/haproxy/haproxy.cfg).
#
# HAProxy carries the control connections (port 21) and sends a PROXY v2
# header on each, so this gateway sees, logs, limits and bans the real
# client address. Passive data connections do NOT go through HAProxy: the
# client connects straight to this node's public_address inside
# port_range (open them in the node's firewall, deploy/firewall/), and the
# gateway accepts a data connection only from the client address that the
# PROXY header of its control connection named. Every gateway node behind
# the same HAProxy has its own config with its own public_address.

server {
  # This node's own address; only HAProxy connects here.
  listen        = ["10.0.1.11:2121"]
  drain_timeout = "5m"                   # systemd TimeoutStopSec and HAProxy's timeouts sit above it
  idle_timeout  = "5m"
  proxy_protocol {
    # The HAProxy hosts (both members of an HA pair). A connection from any
    # other address is closed before a byte is read, and one from these
    # without a valid PROXY header is closed too.
    trusted_cidrs = ["10.0.0.5/32", "10.0.0.6/32"]
  }
}

tls {
  source    = "file"
  cert_file = "/etc/ftpsgw/tls/cert.pem"  # the name clients dial: HAProxy's, e.g. ftp.example.com
  key_file  = "/etc/ftpsgw/tls/key.pem"   # chmod 600, owned by the ftpsgw user
}

passive {
  port_range     = "50000-50999"
  public_address = "203.0.113.11"        # this node's public address, not HAProxy's
}

metrics {
  # HAProxy's health check asks /readyz here (option httpchk ... port 9121).
  listen = "10.0.1.11:9121"
}

log {
  level  = "info"
  format = "json"
}

backend "local" "files" {
  root = "/srv/ftp"                      # shared storage when several nodes serve the same users
}

user "alice" {
  # replace with the output of: ftpsgw hash-password
  password_hash = "$argon2id$v=19$m=65536,t=3,p=2$szmUazhV5BezWWpe6Nv4Bw$Sy43mAZeVzb15saxEozANhbMel5q04qJYR9tZzaJWKk"
  backend       = "files"
  home          = "/alice"
  permissions   = ["list", "download", "upload", "mkdir"]
}
