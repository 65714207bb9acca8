#!/usr/bin/env bash
# Makes a fresh machine ready for `npm test`: the Debian packages the tests use, the NGINX the
# operator's image ships (Debian unstable's, fetched once into the cache, no root needed), the
# control-plane binaries, the real node's kubelet, kube-proxy and pause image, and the GitOps tests' Go tools (each built once from the Go module proxy,
# then cached outside the repo).
# Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test-setup] %s\n' "$*" >&2; }

missing=()
command -v setpriv >/dev/null || missing+=(util-linux)
command -v flock >/dev/null || missing+=(util-linux)
# The end-to-end reload test gives the agent and its NGINX a network namespace of their own (test/support/netns.ts).
command -v unshare >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)
# keytool adds the frontend CA to real JKS and PKCS#12 truststores, as the WSO2 init container does (test/render/product-workloads.test.ts).
command -v keytool >/dev/null || missing+=(default-jre-headless)
# The real node's images (scripts/test-images.sh): built with buildah from the Dockerfile, on base
# stand-ins made by mmdebstrap, pushed to a registry on loopback (Debian's docker-registry).
command -v buildah >/dev/null || missing+=(buildah)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v docker-registry >/dev/null || missing+=(docker-registry)
# The real node of test/realnode (src/localcluster/real-node.ts): containerd with runc, the CNI
# plugins, the tools kube-proxy runs, gcc for the pause binary, and busybox for its test image.
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v conntrack >/dev/null || missing+=(conntrack)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx httpd || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      log "please install these Debian packages (no root here to do it): ${missing[*]}"; exit 1
    fi
  fi
  log "installing ${missing[*]} with apt-get"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v kubectl >/dev/null || { log "kubectl is needed (the machine image provides it)"; exit 1; }

nginx_bin=$(bash scripts/nginx-binaries.sh)
log "nginx: $nginx_bin ($("$nginx_bin" -v 2>&1))"

bin_dir=$(bash scripts/control-plane-binaries.sh)
log "control-plane binaries: $bin_dir"

node_dir=$(bash scripts/node-binaries.sh)
log "real-node binaries: $node_dir"

# The GitOps tests' Go tools: Argo CD's Lua engine with the health check, kstatus, and helm.
go_tools=$(bash scripts/go-tools.sh all)
log "Go tools: $(echo "$go_tools" | tr '\n' ' ')"

# The real node's images: the base stand-ins, the operator and NGINX images from the Dockerfile,
# the WSO2 stand-ins (cached by their inputs; minutes the first time, a second or two after).
# Building them (chroot, mounts) needs root, as CI runs.
if [ "$(id -u)" = 0 ]; then
  bash scripts/test-images.sh all >/dev/null
  log "images: built or cached (scripts/test-images.sh)"
else
  log "images: not built (scripts/test-images.sh needs root); the real-node tests will build them"
fi
