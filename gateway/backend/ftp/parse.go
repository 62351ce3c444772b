package ftp

// The protocol text this package reads from the upstream (FEAT lines,
// EPSV and PASV replies, MDTM and SIZE replies, MLSD and MLST fact lines,
// LIST lines in the Unix ls and Windows/IIS DIR formats) is parsed by
// gateway/ftpclient, the one parser the gateway's FTP client side shares.
// Those parsers are pure functions that never panic and range-check
// sizes and ports; names come back as sent, for visible and checkName to
// vet. The short names below keep this package's code readable.

import "github.com/ftpsgw/ftpsgw/gateway/ftpclient"

// errParse reports protocol text the parsers cannot read.
var errParse = ftpclient.ErrParse

// entry is one parsed listing line.
type entry = ftpclient.Entry

// The kinds of entries: links and others are left out of listings,
// kindSelf is MLSD's cdir and pdir.
const (
	kindFile  = ftpclient.KindFile
	kindDir   = ftpclient.KindDir
	kindLink  = ftpclient.KindLink
	kindOther = ftpclient.KindOther
	kindSelf  = ftpclient.KindSelf
)

// features is what the upstream's FEAT reply offers, by upper-case
// keyword with the rest of the line.
type features = ftpclient.Features
