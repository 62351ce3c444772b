package backend

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Type is one kind of backend ("local", "sftp", "s3", "ftp"). Each backend
// package registers its Type from an init function; the binary links the
// packages it serves and knows no type by hand.
type Type struct {
	// Name is the first label of `backend "NAME" "..." { }`.
	Name string
	// NewConfig returns a pointer to a new, zero config struct whose
	// exported fields carry `hcl:"key,optional"` tags (plus one
	// `hcl:",remain"` field is not allowed: unknown keys are errors). The
	// config loader decodes the block's body into it, then calls Validate.
	NewConfig func() Config
}

// Config is one decoded backend block.
type Config interface {
	// Validate checks the decoded values and reports every problem through
	// r, naming the attribute it concerns so the loader can point at its
	// file:line. It does no network I/O.
	Validate(r Reporter)
	// Open builds the Opener for the backend called name. It may connect
	// (an unreachable storage is an error wrapping ErrUnavailable); the
	// caller probes it afterwards. log is already named for the backend.
	Open(ctx context.Context, name string, log hclog.Logger) (Opener, error)
}

// Reporter collects a backend block's problems. key is the attribute a
// problem concerns ("" for the block as a whole).
type Reporter interface {
	// Errorf reports a problem that makes the configuration unusable.
	Errorf(key, format string, args ...any)
	// Warnf reports something that works but an operator should change.
	Warnf(key, format string, args ...any)
	// File checks that path exists and is a readable regular file; secret
	// files must in addition not be readable by group or others. It
	// reports through Errorf on key.
	File(key, path string, secret bool)
}

var registry struct {
	sync.RWMutex
	types map[string]Type // guarded by the mutex
}

// Register makes a backend type available. It panics on a duplicate or
// incomplete registration, which is a programming error.
func Register(t Type) {
	if t.Name == "" || t.NewConfig == nil {
		panic("backend: Register with an empty name or no NewConfig")
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.types == nil {
		registry.types = make(map[string]Type)
	}
	if _, dup := registry.types[t.Name]; dup {
		panic(fmt.Sprintf("backend: type %q registered twice", t.Name))
	}
	registry.types[t.Name] = t
}

// Lookup returns the registered type called name.
func Lookup(name string) (Type, bool) {
	registry.RLock()
	defer registry.RUnlock()
	t, ok := registry.types[name]
	return t, ok
}

// Types returns the registered type names, sorted.
func Types() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.types))
	for n := range registry.types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Credentials are a login's own name and password, handed to backends that
// log in to their storage as the user (an upstream FTP server with
// credentials = "passthrough"). They are only ever passed after the
// client's encrypted login and never logged.
type Credentials struct {
	User     string
	Password string
}

// CredentialOpener is implemented by Openers that open sessions with the
// user's own credentials. The gateway calls OpenAs instead of Open when the
// Opener implements it and reports NeedsCredentials.
type CredentialOpener interface {
	Opener
	// NeedsCredentials reports whether sessions must be opened with OpenAs.
	NeedsCredentials() bool
	// OpenAs is Open, logging in to the storage as cred says. A refused
	// login wraps fs.ErrPermission.
	OpenAs(ctx context.Context, home string, cred Credentials) (FS, error)
}

// PasswordChecker is implemented by the Configs of backend types whose
// Opener implements Authenticator, so the config loader can refuse an
// `auth "upstream"` block naming a backend that cannot check passwords.
type PasswordChecker interface {
	Config
	ChecksPasswords()
}

// Authenticator is implemented by Openers whose storage can check a
// user's password itself (an upstream FTP server as the authentication
// source, `auth "upstream"`). A wrong password wraps fs.ErrPermission; an
// unreachable storage wraps ErrUnavailable.
type Authenticator interface {
	Authenticate(ctx context.Context, cred Credentials) error
}
