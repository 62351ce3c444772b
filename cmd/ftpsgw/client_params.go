package main

// Transfer parameters and toggles: type, form, mode, struct, case, cr,
// nmap, ntrans, passive, sendport, the feedback toggles, restart,
// runique and sunique.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// setType sends the TYPE for name ("ascii", "binary", "tenex") when
// logged in, and remembers it.
func (c *ftpClient) setType(name string) error {
	if c.conn != nil && c.loggedIn {
		arg := map[string]string{"ascii": "A", "binary": "I", "tenex": "L 8"}[name]
		if _, err := c.expect(200, "TYPE", arg); err != nil {
			return err
		}
	}
	c.typeName = name
	return nil
}

// ascii is true in the ascii transfer type.
func (c *ftpClient) ascii() bool { return c.typeName == "ascii" }

func (c *ftpClient) cmdType(ctx context.Context, args []string) error {
	if len(args) == 0 {
		c.printf("Using %s mode to transfer files.\n", c.typeName)
		return nil
	}
	switch t := strings.ToLower(args[0]); t {
	case "ascii":
		return c.cmdASCII(ctx, nil)
	case "binary", "image":
		return c.cmdBinary(ctx, nil)
	case "tenex":
		return c.cmdTenex(ctx, nil)
	case "ebcdic", "local":
		return fmt.Errorf("type %s: not supported (ascii, binary, image, tenex)", t)
	}
	return fmt.Errorf("type %s: unknown mode (ascii, binary, image, tenex)", args[0])
}

func (c *ftpClient) cmdASCII(ctx context.Context, args []string) error {
	if err := c.setType("ascii"); err != nil {
		return err
	}
	c.printf("Using ascii mode to transfer files.\n")
	return nil
}

func (c *ftpClient) cmdBinary(ctx context.Context, args []string) error {
	if err := c.setType("binary"); err != nil {
		return err
	}
	c.printf("Using binary mode to transfer files.\n")
	return nil
}

func (c *ftpClient) cmdTenex(ctx context.Context, args []string) error {
	if err := c.setType("tenex"); err != nil {
		return err
	}
	c.printf("Using tenex mode to transfer files.\n")
	return nil
}

// onlyDefault accepts a parameter command with no argument or with the
// one value FTPS servers support.
func (c *ftpClient) onlyDefault(what, value string, args []string) error {
	if len(args) > 0 && !strings.EqualFold(args[0], value) {
		return fmt.Errorf("%s %s: not supported: only %s", what, args[0], value)
	}
	c.printf("Using %s %s.\n", value, what)
	return nil
}

func (c *ftpClient) cmdForm(ctx context.Context, args []string) error {
	return c.onlyDefault("form", "non-print", args)
}

func (c *ftpClient) cmdMode(ctx context.Context, args []string) error {
	return c.onlyDefault("mode", "stream", args)
}

func (c *ftpClient) cmdStruct(ctx context.Context, args []string) error {
	return c.onlyDefault("struct", "file", args)
}

func (c *ftpClient) cmdNmap(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("nmap: not supported: name mapping patterns are not implemented; names are used as given (case maps upper-case names)")
	}
	c.printf("Nmap off.\n")
	return nil
}

func (c *ftpClient) cmdNtrans(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return errors.New("ntrans: not supported: character translation is not implemented; names are used as given")
	}
	c.printf("Ntrans off.\n")
	return nil
}

// toggle flips *b (or sets it from on/off) and prints "<what> on." as
// ftp(1) does.
func (c *ftpClient) toggle(b *bool, what string, args []string) error {
	v, err := onOff(*b, args)
	if err != nil {
		return err
	}
	*b = v
	c.printf("%s %s.\n", what, on(v))
	return nil
}

func (c *ftpClient) cmdCase(ctx context.Context, args []string) error {
	return c.toggle(&c.caseMap, "Case mapping", args)
}

func (c *ftpClient) cmdCr(ctx context.Context, args []string) error {
	return c.toggle(&c.crStrip, "Carriage Return stripping", args)
}

func (c *ftpClient) cmdPassive(ctx context.Context, args []string) error {
	return c.toggle(&c.passive, "Passive mode", args)
}

// cmdSendport toggles active mode: "sendport on" is "passive off".
func (c *ftpClient) cmdSendport(ctx context.Context, args []string) error {
	active := !c.passive
	if err := c.toggle(&active, "Use of PORT cmds", args); err != nil {
		return err
	}
	c.passive = !active
	return nil
}

func (c *ftpClient) cmdHash(ctx context.Context, args []string) error {
	if err := c.toggle(&c.hash, "Hash mark printing", args); err != nil {
		return err
	}
	if c.hash && !c.stdoutTTY {
		c.printf("(%d bytes/hash mark).\n", hashBytes)
	}
	return nil
}

func (c *ftpClient) cmdTick(ctx context.Context, args []string) error {
	return c.toggle(&c.tick, "Tick counter printing", args)
}

func (c *ftpClient) cmdBell(ctx context.Context, args []string) error {
	return c.toggle(&c.bell, "Bell mode", args)
}

func (c *ftpClient) cmdVerbose(ctx context.Context, args []string) error {
	return c.toggle(&c.verbose, "Verbose mode", args)
}

func (c *ftpClient) cmdDebug(ctx context.Context, args []string) error {
	return c.toggle(&c.debug, "Debugging", args)
}

func (c *ftpClient) cmdTrace(ctx context.Context, args []string) error {
	return c.toggle(&c.trace, "Packet tracing", args)
}

func (c *ftpClient) cmdPrompt(ctx context.Context, args []string) error {
	return c.toggle(&c.prompt, "Interactive mode", args)
}

func (c *ftpClient) cmdGlob(ctx context.Context, args []string) error {
	return c.toggle(&c.glob, "Globbing", args)
}

func (c *ftpClient) cmdRunique(ctx context.Context, args []string) error {
	return c.toggle(&c.runique, "Receive unique", args)
}

func (c *ftpClient) cmdSunique(ctx context.Context, args []string) error {
	return c.toggle(&c.sunique, "Store unique", args)
}

func (c *ftpClient) cmdRestart(ctx context.Context, args []string) error {
	n, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("restart: %q is not a byte offset", args[0])
	}
	c.restart = n
	c.printf("Restarting at %d. Execute get, put or append to initiate transfer.\n", n)
	return nil
}
