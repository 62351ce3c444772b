#!/usr/bin/env python3
"""Python ftplib against ftpsgw, for cmd/ftpsgw/interop_test.go.

--mode reuse: FTP_TLS subclass whose data sockets resume the control
connection's TLS session (session=self.sock.session); the recipe for
servers that require reuse.  --mode stock: ftplib.FTP_TLS as shipped,
which never resumes (needs session_reuse "observe" or an exemption).

Run in a working directory holding single.bin and tree/; it uploads
single.bin, downloads it as got.bin, lists the home (NLST, LIST, MLSD),
uploads tree/ to tree/ and walks tree/ with MLSD to download it into
back/.  --only list runs just the first listing (for refusal checks).
Prints one JSON object on stdout.
"""
import argparse
import ftplib
import json
import os
import ssl
import sys


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """Data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--tls", choices=["1.2", "1.3"], default="1.3")
    ap.add_argument("--mode", choices=["reuse", "stock"], default="reuse")
    ap.add_argument("--source", default="")
    ap.add_argument("--only", choices=["all", "list"], default="all")
    a = ap.parse_args()

    ctx = ssl.create_default_context(cafile=a.ca)
    if a.tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    cls = ReusingFTP_TLS if a.mode == "reuse" else ftplib.FTP_TLS
    src = (a.source, 0) if a.source else None
    ftp = cls(context=ctx, timeout=30, source_address=src)
    ftp.connect(a.host, a.port)
    ftp.auth()
    ftp.prot_p()
    ftp.login(a.user, a.password)
    out = {"tls_version": ftp.sock.version(), "python": sys.version.split()[0],
           "openssl": ssl.OPENSSL_VERSION}

    if a.only == "list":
        try:
            out["nlst"] = ftp.nlst()
        except Exception as e:  # the refusal under test
            out["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(out))
        return

    with open("single.bin", "rb") as f:
        ftp.storbinary("STOR single.bin", f)
    with open("got.bin", "wb") as f:
        ftp.retrbinary("RETR single.bin", f.write)
    out["nlst"] = ftp.nlst()
    lines = []
    ftp.retrlines("LIST", lines.append)
    out["list"] = lines
    out["mlsd"] = [name for name, _ in ftp.mlsd()]

    # tree up
    for root, dirs, files in os.walk("tree"):
        dirs.sort()
        try:
            ftp.mkd(root)
        except ftplib.error_perm as e:
            if not str(e).startswith("550"):
                raise
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                ftp.storbinary("STOR %s/%s" % (root, name), f)

    # tree down, walked with MLSD
    count = 0

    def walk(remote, local):
        nonlocal count
        os.makedirs(local, exist_ok=True)
        for name, facts in sorted(ftp.mlsd(remote)):
            kind = facts.get("type", "")
            if kind in ("cdir", "pdir") or name in (".", ".."):
                continue
            if kind == "dir":
                walk(remote + "/" + name, os.path.join(local, name))
            elif kind == "file":
                with open(os.path.join(local, name), "wb") as f:
                    ftp.retrbinary("RETR %s/%s" % (remote, name), f.write)
                count += 1

    walk("tree", "back")
    out["downloaded"] = count
    ftp.quit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
