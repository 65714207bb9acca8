#!/usr/bin/env bash
# Prints the path of an `nginx` command of the generation the operator's image ships
# (NGINX_SERIES), fetching it first when it is not cached.
#
# The machine's own nginx is usually older (Debian bookworm: 1.22, without `server ... resolve`
# or open-source `sticky`). Debian unstable's binary packages of nginx and of the libraries it
# links are fetched with `apt-get download` through a private apt configuration (its own
# sources list, lists, cache and an empty dpkg status: the machine's apt setup is neither read
# nor changed), unpacked with `dpkg -x` into the cache outside the repository, and started
# through their own dynamic loader, so they need nothing from the host's libraries. No root.
#
# Order of preference:
#   1. $NGINX_BIN, when set (any nginx of the right series);
#   2. the cache, ~/.cache/wso2-frontend-operator/nginx/<version>/ ($WSO2_FRONTEND_CACHE or
#      $XDG_CACHE_HOME move it), keyed by the nginx package version; versions.txt there pins
#      every package version it was unpacked from;
#   3. a fetch from Debian unstable (deb.debian.org), once.
set -euo pipefail

NGINX_SERIES="${NGINX_SERIES:-1.30}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITE="${DEBIAN_SUITE:-sid}"
# nginx and what its binary links (ldd): libc, libcrypt, PCRE2, OpenSSL, zlib; OpenSSL 3.6 also
# links zstd. The check after unpacking fails if anything else is needed.
PACKAGES=(nginx libc6 libcrypt1 libpcre2-8-0 libssl3t64 zlib1g libzstd1)

log() { printf '[nginx-binaries] %s\n' "$*" >&2; }

if [ -n "${NGINX_BIN:-}" ]; then
  printf '%s\n' "$NGINX_BIN"
  exit 0
fi

case "$(uname -m)" in
  x86_64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 arch=amd64 ;;
  aarch64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 arch=arm64 ;;
  *) log "no Debian nginx for $(uname -m) here; set NGINX_BIN to an nginx ${NGINX_SERIES}.x"; exit 1 ;;
esac

cache_root="${WSO2_FRONTEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wso2-frontend-operator}/nginx"

# The newest cached nginx of the series, if any (a complete one has its wrapper).
cached() {
  local found
  found=$(find "$cache_root" -mindepth 2 -maxdepth 2 -name nginx -path "$cache_root/${NGINX_SERIES}.*/nginx" \
    2>/dev/null | sort -V | tail -1)
  [ -n "$found" ] && printf '%s\n' "$found"
}

if cached; then exit 0; fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
  { log "apt-get and dpkg are needed to fetch nginx ${NGINX_SERIES} once (or set NGINX_BIN)"; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || { log "$keyring is missing (Debian package debian-archive-keyring)"; exit 1; }

mkdir -p "$cache_root"
# One fetch at a time: a second test run waits for the first instead of repeating it.
exec 9>"$cache_root/.lock"
flock 9
if cached; then exit 0; fi

started=$SECONDS
work=$(mktemp -d "$cache_root/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
apt="$work/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/debs" "$work/root"
: >"$apt/status"
printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$arch" "$keyring" "$DEBIAN_MIRROR" "$DEBIAN_SUITE" \
  >"$apt/sources.list"
# APT_CONFIG is read first; pointing Dir::Etc::Parts and ::Main away from /etc keeps every
# setting of the machine (proxies aside, which apt also reads from the environment) out.
cat >"$apt/apt.conf" <<EOF
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$apt/parts";
Dir::Etc::SourceList "$apt/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
Dir::State "$apt";
Dir::State::Lists "$apt/lists";
Dir::State::status "$apt/status";
Dir::Cache "$apt/cache";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Acquire::Languages "none";
// Mirrors and proxies often serve a frozen copy of unstable whose Release is past its
// Valid-Until; the archive signature is still checked against the Debian keyring.
Acquire::Check-Valid-Until "false";
APT::Sandbox::User "$(id -un)";
EOF
export APT_CONFIG="$apt/apt.conf"

log "fetching nginx ${NGINX_SERIES}.x and its libraries from Debian ${DEBIAN_SUITE} (${DEBIAN_MIRROR})"
apt-get -qq update >&2
version=$(apt-cache policy nginx | sed -n 's/^ *Candidate: //p')
case "$version" in
  "${NGINX_SERIES}".*) ;;
  *)
    log "Debian ${DEBIAN_SUITE} ships nginx '${version}', not ${NGINX_SERIES}.x: move NGINX_SERIES here and the" \
      "image pin (nginxinc/nginx-unprivileged) together, or set NGINX_BIN"
    exit 1
    ;;
esac
(cd "$apt/debs" && apt-get -qq download "${PACKAGES[@]}" >&2)
for deb in "$apt"/debs/*.deb; do
  dpkg -x "$deb" "$work/root"
  dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"
done | sort >"$work/versions.txt"

root="$work/root"
libs="$root/usr/lib/$triplet"
# Every library the binary needs must come from the unpacked tree, none from the host.
listing=$("$libs/$loader" --library-path "$libs" --list "$root/usr/sbin/nginx")
if grep -v -e "=> $root/" -e "$loader" -e 'linux-vdso' <<<"$listing" | grep -q .; then
  log "nginx needs libraries outside the fetched packages; add their packages to PACKAGES:"
  printf '%s\n' "$listing" >&2
  exit 1
fi

cat >"$work/nginx" <<EOF
#!/bin/sh
# nginx ${version} from Debian ${DEBIAN_SUITE}, with its own libraries (see versions.txt).
root=\$(cd "\$(dirname "\$0")" && pwd)/root
exec "\$root/usr/lib/$triplet/$loader" --library-path "\$root/usr/lib/$triplet" "\$root/usr/sbin/nginx" "\$@"
EOF
chmod +x "$work/nginx"
"$work/nginx" -v 2>&1 | grep -q "nginx/${version%%-*}" || { log "the fetched nginx does not run:"; "$work/nginx" -v; exit 1; }

dest="$cache_root/${version}"
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/root" "$work/versions.txt" "$work/nginx" "$dest/"
log "nginx ${version} ready in $((SECONDS - started)) s in $dest; packages:"
sed 's/^/  /' "$dest/versions.txt" >&2
printf '%s\n' "$dest/nginx"
