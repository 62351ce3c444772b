package main

// The client's command table: every command once, with its aliases, its
// usage, its help text, its argument bounds, whether it needs a
// connection, and its handler. help prints from it.

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// clientCmd is one command of the table.
type clientCmd struct {
	name     string
	aliases  []string
	usage    string // the arguments, for "usage:" and help
	help     string
	minArgs  int
	maxArgs  int  // -1: no bound
	needConn bool // refused with "not connected" before open
	run      func(c *ftpClient, ctx context.Context, args []string) error
}

// clientCommands is the table, in help order; set in init, since the
// handlers (help, macros) read it.
var clientCommands []clientCmd

func init() {
	clientCommands = []clientCmd{
		// connection and identity
		{name: "open", usage: "host [port]", help: "connect to an FTPS server (then log in from ~/.netrc unless -n)", minArgs: 1, maxArgs: 2, run: (*ftpClient).cmdOpen},
		{name: "user", usage: "name [password [account]]", help: "log in; the password is asked without echo when not given", minArgs: 1, maxArgs: 3, needConn: true, run: (*ftpClient).cmdUser},
		{name: "account", usage: "[password]", help: "send an account password (ACCT)", maxArgs: 1, needConn: true, run: (*ftpClient).cmdAccount},
		{name: "close", aliases: []string{"disconnect"}, help: "end the FTP session and stay in the client", maxArgs: 0, run: (*ftpClient).cmdClose},
		{name: "bye", aliases: []string{"quit", "exit"}, help: "end the FTP session and the client", maxArgs: 0, run: (*ftpClient).cmdBye},
		{name: "help", aliases: []string{"?"}, usage: "[command]", help: "list the commands, or describe one", maxArgs: 1, run: (*ftpClient).cmdHelp},
		// local side
		{name: "!", usage: "[command]", help: "run a command in a local shell (/bin/sh -c), or an interactive shell", maxArgs: 1, run: (*ftpClient).cmdShell},
		{name: "lcd", usage: "[directory]", help: "change the local directory (default: your home)", maxArgs: 1, run: (*ftpClient).cmdLcd},
		// remote navigation and listing
		{name: "cd", aliases: []string{"cwd"}, usage: "remote-directory", help: "change the remote directory", minArgs: 1, maxArgs: 1, needConn: true, run: (*ftpClient).cmdCd},
		{name: "cdup", help: "go to the remote parent directory", maxArgs: 0, needConn: true, run: (*ftpClient).cmdCdup},
		{name: "pwd", help: "print the remote directory", maxArgs: 0, needConn: true, run: (*ftpClient).cmdPwd},
		{name: "ls", aliases: []string{"dir"}, usage: "[remote-directory] [local-file]", help: "list a remote directory (LIST); local-file - is the screen, |cmd a pipe", maxArgs: 2, needConn: true, run: (*ftpClient).cmdLs},
		{name: "nlist", usage: "[remote-directory] [local-file]", help: "list the names in a remote directory (NLST)", maxArgs: 2, needConn: true, run: (*ftpClient).cmdNlist},
		{name: "mls", usage: "remote-files local-file", help: "NLST of several remote files into one local file", minArgs: 2, maxArgs: -1, needConn: true, run: (*ftpClient).cmdMls},
		{name: "mdir", usage: "remote-files local-file", help: "LIST of several remote files into one local file", minArgs: 2, maxArgs: -1, needConn: true, run: (*ftpClient).cmdMdir},
		// transfers
		{name: "get", aliases: []string{"recv"}, usage: "remote-file [local-file]", help: "download a file (local-file - is the screen)", minArgs: 1, maxArgs: 2, needConn: true, run: (*ftpClient).cmdGet},
		{name: "reget", usage: "remote-file [local-file]", help: "resume a download from the local file's size", minArgs: 1, maxArgs: 2, needConn: true, run: (*ftpClient).cmdReget},
		{name: "newer", usage: "remote-file [local-file]", help: "download only when the remote file is newer than the local one", minArgs: 1, maxArgs: 2, needConn: true, run: (*ftpClient).cmdNewer},
		{name: "put", aliases: []string{"send"}, usage: "local-file [remote-file]", help: "upload a file", minArgs: 1, maxArgs: 2, needConn: true, run: (*ftpClient).cmdPut},
		{name: "append", usage: "local-file [remote-file]", help: "append a local file to a remote one (APPE)", minArgs: 1, maxArgs: 2, needConn: true, run: (*ftpClient).cmdAppend},
		{name: "mget", usage: "remote-files", help: "download several files (remote globbing, confirmation when prompting)", minArgs: 1, maxArgs: -1, needConn: true, run: (*ftpClient).cmdMget},
		{name: "mput", usage: "local-files", help: "upload several files (local globbing, confirmation when prompting)", minArgs: 1, maxArgs: -1, needConn: true, run: (*ftpClient).cmdMput},
		{name: "mdelete", usage: "remote-files", help: "delete several remote files (globbing, confirmation)", minArgs: 1, maxArgs: -1, needConn: true, run: (*ftpClient).cmdMdelete},
		{name: "restart", usage: "marker", help: "start the next get, put or append at byte offset marker (REST)", minArgs: 1, maxArgs: 1, run: (*ftpClient).cmdRestart},
		{name: "runique", usage: "[on|off]", help: "toggle unique local names (name.1, name.2, ...) for get", maxArgs: 1, run: (*ftpClient).cmdRunique},
		{name: "sunique", usage: "[on|off]", help: "toggle unique remote names for put (STOU)", maxArgs: 1, run: (*ftpClient).cmdSunique},
		// remote files
		{name: "delete", usage: "remote-file", help: "delete a remote file", minArgs: 1, maxArgs: 1, needConn: true, run: (*ftpClient).cmdDelete},
		{name: "mkdir", usage: "remote-directory", help: "make a remote directory", minArgs: 1, maxArgs: 1, needConn: true, run: (*ftpClient).cmdMkdir},
		{name: "rmdir", usage: "remote-directory", help: "remove a remote directory", minArgs: 1, maxArgs: 1, needConn: true, run: (*ftpClient).cmdRmdir},
		{name: "rename", usage: "from to", help: "rename a remote file (RNFR, RNTO)", minArgs: 2, maxArgs: 2, needConn: true, run: (*ftpClient).cmdRename},
		{name: "size", usage: "remote-file", help: "show a remote file's size (SIZE)", minArgs: 1, maxArgs: 1, needConn: true, run: (*ftpClient).cmdSize},
		{name: "modtime", usage: "remote-file", help: "show a remote file's modification time (MDTM)", minArgs: 1, maxArgs: 1, needConn: true, run: (*ftpClient).cmdModtime},
		{name: "chmod", usage: "mode remote-file", help: "change a remote file's mode (SITE CHMOD)", minArgs: 2, maxArgs: 2, needConn: true, run: (*ftpClient).cmdChmod},
		{name: "umask", usage: "[mask]", help: "show or set the server's umask (SITE UMASK)", maxArgs: 1, needConn: true, run: (*ftpClient).cmdUmask},
		{name: "idle", usage: "[seconds]", help: "show or set the server's idle timeout (SITE IDLE)", maxArgs: 1, needConn: true, run: (*ftpClient).cmdIdle},
		// transfer parameters
		{name: "type", usage: "[ascii|binary|image|tenex]", help: "show or set the transfer type", maxArgs: 1, run: (*ftpClient).cmdType},
		{name: "ascii", help: "transfer type ascii (CRLF on the wire, LF here)", maxArgs: 0, run: (*ftpClient).cmdASCII},
		{name: "binary", aliases: []string{"image"}, help: "transfer type binary (bytes unchanged)", maxArgs: 0, run: (*ftpClient).cmdBinary},
		{name: "tenex", help: "transfer type tenex (TYPE L 8)", maxArgs: 0, run: (*ftpClient).cmdTenex},
		{name: "form", usage: "[non-print]", help: "file format: only non-print", maxArgs: 1, run: (*ftpClient).cmdForm},
		{name: "mode", usage: "[stream]", help: "transfer mode: only stream", maxArgs: 1, run: (*ftpClient).cmdMode},
		{name: "struct", usage: "[file]", help: "file structure: only file", maxArgs: 1, run: (*ftpClient).cmdStruct},
		{name: "case", usage: "[on|off]", help: "toggle lower-casing all-upper-case remote names in mget", maxArgs: 1, run: (*ftpClient).cmdCase},
		{name: "cr", usage: "[on|off]", help: "toggle stripping CR from CRLF in ascii downloads", maxArgs: 1, run: (*ftpClient).cmdCr},
		{name: "nmap", usage: "", help: "name mapping: only off (no arguments)", maxArgs: -1, run: (*ftpClient).cmdNmap},
		{name: "ntrans", usage: "", help: "name translation: only off (no arguments)", maxArgs: -1, run: (*ftpClient).cmdNtrans},
		// data connections
		{name: "passive", usage: "[on|off]", help: "toggle passive mode (EPSV, PASV), the default", maxArgs: 1, run: (*ftpClient).cmdPassive},
		{name: "sendport", usage: "[on|off]", help: "toggle active mode (EPRT, PORT): the server connects to this client", maxArgs: 1, run: (*ftpClient).cmdSendport},
		// feedback
		{name: "hash", usage: "[on|off]", help: "toggle a # per 1024 bytes transferred (a progress bar on a terminal)", maxArgs: 1, run: (*ftpClient).cmdHash},
		{name: "tick", usage: "[on|off]", help: "toggle a byte counter during transfers", maxArgs: 1, run: (*ftpClient).cmdTick},
		{name: "bell", usage: "[on|off]", help: "toggle a bell after each transfer", maxArgs: 1, run: (*ftpClient).cmdBell},
		{name: "verbose", usage: "[on|off]", help: "toggle showing every server reply and transfer statistics", maxArgs: 1, run: (*ftpClient).cmdVerbose},
		{name: "debug", usage: "[on|off]", help: "toggle showing every command sent (PASS as ****)", maxArgs: 1, run: (*ftpClient).cmdDebug},
		{name: "trace", usage: "[on|off]", help: "toggle showing each data connection (address, TLS resumption)", maxArgs: 1, run: (*ftpClient).cmdTrace},
		{name: "prompt", usage: "[on|off]", help: "toggle confirmation in mget, mput and mdelete", maxArgs: 1, run: (*ftpClient).cmdPrompt},
		{name: "glob", usage: "[on|off]", help: "toggle file name globbing in mget, mput and mdelete", maxArgs: 1, run: (*ftpClient).cmdGlob},
		{name: "status", help: "show the connection and the settings", maxArgs: 0, run: (*ftpClient).cmdStatus},
		// server commands
		{name: "quote", aliases: []string{"literal"}, usage: "command [arguments]", help: "send a command line as it is and show the reply", minArgs: 1, maxArgs: -1, needConn: true, run: (*ftpClient).cmdQuote},
		{name: "site", usage: "command [arguments]", help: "send a SITE command", minArgs: 1, maxArgs: -1, needConn: true, run: (*ftpClient).cmdSite},
		{name: "rhelp", aliases: []string{"remotehelp"}, usage: "[command]", help: "the server's help (HELP)", maxArgs: 1, needConn: true, run: (*ftpClient).cmdRhelp},
		{name: "rstatus", usage: "[remote-file]", help: "the server's status, or a file's (STAT)", maxArgs: 1, needConn: true, run: (*ftpClient).cmdRstatus},
		{name: "system", help: "the server's system type (SYST)", maxArgs: 0, needConn: true, run: (*ftpClient).cmdSystem},
		// macros
		{name: "macdef", usage: "name", help: "define a macro: the lines that follow, up to an empty line", minArgs: 1, maxArgs: 1, run: (*ftpClient).cmdMacdef},
		{name: "$", usage: "name [arguments]", help: "run a macro; $1..$9 are its arguments, $i loops over them, \\$ is a dollar", minArgs: 1, maxArgs: -1, run: (*ftpClient).cmdMacro},
		{name: "proxy", usage: "command", help: "not supported: server-to-server copies (FXP) are refused by hardened servers", maxArgs: -1, run: (*ftpClient).cmdProxy},
	}
}

var clientIndex = sync.OnceValue(func() map[string]*clientCmd {
	m := map[string]*clientCmd{}
	for i := range clientCommands {
		cmd := &clientCommands[i]
		m[cmd.name] = cmd
		for _, a := range cmd.aliases {
			m[a] = cmd
		}
	}
	return m
})

// lookupClientCommand finds a command by name or alias, or by a prefix
// that only one command has (as ftp(1) does).
func lookupClientCommand(name string) *clientCmd {
	name = strings.ToLower(name)
	idx := clientIndex()
	if cmd, ok := idx[name]; ok {
		return cmd
	}
	var found *clientCmd
	for n, cmd := range idx {
		if strings.HasPrefix(n, name) {
			if found != nil && found != cmd {
				return nil
			}
			found = cmd
		}
	}
	return found
}

func (c *ftpClient) cmdHelp(ctx context.Context, args []string) error {
	if len(args) == 1 {
		cmd := lookupClientCommand(args[0])
		if cmd == nil {
			return fmt.Errorf("help: no command %q", args[0])
		}
		names := append([]string{cmd.name}, cmd.aliases...)
		c.printf("%-10s %s\n", strings.Join(names, ", "), cmd.help)
		if cmd.usage != "" {
			c.printf("usage: %s %s\n", cmd.name, cmd.usage)
		}
		return nil
	}
	c.printf("Commands may be abbreviated. Commands are:\n\n")
	var names []string
	for _, cmd := range clientCommands {
		names = append(names, cmd.name)
		names = append(names, cmd.aliases...)
	}
	const cols = 5
	rows := (len(names) + cols - 1) / cols
	for r := range rows {
		var b strings.Builder
		for col := range cols {
			if i := col*rows + r; i < len(names) {
				fmt.Fprintf(&b, "%-15s", names[i])
			}
		}
		c.printf("%s\n", strings.TrimRight(b.String(), " "))
	}
	return nil
}
