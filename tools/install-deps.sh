#!/usr/bin/env bash
# Installs every Debian package Bulwark needs (tools/packages.txt). Idempotent: when all are
# installed it only says so (no apt, no root needed). A failure ends with one line saying what
# and what to do.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t pkgs < <(grep -v '^\s*#' "$here/packages.txt" | sed 's/#.*//; s/\s//g; /^$/d')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
fail() { echo "install-deps: $*" >&2; exit 1; }
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null ||
    fail "${#missing[@]} packages missing (${missing[*]}) and this is not root and has no sudo: run it as root"
  SUDO=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update ||
  fail "apt-get update failed: check the network and /etc/apt/sources.list*, then run again"
"${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}" ||
  fail "apt-get install failed for ${missing[*]} (apt's error above: a name Debian 12 does not have belongs fixed in tools/packages.txt)"
