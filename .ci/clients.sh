#!/usr/bin/env bash
# Installs the real FTPS clients that cmd/ftpsgw/interop_test.go drives
# (see deploy/CLIENTS.md): Debian packages, and npm's basic-ftp into a
# cache directory that the tests find through FTPSGW_NODE_MODULES (or the
# default below). Idempotent: installs only what is missing, and never
# downloads anything when everything is present. The tests themselves
# never download.
set -euo pipefail

NODE_CACHE="${FTPSGW_CI_CACHE:-/var/cache/ftpsgw-ci}"
BASIC_FTP_VERSION="${BASIC_FTP_VERSION:-6.2}"   # npm range 6.2.x

need=()
have_pkg() { dpkg -s "$1" >/dev/null 2>&1; }
# Debian packages whose presence is checked by package name.
for p in curl lftp wget rclone libcommons-net-java ca-certificates openssl; do
  have_pkg "$p" || need+=("$p")
done
# Commands that may come from another package (pyenv's python3, a JDK or
# NodeSource's nodejs, which bundles npm and conflicts with Debian's npm).
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v java    >/dev/null 2>&1 || need+=(default-jre-headless)
# The Commons Net probe is a single Java source file run with the source
# launcher (java File.java), which needs the jdk.compiler module: a JDK.
command -v javac   >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v node    >/dev/null 2>&1 || need+=(nodejs)
if ! command -v npm >/dev/null 2>&1; then
  # NodeSource's nodejs ships npm; Debian's nodejs does not.
  if command -v node >/dev/null 2>&1 && dpkg -s nodejs 2>/dev/null | grep -q nodesource; then :; else need+=(npm); fi
fi

if [ "${#need[@]}" -gt 0 ]; then
  echo "clients.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# basic-ftp 6.2.x for the Node client, kept in a reused cache directory.
mod="$NODE_CACHE/node_modules/basic-ftp/package.json"
if ! { [ -f "$mod" ] && grep -q "\"version\": \"${BASIC_FTP_VERSION}\." "$mod"; }; then
  echo "clients.sh: npm install basic-ftp@~${BASIC_FTP_VERSION}.0 into $NODE_CACHE"
  mkdir -p "$NODE_CACHE"
  [ -f "$NODE_CACHE/package.json" ] || echo '{"name":"ftpsgw-ci-clients","private":true}' > "$NODE_CACHE/package.json"
  (cd "$NODE_CACHE" && npm install --no-audit --no-fund --silent "basic-ftp@~${BASIC_FTP_VERSION}.0")
fi

# What is installed, for the CI log.
{
  echo "curl:    $(curl --version | head -1)"
  echo "lftp:    $(lftp --version | head -1)"
  echo "wget:    $(wget --version | head -1)"
  echo "rclone:  $(rclone version 2>/dev/null | head -1)"
  echo "python3: $(python3 --version 2>&1)"
  echo "java:    $(java -version 2>&1 | head -1)"
  echo "commons-net: $(ls /usr/share/java/commons-net*.jar 2>/dev/null | tr '\n' ' ')"
  echo "node:    $(node --version)  basic-ftp $(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$mod")"
} | sed 's/^/clients.sh: /'
