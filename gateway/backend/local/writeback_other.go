//go:build !linux

package local

import "os"

// haveWriteback says startWriteback and waitWriteback do nothing here:
// outside Linux there is no sync_file_range, and Commit's fsync writes
// the whole upload.
const haveWriteback = false

func startWriteback(*os.File, int64, int64) error { return nil }

func waitWriteback(*os.File, int64, int64) error { return nil }
