package sftp

import (
	"io/fs"
	"syscall"
)

// ownerOf returns the uid and gid of a file on disk.
func ownerOf(fi fs.FileInfo) (int, int) {
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}
