package gateway

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// TestReplyForTooManyObjects: a directory rename a backend refuses as too
// large gets its own fixed 550 text, however deeply the backend wrapped
// the sentinel, and not the generic "Permission denied.".
func TestReplyForTooManyObjects(t *testing.T) {
	want := reply{550, "Directory too large to rename on this storage; nothing was moved."}
	for _, err := range []error{
		backend.ErrTooManyObjects,
		fmt.Errorf("s3 rename d: more than max_rename_objects = 1000 objects: %w", backend.ErrTooManyObjects),
		&fs.PathError{Op: "rename", Path: "d", Err: fmt.Errorf("wrapped: %w", backend.ErrTooManyObjects)},
	} {
		if got := replyFor(err); got != want {
			t.Errorf("replyFor(%v) = %v, want %v", err, got, want)
		}
	}
	if got := replyFor(fmt.Errorf("s3 rename d: %w", fs.ErrPermission)); got != replyDenied {
		t.Errorf("a refused rename = %v, want %v", got, replyDenied)
	}
}
