package sftp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/pkg/sftp"
)

// pkg/sftp v1.13.12 reads a directory only whole (ReadDir loops READDIR
// to the end). To stream listings, each link opens, on first use, a
// second SFTP session on the same SSH connection that speaks just enough
// of protocol version 3 for OPENDIR, READDIR and CLOSE, one request at a
// time. OpenSSH answers READDIR with up to 100 entries, so an open
// listing holds about one such batch.

// SFTP packet types used by the listing session.
const (
	fxpInit    = 1
	fxpVersion = 2
	fxpClose   = 4
	fxpOpendir = 11
	fxpReaddir = 12
	fxpStatus  = 101
	fxpHandle  = 102
	fxpName    = 104

	fxEOF         = 1
	fxNoSuchFile  = 2
	fxPermDenied  = 3
	maxListPacket = 1 << 20 // larger answers are a protocol error
	attrSize      = 0x1
	attrUIDGID    = 0x2
	attrPerms     = 0x4
	attrACModTime = 0x8
	attrExtended  = 0x80000000
	posixTypeMask = 0o170000
	posixDir      = 0o040000
	posixRegular  = 0o100000
	posixSymlink  = 0o120000
	sftpVersion   = 3
	listSession   = "sftp listing session"
)

// errProtocol reports a malformed answer on the listing session.
var errProtocol = errors.New("malformed sftp packet")

// lister is the listing session of one link.
type lister struct {
	mu sync.Mutex // one request and its answer at a time; guards what follows
	w  io.WriteCloser
	r  *bufio.Reader
	id uint32
}

// lister returns the link's listing session, starting it on first use.
func (l *link) lister() (*lister, error) {
	l.listMu.Lock()
	defer l.listMu.Unlock()
	if l.list != nil {
		return l.list, nil
	}
	sess, err := l.ssh.NewSession()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", listSession, err)
	}
	w, err := sess.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", listSession, err)
	}
	r, err := sess.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", listSession, err)
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		sess.Close()
		return nil, fmt.Errorf("%s: %w", listSession, err)
	}
	ls := &lister{w: w, r: bufio.NewReaderSize(r, 64<<10)}
	if err := ls.init(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("%s: %w", listSession, err)
	}
	l.list = ls
	return ls, nil
}

// init exchanges INIT and VERSION.
func (ls *lister) init() error {
	if err := ls.send(fxpInit, binary.BigEndian.AppendUint32(nil, sftpVersion)); err != nil {
		return err
	}
	typ, _, err := ls.recv()
	if err == nil && typ != fxpVersion {
		err = fmt.Errorf("%w: type %d instead of VERSION", errProtocol, typ)
	}
	return err
}

// send writes one packet: length, type, payload.
func (ls *lister) send(typ byte, payload []byte) error {
	b := make([]byte, 0, 5+len(payload))
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(payload)))
	b = append(b, typ)
	b = append(b, payload...)
	_, err := ls.w.Write(b)
	return err
}

// recv reads one packet.
func (ls *lister) recv() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(ls.r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", listSession, errorsOr(err, io.ErrUnexpectedEOF))
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > maxListPacket {
		return 0, nil, fmt.Errorf("%w: length %d", errProtocol, n)
	}
	body := make([]byte, n-1)
	if _, err := io.ReadFull(ls.r, body); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", listSession, errorsOr(err, io.ErrUnexpectedEOF))
	}
	return hdr[4], body, nil
}

// errorsOr turns io.EOF, which means end of file to callers, into alt.
func errorsOr(err, alt error) error {
	if err == io.EOF {
		return alt
	}
	return err
}

// call sends a request carrying one string and returns the answer for
// its id.
func (ls *lister) call(typ byte, arg string) (byte, *decoder, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.id++
	p := binary.BigEndian.AppendUint32(nil, ls.id)
	p = appendString(p, arg)
	if err := ls.send(typ, p); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", listSession, err)
	}
	rtyp, body, err := ls.recv()
	if err != nil {
		return 0, nil, err
	}
	d := &decoder{b: body}
	if id := d.uint32(); d.err != nil || id != ls.id {
		return 0, nil, fmt.Errorf("%w: answer for request %d, want %d", errProtocol, id, ls.id)
	}
	if rtyp == fxpStatus {
		return rtyp, d, d.status()
	}
	return rtyp, d, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// opendir opens a directory handle.
func (ls *lister) opendir(dir string) (string, error) {
	typ, d, err := ls.call(fxpOpendir, dir)
	if err != nil {
		return "", err
	}
	if typ != fxpHandle {
		return "", fmt.Errorf("%w: type %d for OPENDIR", errProtocol, typ)
	}
	h := d.string()
	return h, d.err
}

// readdir returns the next entries of handle; io.EOF at the end.
func (ls *lister) readdir(handle string) ([]entry, error) {
	typ, d, err := ls.call(fxpReaddir, handle)
	if err != nil {
		return nil, err
	}
	if typ != fxpName {
		return nil, fmt.Errorf("%w: type %d for READDIR", errProtocol, typ)
	}
	return parseName(d)
}

// parseName decodes a NAME answer after its id. Each entry takes at least
// 12 bytes, which bounds what a hostile count can make it allocate.
func parseName(d *decoder) ([]entry, error) {
	count := d.uint32()
	if d.err != nil || uint64(count)*12 > uint64(len(d.b)) {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", errProtocol, count, len(d.b))
	}
	out := make([]entry, 0, count)
	for range count {
		e := entry{name: d.string()}
		d.string() // longname, as ls -l would print it
		e.mode, e.size, e.mtime = d.attrs()
		if d.err != nil {
			return nil, d.err
		}
		out = append(out, e)
	}
	return out, nil
}

// closeHandle closes handle.
func (ls *lister) closeHandle(handle string) error {
	_, _, err := ls.call(fxpClose, handle)
	return err
}

// entry is one READDIR name with its attributes.
type entry struct {
	name  string
	mode  fs.FileMode
	size  int64
	mtime time.Time
}

// decoder reads SFTP fields from a packet body; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint32() uint32 {
	if len(d.b) < 4 {
		d.err = errProtocol
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) uint64() uint64 {
	hi := d.uint32()
	return uint64(hi)<<32 | uint64(d.uint32())
}

func (d *decoder) string() string {
	n := d.uint32()
	if d.err != nil || uint32(len(d.b)) < n {
		d.err = errProtocol
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// attrs decodes ATTRS into the mode (type and permission bits), size and
// modification time.
func (d *decoder) attrs() (fs.FileMode, int64, time.Time) {
	flags := d.uint32()
	var mode fs.FileMode = fs.ModeIrregular // no permissions: kind unknown
	var size int64
	var mtime time.Time
	if flags&attrSize != 0 {
		size = int64(d.uint64())
	}
	if flags&attrUIDGID != 0 {
		d.uint32()
		d.uint32()
	}
	if flags&attrPerms != 0 {
		mode = posixMode(d.uint32())
	}
	if flags&attrACModTime != 0 {
		d.uint32()
		mtime = time.Unix(int64(d.uint32()), 0)
	}
	if flags&attrExtended != 0 {
		for n := d.uint32(); n > 0 && d.err == nil; n-- {
			d.string()
			d.string()
		}
	}
	return mode, size, mtime
}

// posixMode converts st_mode bits to an fs.FileMode.
func posixMode(m uint32) fs.FileMode {
	perm := fs.FileMode(m & 0o777)
	switch m & posixTypeMask {
	case posixDir:
		return perm | fs.ModeDir
	case posixRegular:
		return perm
	case posixSymlink:
		return perm | fs.ModeSymlink
	}
	return perm | fs.ModeIrregular
}

// status turns a STATUS body (after the id) into an error like
// pkg/sftp's: io.EOF, fs.ErrNotExist, fs.ErrPermission or a
// *sftp.StatusError.
func (d *decoder) status() error {
	code := d.uint32()
	msg := d.string()
	if d.err != nil {
		return fmt.Errorf("%w: status", errProtocol)
	}
	switch code {
	case 0:
		return nil
	case fxEOF:
		return io.EOF
	case fxNoSuchFile:
		return fs.ErrNotExist
	case fxPermDenied:
		return fs.ErrPermission
	}
	return fmt.Errorf("%s: %w", msg, &sftp.StatusError{Code: code})
}
