#!/usr/bin/env bash
# Prints (one per line) the `buildah bud` arguments that give the Dockerfile's `npm ci` steps
# this machine's npm registry and the CA file npm trusts here (where a proxy re-signs TLS with a
# CA of its own, npm in the build container fails with SELF_SIGNED_CERT_IN_CHAIN otherwise).
# The CA file is npm's `cafile`, else $NODE_EXTRA_CA_CERTS. They are bind mounts for the build's RUN steps only (npm's global npmrc and the CA file), so
# nothing of them reaches the images. Nothing is printed when npm uses its defaults here.
# $1: a directory for the npmrc (it must outlive the build).
set -euo pipefail
dir=$1
registry=$(npm config get registry 2>/dev/null || true)
cafile=$(npm config get cafile 2>/dev/null || true)
# npm's global npmrc depends on the Node.js that runs it (npm scripts run the project's Node 24,
# whose prefix has none): fall back to the CA file Node.js is told to trust here.
case "$cafile" in "" | null | undefined) cafile=${NODE_EXTRA_CA_CERTS:-} ;; esac
npmrc=()
[ -n "$registry" ] && [ "$registry" != "https://registry.npmjs.org/" ] && npmrc+=("registry=$registry")
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] && [ -r "$cafile" ]; then
  npmrc+=("cafile=/etc/ssl/certs/npm-build-ca.crt")
  printf '%s\n' --volume "$cafile:/etc/ssl/certs/npm-build-ca.crt:ro"
fi
if [ ${#npmrc[@]} -gt 0 ]; then
  printf '%s\n' "${npmrc[@]}" >"$dir/npmrc"
  # npm's global configuration file, $PREFIX/etc/npmrc (the official node image's prefix is /usr/local).
  printf '%s\n' --volume "$dir/npmrc:/usr/local/etc/npmrc:ro"
fi
