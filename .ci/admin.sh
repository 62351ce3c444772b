#!/usr/bin/env bash
# Admin API and sessions page: install Debian's chromium when missing (the
# page test drives it headless; under CI=true a missing browser fails it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export CI="${CI:-true}"

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing: chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi
command -v curl >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl; }
