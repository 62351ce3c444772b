package ftptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// command returns the server's command line for control port port,
// writing vsftpd's config file first.
func (s *Server) command(port int) (*exec.Cmd, error) {
	if s.Opts.Server == PureFTPd {
		return s.pureCommand(port), nil
	}
	if err := os.WriteFile(s.configPath, []byte(s.vsftpdConfig(port)), 0o600); err != nil {
		return nil, err
	}
	return exec.Command(VsftpdPath(), s.configPath), nil
}

// vsftpdConfig is vsftpd.conf for port, as ../../shared/PEERS.md
// describes, plus the protocol log.
func (s *Server) vsftpdConfig(port int) string {
	lines := []string{
		"listen=YES",
		"listen_ipv6=NO",
		"listen_address=127.0.0.1",
		"listen_port=" + strconv.Itoa(port),
		"background=NO",
		"anonymous_enable=NO",
		"local_enable=YES",
		"write_enable=YES",
		"local_umask=022",
		"chroot_local_user=YES",
		"allow_writeable_chroot=YES",
		"local_root=" + s.DataDir,
		"secure_chroot_dir=" + filepath.Join(s.Dir, "empty"),
		"pam_service_name=" + pamService,
		"isolate=NO",
		"isolate_network=NO",
		"seccomp_sandbox=NO",
		"pasv_enable=YES",
		fmt.Sprintf("pasv_min_port=%d", s.pasvLo),
		fmt.Sprintf("pasv_max_port=%d", s.pasvLo+block-2),
		"max_clients=0",
		"max_per_ip=0",
		"vsftpd_log_file=" + s.LogPath,
		"xferlog_enable=YES",
		"xferlog_std_format=NO",
		"log_ftp_protocol=YES",
		"delay_failed_login=0",
	}
	if d := s.Opts.IdleTimeout; d > 0 {
		lines = append(lines, fmt.Sprintf("idle_session_timeout=%d", max(1, int(d.Seconds()))))
	}
	if s.Opts.DenyEPSV {
		lines = append(lines, "cmds_denied=EPSV")
	}
	if s.Opts.PasvAddress != "" {
		lines = append(lines, "pasv_address="+s.Opts.PasvAddress, "pasv_addr_resolve=NO")
	}
	if s.Opts.TLS != "" {
		lines = append(lines,
			"ssl_enable=YES",
			"rsa_cert_file="+filepath.Join(s.Dir, "cert.pem"),
			"rsa_private_key_file="+filepath.Join(s.Dir, "key.pem"),
			"require_ssl_reuse=YES",
			"force_local_logins_ssl=YES",
			"force_local_data_ssl=YES",
			"ssl_ciphers=HIGH",
		)
		if s.Opts.TLS == "implicit" {
			lines = append(lines, "implicit_ssl=YES")
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// pureCommand is pure-ftpd's command line for port, as PEERS.md
// describes: it caps clients at half the passive range, so the range is
// the whole block.
func (s *Server) pureCommand(port int) *exec.Cmd {
	args := []string{
		"-S", fmt.Sprintf("127.0.0.1,%d", port),
		"-p", fmt.Sprintf("%d:%d", s.pasvLo, s.pasvLo+block-2),
		"-l", "puredb:" + filepath.Join(s.Dir, "users.pdb"),
		"-E", "-A", "-H", "-Y", "0",
		"-c", "90", "-C", "90",
		"-L", "100000:8", // listings hold at most 10000 entries by default
	}
	if s.Opts.QuotaMB > 0 {
		args = append(args, "-n", fmt.Sprintf("100000:%d", s.Opts.QuotaMB))
	}
	return exec.Command(pureFTPdPath, args...)
}

// writePureDB creates the puredb file holding the test user, homed (and
// chrooted) at DataDir. The line is written by hand with a SHA-512 crypt
// hash: pure-pw's own argon2id takes seconds of CPU per login.
func (s *Server) writePureDB() error {
	hash, err := exec.Command("openssl", "passwd", "-6", "-salt", "ftpsgwftptest", Password).Output()
	if err != nil {
		return fmt.Errorf("openssl passwd: %w", err)
	}
	passwd := filepath.Join(s.Dir, "pureftpd.passwd")
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./%s\n", User, strings.TrimSpace(string(hash)), s.uid, s.gid,
		s.DataDir, strings.Repeat(":", 12))
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return err
	}
	out, err := exec.Command(purePwPath, "mkdb", filepath.Join(s.Dir, "users.pdb"), "-f", passwd).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pure-pw mkdb: %v: %s", err, out)
	}
	return nil
}
