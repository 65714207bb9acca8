#!/usr/bin/env bash
# What `npm run bench` needs beyond the test setup: wrk, the HTTP load generator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-setup.sh
if ! command -v wrk >/dev/null; then
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
