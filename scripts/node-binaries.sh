#!/usr/bin/env bash
# Prints the directory that holds the real node's binaries: kubelet and kube-proxy, and
# pause.tar (Kubernetes' own pause.c, built static and packed as an OCI image archive that
# containerd imports), building them first when they are not cached.
#
# Built from the Go module proxy as scripts/control-plane-binaries.sh builds kube-apiserver
# (a throw-away module with the staging replaces), after that script: its build fills the Go
# build cache this one reuses, and the module source holds build/pause/linux/pause.c.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.37.1}"
PAUSE_TAG=3.10
BINARIES=(kubelet kube-proxy pause.tar)

log() { printf '[node-binaries] %s\n' "$*" >&2; }
has_all() {
  local dir=$1 b
  for b in "${BINARIES[@]}"; do [ -s "$dir/$b" ] || return 1; done
}

cache_root="${WSO2_FRONTEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wso2-frontend-operator}"
dest="$cache_root/node/k8s-${KUBERNETES_VERSION}_pause-${PAUSE_TAG}"
if has_all "$dest"; then printf '%s\n' "$dest"; exit 0; fi

command -v go >/dev/null || { log "Go is needed to build the node once"; exit 1; }
command -v gcc >/dev/null || { log "gcc is needed to build the pause binary"; exit 1; }
# The control plane first (waiting for a build under way): this build then only compiles what
# the kubelet and kube-proxy add.
bash scripts/control-plane-binaries.sh >/dev/null
mkdir -p "$cache_root/node"
exec 9>"$cache_root/node/.lock"
flock 9
if has_all "$dest"; then printf '%s\n' "$dest"; exit 0; fi

work=$(mktemp -d "$cache_root/node/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/kubernetes"
started=$SECONDS
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
staging_version="v0.${KUBERNETES_VERSION#v1.}"
(
  cd "$work/kubernetes"
  go mod init wso2-frontend-operator/node-build >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@${KUBERNETES_VERSION}"
  modfile=$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$modfile"); do
    go mod edit -replace="$m=$m@$staging_version"
  done
  minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  version_flags="-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}"
  version_flags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor}"
  version_flags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  log "building Kubernetes ${KUBERNETES_VERSION} (kubelet, kube-proxy)"
  go build -trimpath -ldflags "-s -w $version_flags" -o "$work/bin/" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
)

# The pause image: one static binary in one layer, as an OCI image layout archive.
source_dir=$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
oci="$work/oci"
mkdir -p "$oci/rootfs" "$oci/layout/blobs/sha256"
gcc -Os -static -DVERSION="v${PAUSE_TAG}" -o "$oci/rootfs/pause" "$source_dir/build/pause/linux/pause.c"
strip "$oci/rootfs/pause"
blob() { # file -> prints "digest size" after storing it as a blob
  local digest size
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  cp "$1" "$oci/layout/blobs/sha256/$digest"
  printf '%s %s\n' "$digest" "$size"
}
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$oci/rootfs" -cf "$oci/layer.tar" pause
read -r layer_digest layer_size < <(blob "$oci/layer.tar")
cat >"$oci/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_digest"]}}
JSON
read -r config_digest config_size < <(blob "$oci/config.json")
cat >"$oci/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer_digest","size":$layer_size}]}
JSON
read -r manifest_digest manifest_size < <(blob "$oci/manifest.json")
cat >"$oci/layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_digest","size":$manifest_size,"annotations":{"io.containerd.image.name":"localhost/wso2-frontend/pause:${PAUSE_TAG}","org.opencontainers.image.ref.name":"${PAUSE_TAG}"}}]}
JSON
echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/layout/oci-layout"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$oci/layout" -cf "$work/bin/pause.tar" .

rm -rf "$dest"
mv "$work/bin" "$dest"
log "built in $((SECONDS - started)) s into $dest"
printf '%s\n' "$dest"
