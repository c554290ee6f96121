#!/usr/bin/env bash
# Builds Asterisk 23.4.1 from source into a cache directory outside the checkout, once, and
# prints the install prefix on its last line. Later runs find the finished build and reuse it.
#
#   bash scripts/asterisk/build.sh            # build (or reuse) and print the prefix
#   ASTERISK_CACHE_DIR=/somewhere bash ...    # where builds are kept (default below)
#   ASTERISK_SOURCE=/path/asterisk-23.4.1.tar.gz  # the source tarball to build from
#
# The tarball is taken from ASTERISK_SOURCE, else from the first of a few well-known places,
# else downloaded from downloads.asterisk.org; its SHA-256 must match the one pinned here.
# Sound and music-on-hold downloads are switched off, pjproject is not built: the platform
# drives Asterisk over ARI and external media only, so no SIP stack or sound files are needed.
# Debian build dependencies are installed with apt-get when missing (as root).
set -euo pipefail

VERSION=23.4.1
SHA256=a33dc95c98b72ce7b835004108ee9c929deb0baa51cd616f1da28d06c86e5018
# Bump when the configure/menuselect options below change, so a stale build is not reused.
RECIPE=1

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${ASTERISK_CACHE_DIR:-/var/cache/avp-asterisk}"
# No dot in the prefix: Asterisk's media cache cuts file names at the last "." of the path.
prefix="$cache/asterisk-${VERSION//./_}-r$RECIPE"
stamp="$prefix/BUILD_COMPLETE"

log() { printf '[asterisk-build] %s\n' "$*" >&2; }

if [ -f "$stamp" ] && [ -x "$prefix/sbin/asterisk" ]; then
  log "reusing $prefix ($(cat "$stamp"))"
  echo "$prefix" >"$cache/current"
  echo "$prefix"
  exit 0
fi

deps=(build-essential libjansson-dev libxml2-dev libsqlite3-dev uuid-dev libedit-dev libssl-dev pkg-config libcurl4-openssl-dev)
missing=()
for d in "${deps[@]}"; do
  dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}"
    exit 1
  fi
  log "installing build dependencies: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

tarball=""
for candidate in "${ASTERISK_SOURCE:-}" "$repo/../shared/asterisk/asterisk-$VERSION.tar.gz" \
  "/work/shared/asterisk/asterisk-$VERSION.tar.gz" "$cache/asterisk-$VERSION.tar.gz"; do
  if [ -n "$candidate" ] && [ -f "$candidate" ]; then tarball="$candidate"; break; fi
done
if [ -z "$tarball" ]; then
  mkdir -p "$cache"
  tarball="$cache/asterisk-$VERSION.tar.gz"
  url="https://downloads.asterisk.org/pub/telephony/asterisk/releases/asterisk-$VERSION.tar.gz"
  log "no local source tarball; downloading $url"
  curl -fsSL -o "$tarball.part" "$url"
  mv "$tarball.part" "$tarball"
fi
actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [ "$actual" != "$SHA256" ]; then
  log "checksum mismatch for $tarball: expected $SHA256, got $actual"
  exit 1
fi
log "building Asterisk $VERSION from $tarball into $prefix (about 4 minutes on 2 cores)"

mkdir -p "$cache"
work="$(mktemp -d "$cache/build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
src="$work/asterisk-$VERSION"
cd "$src"
rm -rf "$prefix"
./configure --prefix="$prefix" --without-pjproject-bundled --without-pjproject \
  --without-libjwt-bundled --without-jansson-bundled >"$work/configure.log" 2>&1 \
  || { tail -n 40 "$work/configure.log" >&2; exit 1; }
make menuselect.makeopts >"$work/menuselect.log" 2>&1
menuselect/menuselect --disable-category MENUSELECT_CORE_SOUNDS --disable-category MENUSELECT_MOH \
  --disable-category MENUSELECT_EXTRA_SOUNDS menuselect.makeopts >>"$work/menuselect.log" 2>&1
jobs="$(nproc 2>/dev/null || echo 2)"
make -j"$jobs" >"$work/make.log" 2>&1 || { tail -n 60 "$work/make.log" >&2; exit 1; }
make install >"$work/install.log" 2>&1 || { tail -n 40 "$work/install.log" >&2; exit 1; }
"$prefix/sbin/asterisk" -V >/dev/null
echo "Asterisk $VERSION sha256 $SHA256 recipe $RECIPE built $(date -u +%FT%TZ)" >"$stamp"
echo "$prefix" >"$cache/current"
log "done: $prefix"
echo "$prefix"
