#!/usr/bin/env bash
# Upstream FTP servers for the ftp backend's tests
# (gateway/backend/ftp/ftptest), idempotent: pure-ftpd installed; vsftpd
# 3.0.3 downloaded and extracted under /var/cache/ftpsgw/vsftpd (it
# conflicts with pure-ftpd as an installed package) with its libraries;
# tcpdump for the check that no password crosses the wire in clear. The
# tests create their Unix user and PAM service themselves.
set -euo pipefail
cache=/var/cache/ftpsgw/vsftpd
vsftpd="$cache/root/usr/sbin/vsftpd"

pkgs=(pure-ftpd tcpdump openssl libwrap0 libcap2 libpam0g libpam-modules libssl3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
updated=no
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  updated=yes
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$vsftpd" ]; then
  mkdir -p "$cache"
  cd "$cache"
  rm -rf root vsftpd_*.deb
  if ! apt-get download vsftpd 2>/dev/null; then
    [ "$updated" = yes ] || apt-get update -qq
    apt-get download vsftpd
  fi
  dpkg -x vsftpd_*.deb root
fi
if ldd "$vsftpd" | grep -q 'not found'; then
  echo "vsftpd lacks libraries:"; ldd "$vsftpd" | grep 'not found'; exit 1
fi
echo "upstream FTP servers: vsftpd $(dpkg-deb -f "$cache"/vsftpd_*.deb Version) at $vsftpd;" \
  "$(dpkg-query -W -f '${Package} ${Version}' pure-ftpd)"
