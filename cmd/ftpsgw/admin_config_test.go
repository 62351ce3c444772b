package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway"
)

// TestAdminConfigCheck: check-config reports each bad admin block or
// notice file with its file:line.
func TestAdminConfigCheck(t *testing.T) {
	const base = `server {
  listen = ["127.0.0.1:2121"]
  NOTICES
}
tls {
  source    = "self_signed"
  state_dir = "DIR/state"
}
backend "local" "files" {
  root = "DIR"
}
user "alice" {
  password_hash = "$2a$04$0123456789012345678901uKQ7n0Ebt0sVHqgxnOOV8ck0xh0mJce"
  permissions   = ["*"]
}
ADMIN
`
	tests := []struct {
		name, notices, admin, want string
	}{
		{"ok", ``, `admin {
  listen       = "127.0.0.1:9122"
  token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}`, ""},
		{"non-loopback", ``, `admin {
  listen       = "0.0.0.0:9122"
  token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}`, ":17: admin: listen \"0.0.0.0:9122\" is not a loopback address"},
		{"no token", ``, `admin {
  listen = "127.0.0.1:9122"
}`, ":16: admin: set token_sha256, token_file or client_ca_file"},
		{"bad hex", ``, `admin {
  listen       = "127.0.0.1:9122"
  token_sha256 = "abc"
}`, ":18: admin: token_sha256: want 64 hex digits"},
		{"open token file", ``, `admin {
  listen     = "127.0.0.1:9122"
  token_file = "DIR/open.token"
}`, ":18: token_file: "},
		{"short token", ``, `admin {
  listen     = "127.0.0.1:9122"
  token_file = "DIR/short.token"
}`, ":18: admin: token_file: the token must be at least 16 characters"},
		{"missing banner", `banner_file = "DIR/none.txt"`, ``, ":3: banner_file: "},
		{"hook http remote", ``, `hook "h" {
  events      = ["upload"]
  url         = "http://10.1.2.3/x"
  secret_file = "DIR/hook.secret"
}`, ":18: hook \"h\": url \"http://10.1.2.3/x\": want https://"},
		{"hook veto without upload", ``, `hook "h" {
  events      = ["download"]
  url         = "https://scan.example/x"
  secret_file = "DIR/hook.secret"
  veto        = true
}`, ":20: hook \"h\": veto screens uploads; add \"upload\" to its events"},
		{"hook quarantine without veto", ``, `hook "h" {
  events         = ["upload"]
  url            = "https://scan.example/x"
  secret_file    = "DIR/hook.secret"
  quarantine_dir = "DIR"
}`, ":20: hook \"h\": quarantine_dir is only used with veto = true"},
		{"hook quarantine relative", ``, `hook "h" {
  events         = ["upload"]
  command        = ["/bin/true"]
  veto           = true
  quarantine_dir = "quarantine"
}`, ":20: hook \"h\": quarantine_dir \"quarantine\" must be an absolute path"},
		{"hook quarantine missing", ``, `hook "h" {
  events         = ["upload"]
  command        = ["/bin/true"]
  veto           = true
  quarantine_dir = "DIR/nope"
}`, ":20: hook \"h\": quarantine_dir \"DIR/nope\" is not a directory"},
		{"hook veto ok", ``, `hook "h" {
  events         = ["upload", "delete"]
  url            = "https://scan.example/x"
  secret_file    = "DIR/hook.secret"
  veto           = true
  quarantine_dir = "DIR"
}`, ""},
		{"hook event", ``, `hook "h" {
  events      = ["uplaod"]
  url         = "https://scan.example/x"
  secret_file = "DIR/hook.secret"
}`, ":17: hook \"h\": unknown event \"uplaod\""},
		{"hook ok", ``, `hook "h" {
  events      = ["upload", "login"]
  url         = "http://127.0.0.1:9/x"
  secret_file = "DIR/hook.secret"
  timeout     = "5s"
}`, ""},
		{"hook command relative", ``, `hook "h" {
  events  = ["upload"]
  command = ["scan.sh", "--quick"]
}`, ":18: hook \"h\": command \"scan.sh\": the program must be an absolute path"},
		{"hook command missing", ``, `hook "h" {
  events  = ["upload"]
  command = ["DIR/nope.sh"]
}`, ":18: hook \"h\": command \"DIR/nope.sh\" is not an executable file"},
		{"hook url and command", ``, `hook "h" {
  events      = ["upload"]
  url         = "https://scan.example/x"
  secret_file = "DIR/hook.secret"
  command     = ["/bin/true"]
}`, ":20: hook \"h\": url and command exclude each other"},
		{"hook command placeholder", ``, `hook "h" {
  events  = ["upload"]
  command = ["/bin/true", "--file={path}", "{filename}"]
}`, ":18: hook \"h\": command: unknown placeholder {filename} (want {backend} {client}"},
		{"hook command ok", ``, `hook "h" {
  events  = ["upload", "delete"]
  command = ["/bin/true"]
  timeout = "5s"
}`, ""},
		{"client ca without tls", ``, `admin {
  listen         = "127.0.0.1:9122"
  client_ca_file = "DIR/hook.secret"
}`, ":18: admin: client_ca_file needs tls_cert_file and tls_key_file"},
		{"no listen", ``, `admin {
  token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}`, ":16: admin: listen is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "open.token"), []byte("0123456789abcdef0123"), 0o644)
			os.WriteFile(filepath.Join(dir, "short.token"), []byte("short"), 0o600)
			os.WriteFile(filepath.Join(dir, "hook.secret"), []byte("hook-secret"), 0o600)
			cfg := strings.NewReplacer("NOTICES", tc.notices, "ADMIN", tc.admin).Replace(base)
			cfg = strings.ReplaceAll(cfg, "DIR", dir)
			path := filepath.Join(dir, "ftpsgw.hcl")
			os.WriteFile(path, []byte(cfg), 0o600)
			code, out := checkConfig(t, path)
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("exit %d:\n%s", code, out)
				}
				return
			}
			if code == 0 || !strings.Contains(out, path+strings.ReplaceAll(tc.want, "DIR", dir)) {
				t.Errorf("exit %d, want %q:\n%s", code, tc.want, out)
			}
		})
	}
}

func TestNoticeLines(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		in   string
		want []string
	}{
		{"a\r\nb\n\n\n", []string{"a", "b"}},
		{"x\x1b[31my\x00z\x7f\tq", []string{"x[31myz q"}},
		{"bad\xffutf8", []string{"bad?utf8"}},
		{long, []string{strings.Repeat("é", 100)}},
		{strings.Repeat("l\n", 80), nil},
	}
	for _, tc := range tests {
		got := gateway.NoticeLines(tc.in)
		if tc.want == nil {
			if len(got) != gateway.MaxNoticeLines {
				t.Errorf("%d lines, want %d", len(got), gateway.MaxNoticeLines)
			}
			continue
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("NoticeLines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
