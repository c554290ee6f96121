#!/bin/sh
# Prints the Debian packages that hold the shared libraries an Asterisk installation links
# to (its binary, its own libraries and every module), one per line. The image's build stage
# runs it so the runtime stage installs exactly those: which modules get built depends on the
# -dev packages present, so a fixed list would go stale. Fails when a library belongs to no
# package, rather than leave the runtime image without it.
#
#   sh runtime-packages.sh /opt/asterisk
set -eu

prefix="${1:?usage: runtime-packages.sh <asterisk prefix>}"
if [ ! -x "$prefix/sbin/asterisk" ]; then
  printf 'runtime-packages: no Asterisk at %s\n' "$prefix" >&2
  exit 1
fi
libraries=$(
  ldd "$prefix/sbin/asterisk" "$prefix"/lib/*.so* "$prefix"/lib/asterisk/modules/*.so 2>/dev/null |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u
)
packages=""
unowned=""
for library in $libraries; do
  case "$library" in
    "$prefix"/*) continue ;; # Asterisk's own (libasteriskssl), copied with the installation.
  esac
  # Debian 12 merged /usr: ldd may name /lib/... where dpkg recorded /usr/lib/... (or the reverse).
  owner=$( (dpkg -S "$library" 2>/dev/null || dpkg -S "$(readlink -f "$library")" 2>/dev/null || true) | head -n 1)
  if [ -z "$owner" ]; then
    unowned="$unowned $library"
  else
    # "libssl3:amd64: /usr/lib/..." -> libssl3
    packages="$packages ${owner%%[:,]*}"
  fi
done
if [ -n "$unowned" ]; then
  printf 'runtime-packages: no Debian package holds:%s\n' "$unowned" >&2
  exit 1
fi
printf '%s\n' $packages | sort -u
