package s3

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend/s3/s3test"
)

// benchReadBuf is the read size of the gateway's transfer pump.
const benchReadBuf = 64 << 10

// benchSize is the object BenchmarkDownload reads: 256 MiB, or
// FTPSGW_S3_BENCH_MIB mebibytes.
func benchSize(b *testing.B) int64 {
	n := int64(256)
	if v := os.Getenv("FTPSGW_S3_BENCH_MIB"); v != "" {
		m, err := strconv.ParseInt(v, 10, 64)
		if err != nil || m < 1 {
			b.Fatalf("FTPSGW_S3_BENCH_MIB=%q: want a number of MiB", v)
		}
		n = m
	}
	return n << 20
}

// drain reads r to the end in benchReadBuf reads, as the gateway's pump
// does, and returns the bytes and the reads it took.
func drain(b *testing.B, r io.Reader, buf []byte) (int64, int) {
	var total int64
	reads := 0
	for {
		n, err := r.Read(buf)
		total += int64(n)
		reads++
		if err == io.EOF {
			return total, reads
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDownload reads one object from a real versitygw through the
// backend (Opener.Open, FS.Open, then reads of the pump's size) and,
// in the same run, through a plain SDK GetObject with the same reads, so
// the backend's own cost shows as the difference. It fails under CI=true
// when versitygw is missing. MB/s are 10^6 bytes per second.
func BenchmarkDownload(b *testing.B) {
	srv := s3test.Start(b, s3test.Options{})
	bucket := s3test.NewBucketName("bench")
	srv.CreateBucket(b, bucket)
	size := benchSize(b)
	// The object is written straight to the served directory: versitygw's
	// posix mode serves plain files.
	dir := filepath.Join(srv.BucketDir(bucket), "u")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	c := testConfig(srv, bucket)
	c.OpTimeout = "30s"
	o, err := c.open("bench", testLogger(b))
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	fsys, err := o.Open(context.Background(), "/u")
	if err != nil {
		b.Fatal(err)
	}
	defer fsys.Close()
	sdk := srv.UserClient()
	buf := make([]byte, benchReadBuf)

	b.Run("backend", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		reads := 0
		for b.Loop() {
			r, err := fsys.Open(b.Context(), "big", 0)
			if err != nil {
				b.Fatal(err)
			}
			n, k := drain(b, r, buf)
			r.Close()
			if n != size {
				b.Fatalf("read %d bytes, want %d", n, size)
			}
			reads += k
		}
		b.ReportMetric(float64(size)*float64(b.N)/float64(reads), "B/read")
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		reads := 0
		for b.Loop() {
			out, err := sdk.GetObject(b.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("u/big")})
			if err != nil {
				b.Fatal(err)
			}
			n, k := drain(b, out.Body, buf)
			out.Body.Close()
			if n != size {
				b.Fatalf("read %d bytes, want %d", n, size)
			}
			reads += k
		}
		b.ReportMetric(float64(size)*float64(b.N)/float64(reads), "B/read")
	})
}
