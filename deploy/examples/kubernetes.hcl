# The config deploy/kubernetes/configmap.yaml ships (keep the two identical:
# deploy/deploy_test.go checks it).
#
# One pod behind one LoadBalancer address: the Service forwards the control
# port and every port of the (deliberately small) passive range to this pod,
# and public_address is that LoadBalancer address. See
# deploy/kubernetes/README.md before changing replicas or the range.

server {
  listen              = ["0.0.0.0:2121"] # the Service maps port 21 here; no capability needed
  drain_timeout       = "5m"             # terminationGracePeriodSeconds sits above it
  max_sessions        = 200
  max_sessions_per_ip = 8                # each session may hold one passive port of 20
}

tls {
  # Copied from the ftpsgw-tls Secret into an emptyDir by the init
  # container, owned by the gateway's user with mode 600.
  source    = "file"
  cert_file = "/etc/ftpsgw/tls/tls.crt"
  key_file  = "/etc/ftpsgw/tls/tls.key"
}

passive {
  port_range     = "50000-50019"         # every port is a Service port: keep it small
  public_address = "203.0.113.10"        # the Service's LoadBalancer IP (spec.loadBalancerIP / your cloud's annotation)
}

metrics {
  listen = "0.0.0.0:9121"                # probes and Prometheus reach the pod IP
}

log {
  level  = "info"
  format = "json"                        # to stdout: kubectl logs
}

backend "local" "files" {
  root = "/srv/ftp"                      # the ftpsgw-data PersistentVolumeClaim
}

user "alice" {
  # replace with the output of: ftpsgw hash-password
  password_hash = "$argon2id$v=19$m=65536,t=3,p=2$szmUazhV5BezWWpe6Nv4Bw$Sy43mAZeVzb15saxEozANhbMel5q04qJYR9tZzaJWKk"
  backend       = "files"
  home          = "/alice"
  permissions   = ["list", "download", "upload", "mkdir"]
}
