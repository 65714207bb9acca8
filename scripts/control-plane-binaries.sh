#!/usr/bin/env bash
# Prints the directory that holds etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok, building them first when they are not cached.
#
# Order of preference (the envtest convention first):
#   1. $KUBEBUILDER_ASSETS, when it holds every binary;
#   2. the cache outside the repository, keyed by the pinned versions;
#   3. a build from the Go module proxy with the machine's Go toolchain.
# Nothing is downloaded except modules from the Go module proxy.
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.37.1}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[control-plane-binaries] %s\n' "$*" >&2; }

has_all() {
  local dir=$1 b
  for b in "${BINARIES[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if has_all "$KUBEBUILDER_ASSETS"; then
    printf '%s\n' "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of: ${BINARIES[*]}; using the cache instead"
fi

cache_root="${WSO2_FRONTEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wso2-frontend-operator}"
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
dest="$cache_root/control-plane/$key"
if has_all "$dest"; then
  printf '%s\n' "$dest"
  exit 0
fi

command -v go >/dev/null || { log "Go is needed to build the control plane once (or set KUBEBUILDER_ASSETS)"; exit 1; }
mkdir -p "$cache_root/control-plane"
# One builder at a time: a second test run waits for the first build instead of repeating it.
exec 9>"$cache_root/control-plane/.lock"
flock 9
if has_all "$dest"; then printf '%s\n' "$dest"; exit 0; fi

work=$(mktemp -d "$cache_root/control-plane/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
started=$SECONDS
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

# Kubernetes: a throw-away module that requires k8s.io/kubernetes and points every
# staging module (replaced by ./staging/... in the real repository) at its v0.x.y release.
staging_version="v0.${KUBERNETES_VERSION#v1.}"
mkdir -p "$work/kubernetes"
(
  cd "$work/kubernetes"
  go mod init wso2-frontend-operator/control-plane-build >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@${KUBERNETES_VERSION}"
  modfile=$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$modfile"); do
    go mod edit -replace="$m=$m@$staging_version"
  done
  version_flags="-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}"
  version_flags+=" -X k8s.io/component-base/version.gitMajor=1"
  minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  version_flags+=" -X k8s.io/component-base/version.gitMinor=${minor}"
  version_flags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  log "building Kubernetes ${KUBERNETES_VERSION} (kube-apiserver, kube-controller-manager, kube-scheduler)"
  go build -trimpath -ldflags "-s -w $version_flags" -o "$work/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
)

# etcd: the server module's main package, built the same way (its go.mod replace
# directives point at sibling directories, so `go install pkg@version` refuses it).
mkdir -p "$work/etcd"
(
  cd "$work/etcd"
  go mod init wso2-frontend-operator/etcd-build >/dev/null 2>&1
  go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
  log "building etcd ${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3
)

log "building kwok ${KWOK_VERSION}"
GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"

rm -rf "$dest"
mv "$work/bin" "$dest"
log "built in $((SECONDS - started)) s into $dest"
printf '%s\n' "$dest"
