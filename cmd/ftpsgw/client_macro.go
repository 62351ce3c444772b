package main

// Macros: macdef name (the lines that follow, up to an empty line) and
// "$ name args", with $1..$9 replaced by the arguments, \$ by a dollar,
// and $i making the macro a loop: it runs once per argument, $i being
// that argument. ~/.netrc macdefs arrive through the same table, and a macro
// named init runs after an auto-login.

import (
	"context"
	"fmt"
	"strings"
)

const (
	maxMacros     = 64       // macros defined at once
	maxMacroBytes = 64 << 10 // the text of one macro
	maxMacroDepth = 8        // macros that run macros
)

func (c *ftpClient) cmdMacdef(ctx context.Context, args []string) error {
	name := args[0]
	if _, ok := c.macros[name]; !ok && len(c.macros) >= maxMacros {
		return fmt.Errorf("macdef: already %d macros", maxMacros)
	}
	if c.src.interactive() {
		c.printf("Enter macro line by line, terminating it with a null line.\n")
	}
	var body []string
	size := 0
	for {
		line, err := c.src.readLine("")
		if err != nil || strings.TrimSpace(line) == "" {
			break // end of input ends the macro too
		}
		if size += len(line) + 1; size > maxMacroBytes {
			return fmt.Errorf("macdef %s: longer than %d bytes", name, maxMacroBytes)
		}
		body = append(body, line)
	}
	c.macros[name] = body
	return nil
}

func (c *ftpClient) cmdMacro(ctx context.Context, args []string) error {
	return c.runMacro(ctx, args[0], args[1:])
}

// runMacro runs each line of a macro; the first failure stops it, unless
// the line starts with "-".
func (c *ftpClient) runMacro(ctx context.Context, name string, args []string) error {
	body, ok := c.macros[name]
	if !ok {
		return fmt.Errorf("$: no macro %q (macdef defines one)", name)
	}
	if c.macroDepth >= maxMacroDepth {
		return fmt.Errorf("$ %s: macros nested deeper than %d", name, maxMacroDepth)
	}
	c.macroDepth++
	defer func() { c.macroDepth-- }()
	passes := []string{""}
	if macroLoops(body) {
		passes = args
	}
	for _, cur := range passes {
		for _, line := range body {
			if c.quit {
				return nil
			}
			if !c.execLine(expandMacro(line, args, cur)) {
				return fmt.Errorf("$ %s: stopped at %q", name, strings.TrimSpace(line))
			}
		}
	}
	return nil
}

// macroLoops reports whether a macro uses $i (not \$i).
func macroLoops(body []string) bool {
	for _, line := range body {
		for i := 0; i+1 < len(line); i++ {
			if line[i] == '\\' {
				i++
				continue
			}
			if line[i] == '$' && line[i+1] == 'i' {
				return true
			}
		}
	}
	return false
}

// expandMacro replaces $1..$9 with the arguments (missing ones are
// empty), $i with cur and \$ with $.
func expandMacro(line string, args []string, cur string) string {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '$':
			b.WriteByte('$')
			i++
		case line[i] == '$' && i+1 < len(line) && line[i+1] == 'i':
			b.WriteString(cur)
			i++
		case line[i] == '$' && i+1 < len(line) && line[i+1] >= '1' && line[i+1] <= '9':
			if n := int(line[i+1] - '1'); n < len(args) {
				b.WriteString(args[n])
			}
			i++
		default:
			b.WriteByte(line[i])
		}
	}
	return b.String()
}
