package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/s3/s3test"
)

// session opens home on o, closed at the end of the test.
func session(t *testing.T, o *Opener, home string) *FS {
	t.Helper()
	fsys, err := o.Open(t.Context(), home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys.(*FS)
}

func put(t *testing.T, fsys backend.FS, name string, data []byte) {
	t.Helper()
	u, err := fsys.Create(t.Context(), name, backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write(data); err != nil {
		u.Abort()
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, fsys backend.FS, name string) []byte {
	t.Helper()
	r, err := fsys.Open(t.Context(), name, 0)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// writeChunks writes data to u in 1 MiB pieces.
func writeChunks(u backend.Upload, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 1<<20)
		if _, err := u.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// wantNoUploads fails if a multipart upload is open in bucket.
func wantNoUploads(t *testing.T, srv *s3test.Server, bucket string) {
	t.Helper()
	if open := srv.OpenUploads(t, bucket); len(open) != 0 {
		t.Errorf("multipart uploads left open: %q", open)
	}
}

// TestMultipartUploadVisibleOnlyAtCommit: a multipart upload (three
// parts and a short last one) lists nothing before Commit and the whole
// file after it, with no upload left open.
func TestMultipartUploadVisibleOnlyAtCommit(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	data := randomBytes(17<<20 + 5)
	u, err := fsys.Create(t.Context(), "big", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u, data); err != nil {
		t.Fatal(err)
	}
	if len(srv.OpenUploads(t, bucket)) != 1 {
		t.Errorf("no multipart upload open while 17 MiB are written with 5 MiB parts")
	}
	if _, err := fsys.Stat(t.Context(), "big"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat before Commit: %v, want fs.ErrNotExist", err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, fsys, "big"); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
	wantNoUploads(t, srv, bucket)
}

// TestAbortedMultipartLeavesNothing: Abort and a cancelled context (a
// dropped data connection) both abort the multipart upload; the old
// object stays.
func TestAbortedMultipartLeavesNothing(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	put(t, fsys, "f", []byte("old"))
	for _, cancelIt := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		u, err := fsys.Create(ctx, "f", backend.WriteReplace, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeChunks(u, randomBytes(16<<20)); err != nil {
			t.Fatal(err)
		}
		if cancelIt {
			cancel()
			if _, err := u.Write([]byte("more")); err == nil {
				t.Errorf("Write after cancellation succeeded")
			}
		}
		if err := u.Abort(); err != nil {
			t.Errorf("Abort: %v", err)
		}
		cancel()
		if got := get(t, fsys, "f"); string(got) != "old" {
			t.Errorf("after an aborted overwrite f holds %d bytes", len(got))
		}
		wantNoUploads(t, srv, bucket)
	}
}

// TestFailedOverwriteKeepsOld: the storage refuses the upload's parts
// halfway (a bucket policy now denies it): the upload fails, the old
// object is intact and the multipart upload is aborted.
func TestFailedOverwriteKeepsOld(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	fsys.Mkdir(t.Context(), "d")
	put(t, fsys, "d/f", []byte("old"))
	u, err := fsys.Create(t.Context(), "d/f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u, randomBytes(11<<20)); err != nil {
		t.Fatal(err)
	}
	srv.Deny(t, bucket, "u/d/")
	err = writeChunks(u, randomBytes(11<<20))
	if err == nil {
		err = u.Commit()
	}
	u.Abort()
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("upload refused halfway: %v, want fs.ErrPermission", err)
	}
	if got := get(t, fsys, "d/f"); string(got) != "old" {
		t.Errorf("after a failed overwrite d/f holds %d bytes", len(got))
	}
	wantNoUploads(t, srv, bucket)
}

// TestUploadLostByStorage: the storage drops the multipart upload under
// the backend (a lifecycle rule, another client's abort): Commit fails
// and the old object stays.
func TestUploadLostByStorage(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	put(t, fsys, "f", []byte("old"))
	u, err := fsys.Create(t.Context(), "f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u, randomBytes(11<<20)); err != nil {
		t.Fatal(err)
	}
	u.(*upload).wg.Wait() // the sent parts have landed
	out, err := srv.Client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil || len(out.Uploads) != 1 {
		t.Fatalf("uploads: %v, %v", out, err)
	}
	if _, err := srv.Client.AbortMultipartUpload(t.Context(), &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: out.Uploads[0].Key, UploadId: out.Uploads[0].UploadId,
	}); err != nil {
		t.Fatal(err)
	}
	err = writeChunks(u, randomBytes(6<<20))
	if err == nil {
		err = u.Commit()
	}
	u.Abort()
	if err == nil {
		t.Errorf("upload committed after the storage dropped it")
	}
	if got := get(t, fsys, "f"); string(got) != "old" {
		t.Errorf("f holds %d bytes", len(got))
	}
	wantNoUploads(t, srv, bucket)
}

// TestUploadSurvivesRestart: the server is killed and restarted while
// parts are in flight; S3 keeps the multipart upload, the parts are sent
// again, and the object is exactly what was written.
func TestUploadSurvivesRestart(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, func(c *Config) { c.Retries = 8 })
	defer o.Close()
	fsys := session(t, o, "/u")
	data := randomBytes(40 << 20)
	u, err := fsys.Create(t.Context(), "f", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeChunks(u, data[:21<<20]); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := writeChunks(u, data[21<<20:]); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatalf("Commit after a restart: %v", err)
	}
	if got := get(t, fsys, "f"); !bytes.Equal(got, data) {
		t.Errorf("object differs from what was written (%d bytes)", len(got))
	}
	wantNoUploads(t, srv, bucket)
}
