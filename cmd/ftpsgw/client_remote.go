package main

// Commands on remote files and the server (cd, pwd, delete, rename,
// size, SITE, quote, ...) and on the local side (lcd, !).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/ftpsgw/ftpsgw/gateway/ftpclient"
)

func (c *ftpClient) cmdCd(ctx context.Context, args []string) error {
	_, err := c.expect(2, "CWD", args[0])
	return err
}

func (c *ftpClient) cmdCdup(ctx context.Context, args []string) error {
	_, err := c.expect(2, "CDUP")
	return err
}

func (c *ftpClient) cmdPwd(ctx context.Context, args []string) error {
	rep, err := c.expect(257, "PWD")
	if err != nil {
		return err
	}
	if !c.verbose {
		c.printf("Remote directory: %s\n", cleanText(quotedPath(rep.Message())))
	}
	return nil
}

// quotedPath is the path in a 257 reply ("/a ""b""" is current
// directory), or the text when it has no quotes.
func quotedPath(msg string) string {
	start := strings.IndexByte(msg, '"')
	if start < 0 {
		return msg
	}
	var b strings.Builder
	for i := start + 1; i < len(msg); i++ {
		if msg[i] == '"' {
			if i+1 < len(msg) && msg[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			break
		}
		b.WriteByte(msg[i])
	}
	return b.String()
}

func (c *ftpClient) cmdDelete(ctx context.Context, args []string) error {
	_, err := c.expect(2, "DELE", args[0])
	return err
}

func (c *ftpClient) cmdMkdir(ctx context.Context, args []string) error {
	_, err := c.expect(2, "MKD", args[0])
	return err
}

func (c *ftpClient) cmdRmdir(ctx context.Context, args []string) error {
	_, err := c.expect(2, "RMD", args[0])
	return err
}

func (c *ftpClient) cmdRename(ctx context.Context, args []string) error {
	if _, err := c.expect(350, "RNFR", args[0]); err != nil {
		return err
	}
	_, err := c.expect(2, "RNTO", args[1])
	return err
}

func (c *ftpClient) cmdSize(ctx context.Context, args []string) error {
	rep, err := c.expect(213, "SIZE", args[0])
	if err != nil {
		return err
	}
	n, err := ftpclient.ParseSize(rep.Message())
	if err != nil {
		return fmt.Errorf("size: %w", err)
	}
	if !c.verbose {
		c.printf("%s\t%d\n", args[0], n)
	}
	return nil
}

func (c *ftpClient) cmdModtime(ctx context.Context, args []string) error {
	rep, err := c.expect(213, "MDTM", args[0])
	if err != nil {
		return err
	}
	t, err := ftpclient.ParseTime(rep.Message())
	if err != nil {
		return fmt.Errorf("modtime: %w", err)
	}
	c.printf("%s\t%s\n", args[0], t.UTC().Format("01/02/2006 15:04:05 GMT"))
	return nil
}

// siteCmd sends SITE with args and prints the reply.
func (c *ftpClient) siteCmd(args ...string) error {
	rep, err := c.expect(2, "SITE", args...)
	if err == nil {
		c.quietReply(rep)
	}
	return err
}

func (c *ftpClient) cmdChmod(ctx context.Context, args []string) error {
	return c.siteCmd("CHMOD", args[0], args[1])
}

func (c *ftpClient) cmdUmask(ctx context.Context, args []string) error {
	return c.siteCmd(append([]string{"UMASK"}, args...)...)
}

func (c *ftpClient) cmdIdle(ctx context.Context, args []string) error {
	return c.siteCmd(append([]string{"IDLE"}, args...)...)
}

func (c *ftpClient) cmdSite(ctx context.Context, args []string) error {
	return c.siteCmd(args...)
}

// cmdQuote sends a line as it is; a 1xx reply is followed by the final
// one (without a data connection the server answers 425).
func (c *ftpClient) cmdQuote(ctx context.Context, args []string) error {
	rep, err := c.conn.Cmd(args[0], args[1:]...)
	for err == nil {
		c.quietReply(rep)
		if rep.Class() != 1 {
			break
		}
		rep, err = c.conn.ReadReply()
	}
	if err != nil {
		c.lost(err)
		return err
	}
	if rep.Class() > 3 {
		return &ftpclient.Error{Cmd: strings.ToUpper(args[0]), Reply: rep}
	}
	return nil
}

func (c *ftpClient) cmdRhelp(ctx context.Context, args []string) error {
	rep, err := c.expect(2, "HELP", args...)
	if err == nil {
		c.quietReply(rep)
	}
	return err
}

func (c *ftpClient) cmdRstatus(ctx context.Context, args []string) error {
	rep, err := c.expect(2, "STAT", args...)
	if err == nil {
		c.quietReply(rep)
	}
	return err
}

func (c *ftpClient) cmdSystem(ctx context.Context, args []string) error {
	rep, err := c.expect(215, "SYST")
	if err == nil {
		c.quietReply(rep)
	}
	return err
}

func (c *ftpClient) cmdLcd(ctx context.Context, args []string) error {
	dir := c.home
	if len(args) > 0 {
		dir = args[0]
	}
	if dir == "" {
		return errors.New("lcd: no directory and no $HOME")
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("lcd: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("lcd: %w", err)
	}
	c.printf("Local directory now %s\n", wd)
	return nil
}

// cmdShell runs a command line through /bin/sh -c, or $SHELL without
// one, on the client's own standard streams.
func (c *ftpClient) cmdShell(ctx context.Context, args []string) error {
	var cmd *exec.Cmd
	if len(args) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		cmd = exec.CommandContext(ctx, sh)
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", args[0])
	}
	cmd.Stdout, cmd.Stderr = c.out, c.errOut
	if c.src.interactive() {
		cmd.Stdin = os.Stdin // in a script, standard input is the script
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("!: %w", err)
	}
	return nil
}
