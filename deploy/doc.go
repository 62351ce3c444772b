// Package deploy holds no code: it is the home of the deployment files
// (example configs, systemd unit, container image, Kubernetes manifests,
// HAProxy and firewall examples, Prometheus and Grafana files) and of the
// tests that keep them valid and in step with each other and with the
// example configs, among them an end-to-end run of the real binary behind
// a real HAProxy that sends PROXY v2 headers.
package deploy
