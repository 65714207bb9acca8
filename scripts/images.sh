#!/usr/bin/env bash
# npm run images -- --registry REG [--tag T] [--push] [--builder docker|buildah]
#                   [--base-images pinned|stand-in] [--insecure]
#
# Builds the operator image and the NGINX + agent image from the Dockerfile with the same tag,
# optionally pushes them, and prints their two references (operator first), one per line.
#   --registry REG   where the images go: host[:port][/path], e.g. registry.example.com/platform
#   --tag T          default: the version in package.json
#   --push           push both after building
#   --builder B      docker or buildah; default: docker when it is installed, else buildah
#   --base-images    pinned (default): the Dockerfile's digests (node:24-bookworm-slim,
#                    nginxinc/nginx-unprivileged:1.30), which production uses.
#                    stand-in: the local stand-ins scripts/test-images.sh assembles from Debian
#                    packages and the npm registry, for machines that reach no image registry
#                    (the project's tests); buildah only, into the tests' image storage.
#   --insecure       push over plain HTTP / without TLS verification (buildah; a loopback registry)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,3p' "$0" | sed 's/^# //' >&2; }
fail() {
  printf 'images: %s\n' "$1" >&2
  usage
  exit 2
}

registry="" tag="" push=false builder="" bases=pinned insecure=false
while [ $# -gt 0 ]; do
  case "$1" in
    --registry | --tag | --builder | --base-images)
      [ $# -ge 2 ] && [ -n "$2" ] || fail "$1 needs a value"
      case "$1" in
        --registry) registry=$2 ;;
        --tag) tag=$2 ;;
        --builder) builder=$2 ;;
        --base-images) bases=$2 ;;
      esac
      shift 2
      ;;
    --push) push=true; shift ;;
    --insecure) insecure=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown argument '$1' (allowed: --registry, --tag, --push, --builder, --base-images, --insecure)" ;;
  esac
done

[ -n "$registry" ] || fail "--registry is required (host[:port][/path], e.g. registry.example.com/platform)"
# A reference's registry and path: a host (DNS name or IPv4, optional port), then lower-case
# path components; no scheme, no tag, no trailing slash.
host_re='[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]+)?'
path_re='(/[a-z0-9]+([._-][a-z0-9]+)*)*'
[[ "$registry" =~ ^${host_re}${path_re}$ ]] ||
  fail "--registry '$registry' is not host[:port][/path] (lower-case path, no scheme such as https://, no tag)"
if [ -z "$tag" ]; then tag=$(node -p 'require("./package.json").version'); fi
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
  fail "--tag '$tag' is not a valid tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')"
case "$bases" in pinned | stand-in) ;; *) fail "--base-images must be pinned or stand-in, not '$bases'" ;; esac
if [ -z "$builder" ]; then
  if [ "$bases" = stand-in ]; then builder=buildah
  elif command -v docker >/dev/null; then builder=docker
  else builder=buildah; fi
fi
case "$builder" in docker | buildah) ;; *) fail "--builder must be docker or buildah, not '$builder'" ;; esac
[ "$bases" = pinned ] || [ "$builder" = buildah ] ||
  fail "--base-images stand-in needs --builder buildah (the stand-ins are in buildah's storage)"
command -v "$builder" >/dev/null || { printf 'images: %s is not installed\n' "$builder" >&2; exit 1; }

operator="$registry/wso2-frontend-operator:$tag"
nginx="$registry/wso2-frontend-nginx:$tag"

build_args=()
storage=()
if [ "$bases" = stand-in ]; then
  json=$(bash scripts/test-images.sh bases)
  field() { node -e 'const j = JSON.parse(process.argv[1]); console.log([].concat(process.argv[2].split(".").reduce((o, k) => o[k], j)).join("\n"))' "$json" "$1"; }
  build_args=(--build-arg "NODE_IMAGE=$(field bases.node)" --build-arg "NGINX_IMAGE=$(field bases.nginx)")
  mapfile -t storage < <(field storage)
  # The tests' image storage: one build at a time there (scripts/test-images.sh takes the same lock).
  exec 9>"$(dirname "${storage[1]}")/.lock"
  flock 9
fi

npm_settings=()
if [ "$builder" = buildah ]; then
  settings_dir=$(mktemp -d)
  trap 'rm -rf "$settings_dir"' EXIT
  mapfile -t npm_settings < <(bash scripts/buildah-npm-settings.sh "$settings_dir")
fi

for target in operator nginx; do
  ref=$operator
  [ "$target" = nginx ] && ref=$nginx
  printf 'images: building %s (target %s, %s base images, %s)\n' "$ref" "$target" "$bases" "$builder" >&2
  if [ "$builder" = docker ]; then
    docker build --target "$target" --tag "$ref" "${build_args[@]}" . >&2
  else
    buildah "${storage[@]}" bud --isolation chroot --layers "${build_args[@]}" "${npm_settings[@]}" \
      $([ "$bases" = stand-in ] && echo --pull=never) --target "$target" --tag "$ref" --file Dockerfile . >&2
  fi
done

if $push; then
  for ref in "$operator" "$nginx"; do
    printf 'images: pushing %s\n' "$ref" >&2
    if [ "$builder" = docker ]; then
      docker push "$ref" >&2
    else
      buildah "${storage[@]}" push $($insecure && echo --tls-verify=false) "$ref" "docker://$ref" >&2
    fi
  done
fi

printf '%s\n%s\n' "$operator" "$nginx"
printf 'images: install with them, e.g.\n  helm install wso2-frontend-operator deploy/helm/wso2-frontend-operator --set image.repository=%s --set image.tag=%s\n' \
  "$registry/wso2-frontend-operator" "$tag" >&2
