#!/usr/bin/env bash
# Prints the path of a Go tool the GitOps tests run, building it first when it is not cached:
#   argocd-health  tools/argocd-health/main.go (this repository's glue) on github.com/yuin/gopher-lua,
#                  the Lua engine Argo CD embeds
#   kstatus        tools/kstatus/main.go on sigs.k8s.io/cli-utils/pkg/kstatus/status (Flux, kpt)
#   helm           helm.sh/helm/v3/cmd/helm
#   prometheus     github.com/prometheus/prometheus/cmd/prometheus (the alert and dashboard tests' server)
#   promtool       github.com/prometheus/prometheus/cmd/promtool (check rules, test rules)
# `scripts/go-tools.sh all` builds every one (scripts/test-setup.sh does) and prints one path a line.
#
# Like scripts/control-plane-binaries.sh: built with the machine's Go from the Go module proxy,
# cached in ~/.cache/wso2-frontend-operator/go-tools/<tool>-<version>[-<source hash>]/ (the
# runners' key includes a hash of their source, so an edit rebuilds them). Nothing is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

GOPHER_LUA_VERSION="${GOPHER_LUA_VERSION:-v1.1.1}"
CLI_UTILS_VERSION="${CLI_UTILS_VERSION:-v0.37.2}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# v0.316.0 builds with the machine's Go (its go.mod asks for go 1.26.7).
PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"

log() { printf '[go-tools] %s\n' "$*" >&2; }

cache_root="${WSO2_FRONTEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wso2-frontend-operator}/go-tools"
mkdir -p "$cache_root"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

source_hash() { sha256sum "$1" | cut -c1-12; }

# build_runner NAME MODULE@VERSION: a throw-away module around tools/NAME/main.go.
build_runner() {
  local name=$1 requirement=$2 work=$3
  cp "tools/$name/main.go" "$work/"
  (
    cd "$work"
    go mod init "wso2-frontend-operator/$name" >/dev/null 2>&1
    # go get, not go mod tidy: tidy would also download the modules of the dependencies' tests.
    go get "$requirement" 2>/dev/null || go get "$requirement"
    go build -trimpath -ldflags "-s -w" -o "$work/bin/$name" .
  )
}

build_helm() {
  local work=$1 minor
  # Helm's Makefile stamps its version and the Kubernetes version of its client libraries
  # (the default .Capabilities.KubeVersion and the lint rules' deprecation check).
  local client_go
  client_go=$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p' |
    xargs awk '$1 == "k8s.io/client-go" {print $2}')
  minor=$(echo "$client_go" | cut -d. -f2)
  local flags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    flags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
  GOBIN="$work/bin" go install -trimpath -ldflags "$flags" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
}

# Both binaries into one directory. No build tag `builtinassets`: without it the web UI is not
# embedded (web/ui/ui.go; the release builds add it), and the tests need only the HTTP API.
# `remove_all_sd` leaves out every service discovery but static, file and http
# (plugins/minimum.go): the cloud and Kubernetes SDKs are most of the build time, and the tests
# scrape their own addresses. `netgo` as in the release builds (.promu.yml).
build_prometheus() {
  local work=$1 common=github.com/prometheus/common/version
  local flags="-s -w -X $common.Version=${PROMETHEUS_VERSION#v} -X $common.Revision=${PROMETHEUS_VERSION} -X $common.Branch=HEAD"
  GOBIN="$work/bin" go install -trimpath -tags "netgo remove_all_sd" -ldflags "$flags" \
    "github.com/prometheus/prometheus/cmd/prometheus@${PROMETHEUS_VERSION}" \
    "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}"
}

tool_path() {
  local name=$1 key
  case "$name" in
    argocd-health) key="$name-gopher-lua-${GOPHER_LUA_VERSION}-$(source_hash tools/argocd-health/main.go)" ;;
    kstatus) key="$name-cli-utils-${CLI_UTILS_VERSION}-$(source_hash tools/kstatus/main.go)" ;;
    helm) key="helm-${HELM_VERSION}" ;;
    prometheus | promtool) key="prometheus-${PROMETHEUS_VERSION}" ;;
    *) log "unknown tool $name (argocd-health, kstatus, helm, prometheus, promtool, all)"; return 2 ;;
  esac
  local dest="$cache_root/$key"
  if [ -x "$dest/$name" ]; then printf '%s\n' "$dest/$name"; return 0; fi

  command -v go >/dev/null || { log "Go is needed to build $name once"; return 1; }
  # One builder per cache directory at a time: parallel test runs wait for the first build.
  exec 9>"$cache_root/.${key%%-*}.lock"
  flock 9
  if [ -x "$dest/$name" ]; then printf '%s\n' "$dest/$name"; exec 9>&-; return 0; fi
  local work started=$SECONDS
  work=$(mktemp -d "$cache_root/.build.XXXXXX")
  mkdir -p "$work/bin"
  log "building $key"
  case "$name" in
    argocd-health) build_runner argocd-health "github.com/yuin/gopher-lua@${GOPHER_LUA_VERSION}" "$work" ;;
    kstatus) build_runner kstatus "sigs.k8s.io/cli-utils@${CLI_UTILS_VERSION}" "$work" ;;
    helm) build_helm "$work" ;;
    prometheus | promtool) build_prometheus "$work" ;;
  esac
  rm -rf "$dest"
  mv "$work/bin" "$dest"
  rm -rf "$work"
  exec 9>&-
  log "built $name in $((SECONDS - started)) s into $dest"
  printf '%s\n' "$dest/$name"
}

if [ "${1:-}" = all ]; then
  for tool in argocd-health kstatus helm prometheus promtool; do tool_path "$tool"; done
else
  tool_path "${1:?usage: scripts/go-tools.sh argocd-health|kstatus|helm|prometheus|promtool|all}"
fi
