#!/usr/bin/env bash
# Install versitygw, the S3 server the s3 backend's tests run against, into
# a cache directory that is reused when the binary is already there. The
# build takes 3-4 minutes on a cold machine, so CI keeps the result.
#
#   VERSITYGW_BIN   cache directory (default /var/cache/ftpsgw-ci/bin)
#   VERSITYGW_VER   module version   (default v1.8.0)
#
# Prints the binary's path on the last line of stdout. Exits non-zero when
# the build fails or the installed binary does not run.
set -euo pipefail
export PATH="/usr/local/go/bin:$PATH"
bin="${VERSITYGW_BIN:-/var/cache/ftpsgw-ci/bin}"
ver="${VERSITYGW_VER:-v1.8.0}"
exe="$bin/versitygw"
stamp="$bin/versitygw.version"

if [ -x "$exe" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$ver" ]; then
  echo "versitygw $ver: using cached $exe" >&2
else
  echo "versitygw $ver: building into $bin (3-4 minutes on a cold machine)" >&2
  mkdir -p "$bin"
  GOBIN="$bin" go install "github.com/versity/versitygw/cmd/versitygw@$ver"
  echo "$ver" >"$stamp"
  echo "versitygw $ver: installed $exe" >&2
fi
"$exe" --version >/dev/null 2>&1 || "$exe" --help >/dev/null 2>&1 || {
  echo "versitygw: $exe does not run" >&2
  exit 1
}
echo "$exe"
