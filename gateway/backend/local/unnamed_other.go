//go:build !linux

package local

import (
	"errors"
	"os"
)

// openUnnamed answers errNoUnnamed: only Linux has O_TMPFILE, so uploads
// elsewhere always write a named temporary file.
func openUnnamed(*os.Root, string) (*os.File, error) { return nil, errNoUnnamed }

var errNoLink = errors.New("no unnamed files on this system")

func linkAt(_, _ *os.File, _ string) error { return errNoLink }

func renameAt(*os.File, string, string) error { return errNoLink }

func unlinkAt(*os.File, string) error { return errNoLink }
