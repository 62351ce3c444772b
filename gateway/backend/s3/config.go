package s3

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Defaults for the optional keys.
const (
	DefaultRegion            = "us-east-1"
	DefaultPartSize          = "16MiB"
	DefaultUploadConcurrency = 4
	DefaultMaxRenameObjects  = 1000
	DefaultOpTimeout         = "30s"
	DefaultRetries           = 3
)

// Limits of S3 itself and of this backend.
const (
	minPartSize       = 5 << 20 // S3's smallest part but the last
	maxPartSize       = 5 << 30 // S3's largest part and single PUT
	maxParts          = 10000   // S3's most parts per upload
	maxConcurrency    = 64
	maxRetries        = 10
	maxRenameObjects  = 100000
	bigMemoryWarning  = 1 << 30
	maxBucketNameSize = 63
)

func init() {
	backend.Register(backend.Type{
		Name:      "s3",
		NewConfig: func() backend.Config { return NewConfig() },
	})
}

// Config is one `backend "s3" "NAME" { }` block. NewConfig fills in the
// defaults; the loader decodes the block over them.
type Config struct {
	// Endpoint is the service URL, "https://host:port"; empty means AWS
	// S3 for Region.
	Endpoint string `hcl:"endpoint,optional"`
	// Bucket holds every home; it must exist.
	Bucket string `hcl:"bucket"`
	// Region signs the requests.
	Region string `hcl:"region,optional"`
	// AccessKeyID and SecretKeyFile are the service credentials; the file
	// holds the secret key (trailing newline ignored).
	AccessKeyID   string `hcl:"access_key_id"`
	SecretKeyFile string `hcl:"secret_key_file"`
	// Prefix is the key prefix under which homes live ("" for the whole
	// bucket).
	Prefix string `hcl:"prefix,optional"`
	// PathStyle addresses the bucket in the path (host/bucket/key), not
	// as a host name; most private endpoints need it.
	PathStyle bool `hcl:"path_style,optional"`
	// CAFile holds PEM certificates trusted, besides the system's, for an
	// https endpoint.
	CAFile string `hcl:"ca_file,optional"`
	// PartSize is the multipart part size, and the size below which an
	// upload is one PUT.
	PartSize string `hcl:"part_size,optional"`
	// UploadConcurrency is the parts one upload buffers and sends at once.
	UploadConcurrency int `hcl:"upload_concurrency,optional"`
	// MaxRenameObjects caps the objects a directory rename copies.
	MaxRenameObjects int `hcl:"max_rename_objects,optional"`
	// OpTimeout bounds each request, and each stall of a transfer.
	OpTimeout string `hcl:"op_timeout,optional"`
	// Retries is how many times a throttled (SlowDown, 503) or broken
	// request is sent again, with exponential backoff.
	Retries int `hcl:"retries,optional"`
}

var _ backend.Config = (*Config)(nil)

// NewConfig returns a Config holding the defaults.
func NewConfig() *Config {
	return &Config{
		Region:            DefaultRegion,
		PartSize:          DefaultPartSize,
		UploadConcurrency: DefaultUploadConcurrency,
		MaxRenameObjects:  DefaultMaxRenameObjects,
		OpTimeout:         DefaultOpTimeout,
		Retries:           DefaultRetries,
	}
}

// Validate implements backend.Config. It reads the CA file but does no
// network I/O: a missing bucket or refused credentials show in Probe.
func (c *Config) Validate(r backend.Reporter) {
	c.validateEndpoint(r)
	if err := checkBucket(c.Bucket); err != nil {
		r.Errorf("bucket", "%v", err)
	}
	if c.Region == "" {
		r.Errorf("region", "region must not be empty")
	}
	if c.AccessKeyID == "" {
		r.Errorf("access_key_id", "access_key_id must not be empty")
	}
	if c.SecretKeyFile == "" {
		r.Errorf("secret_key_file", "secret_key_file must not be empty")
	} else {
		r.File("secret_key_file", c.SecretKeyFile, true)
	}
	if _, err := cleanPrefix(c.Prefix); err != nil {
		r.Errorf("prefix", "%v", err)
	}
	if c.CAFile != "" {
		r.File("ca_file", c.CAFile, false)
		if _, err := loadCAs(c.CAFile); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			r.Errorf("ca_file", "%v", err)
		}
	}
	c.validateSizes(r)
	if d, err := time.ParseDuration(c.OpTimeout); err != nil || d <= 0 {
		r.Errorf("op_timeout", "op_timeout %q is not a positive duration", c.OpTimeout)
	}
	if c.Retries < 0 || c.Retries > maxRetries {
		r.Errorf("retries", "retries must be between 0 and %d", maxRetries)
	}
	if c.MaxRenameObjects < 1 || c.MaxRenameObjects > maxRenameObjects {
		r.Errorf("max_rename_objects", "max_rename_objects must be between 1 and %d", maxRenameObjects)
	}
}

func (c *Config) validateEndpoint(r backend.Reporter) {
	if c.Endpoint == "" {
		return
	}
	u, err := url.Parse(c.Endpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		r.Errorf("endpoint", "endpoint %q is not an http:// or https:// URL", c.Endpoint)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		r.Errorf("endpoint", "endpoint %q must be scheme://host[:port] only", c.Endpoint)
	case u.Scheme == "http":
		r.Warnf("endpoint", "endpoint %q is plain http: requests are signed, but file data and names cross the network unencrypted", c.Endpoint)
		if c.CAFile != "" {
			r.Errorf("ca_file", "ca_file is set but the endpoint is plain http")
		}
	}
}

func (c *Config) validateSizes(r backend.Reporter) {
	part, err := parseSize(c.PartSize)
	switch {
	case err != nil:
		r.Errorf("part_size", "%v", err)
	case part < minPartSize || part > maxPartSize:
		r.Errorf("part_size", "part_size %s must be between 5MiB and 5GiB (S3's part limits)", c.PartSize)
	}
	if c.UploadConcurrency < 1 || c.UploadConcurrency > maxConcurrency {
		r.Errorf("upload_concurrency", "upload_concurrency must be between 1 and %d", maxConcurrency)
		return
	}
	if err == nil && part*int64(c.UploadConcurrency) > bigMemoryWarning {
		r.Warnf("part_size", "each upload may hold part_size × upload_concurrency = %d MiB in memory",
			part*int64(c.UploadConcurrency)>>20)
	}
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > maxBucketNameSize {
		return fmt.Errorf("bucket %q must be 3 to %d characters", b, maxBucketNameSize)
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		ok := ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.'
		if !ok {
			return fmt.Errorf("bucket %q may hold only lower-case letters, digits, '-' and '.'", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q must start and end with a letter or digit", b)
	}
	return nil
}

func isAlnum(ch byte) bool { return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' }

// cleanPrefix turns the prefix key into the key prefix that ends in "/"
// ("" for the whole bucket).
func cleanPrefix(p string) (string, error) {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	if err := checkName(p); err != nil {
		return "", fmt.Errorf("prefix %q must be a relative path of clean elements (like \"ftp\" or \"site/ftp\")", p)
	}
	return p + "/", nil
}

// loadCAs reads PEM certificates.
func loadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}

// Open implements backend.Config: it reads the secret and builds the
// client. It does not connect; the caller probes.
func (c *Config) Open(ctx context.Context, name string, log hclog.Logger) (backend.Opener, error) {
	return c.open(name, log)
}

// open is Open with the concrete type, for the package's own tests.
func (c *Config) open(name string, log hclog.Logger) (*Opener, error) {
	st, err := c.settings()
	if err != nil {
		return nil, fmt.Errorf("s3 backend %s: %w", name, err)
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return newOpener(name, log, st), nil
}

// settings is a validated Config in the form the backend uses.
type settings struct {
	endpoint, bucket, region string
	accessKey, secretKey     string
	prefix                   string // "" or ending in "/"
	pathStyle                bool
	cas                      *x509.CertPool
	partSize                 int64
	concurrency              int
	maxRename                int
	opTimeout                time.Duration
	retries                  int
	copyThreshold            int64 // a larger object is copied in parts
	copyPart                 int64 // the part size of such a copy
}

// settings converts c, reading the secret and CA files.
func (c *Config) settings() (*settings, error) {
	var problems []error
	c.Validate(collect{&problems})
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	st := &settings{
		endpoint: strings.TrimSuffix(c.Endpoint, "/"), bucket: c.Bucket, region: c.Region,
		accessKey: c.AccessKeyID, pathStyle: c.PathStyle, concurrency: c.UploadConcurrency,
		maxRename: c.MaxRenameObjects, retries: c.Retries,
		copyThreshold: maxPartSize, copyPart: defaultCopyPart,
	}
	st.prefix, _ = cleanPrefix(c.Prefix)
	st.partSize, _ = parseSize(c.PartSize)
	st.opTimeout, _ = time.ParseDuration(c.OpTimeout)
	b, err := os.ReadFile(c.SecretKeyFile)
	if err != nil {
		return nil, fmt.Errorf("secret_key_file: %w", err)
	}
	st.secretKey = strings.TrimRight(string(b), "\r\n")
	if st.secretKey == "" {
		return nil, errors.New("secret_key_file is empty")
	}
	if c.CAFile != "" {
		if st.cas, err = loadCAs(c.CAFile); err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
	}
	return st, nil
}

// collect is a Reporter that keeps the errors (files are checked by
// reading them later).
type collect struct{ errs *[]error }

func (c collect) Errorf(key, format string, args ...any) {
	*c.errs = append(*c.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}
func (c collect) Warnf(string, string, ...any) {}
func (c collect) File(string, string, bool)    {}
