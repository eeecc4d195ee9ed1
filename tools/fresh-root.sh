#!/usr/bin/env bash
# The README's set-up on a machine that has nothing: a minimal Debian 12 root (mmdebstrap,
# variant "apt": the essential packages and apt, no compiler, no Qt, no Bulwark dependency),
# this checkout copied in (the files git tracks, as they are in the work tree; no build dirs),
# then in a chroot:
#   1. as root:          tools/install-deps.sh   (apt-get update + everything tools/packages.txt lists)
#   2. as a plain user:  lab/demo.sh             (the README's main command: install check,
#      configure the release preset, build what the demo needs, the demo's offline part:
#      validate, fmt --check, show, test, why; the namespace lab needs root and is skipped,
#      which demo.sh says)
# Proof that tools/packages.txt and the README are complete. Needs root and mmdebstrap (a tool
# of this script only, not of the build: `apt-get install mmdebstrap`; not in packages.txt).
#
#   tools/fresh-root.sh [--keep]
#     FRESH_ROOT_TIMEOUT=7200   seconds for everything (the whole run is killed after that)
#     FRESH_ROOT_DIR=/var/tmp   where the root is made (about 3 GB while it runs)
#     FRESH_ROOT_APT_CACHE=DIR  apt's package cache in the chroot is DIR: install-deps's .debs
#                               are kept there and reused next time (default: none, every
#                               package is downloaded; mmdebstrap's own ~100 MB always are)
#   --keep leaves the root (its path is printed; remove it with rm -rf).
#
# Not in .ci/run: it downloads ~1 GB of packages and builds the release preset from nothing,
# 50 minutes on these 2 shared cores (docs/performance.md, "From a fresh machine"); run it before a
# release and after any change to tools/packages.txt, the presets or the README's commands.
# Everything it mounts lives in a private mount namespace (unshare -m) and is unmounted on exit;
# the root is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
timeout_s="${FRESH_ROOT_TIMEOUT:-7200}"
base="${FRESH_ROOT_DIR:-/var/tmp}"
apt_cache="${FRESH_ROOT_APT_CACHE:-}"
step=""

fail() { echo "fresh-root: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (mmdebstrap --mode=root, chroot): run it as root or with sudo"
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing: apt-get install mmdebstrap"
command -v git >/dev/null || fail "git is missing (the checkout's file list): apt-get install git"

root="$(mktemp -d "$base/bulwark-fresh.XXXXXX")"
t0=$(date +%s)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  set +e
  # the chroot's mounts are in the private namespace that ended with it; these are for safety
  findmnt -rn -o TARGET | grep -F "$root/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  if [ "$keep" = 1 ]; then
    echo "fresh-root: --keep: the root is at $root (rm -rf $root)"
  else
    rm -rf --one-file-system "$root"
  fi
  if [ "$rc" -ne 0 ]; then
    echo "fresh-root: FAILED at step '$step' after $(( $(date +%s) - t0 ))s (exit $rc); rerun with --keep to look inside" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "fresh-root: step \"$step\" failed (line $LINENO)" >&2' ERR

stamp() { printf '\n=== fresh-root: %s (%ss)\n' "$1" "$(( $(date +%s) - t0 ))"; step="$1"; }

stamp "mmdebstrap bookworm (variant apt) into $root"
sources=()
# the host's own mirror list, so the root sees the same archive (and snapshot) as this machine
[ -f /etc/apt/sources.list.d/debian.sources ] && sources=(/etc/apt/sources.list.d/debian.sources)
mm=(mmdebstrap --variant=apt --mode=root --quiet)
[ -z "$apt_cache" ] || mkdir -p "$apt_cache"
timeout "$timeout_s" "${mm[@]}" bookworm "$root" "${sources[@]}"

stamp "copy the checkout (git ls-files) to /home/fresh/bulwark"
mkdir -p "$root/home/fresh/bulwark"
(cd "$repo" && git ls-files -z | xargs -0 -I{} sh -c '[ -e "$1" ] && printf "%s\0" "$1"' _ {} |
   tar --null -T - -cf -) | tar -xf - -C "$root/home/fresh/bulwark"
echo "fresh:x:1000:1000:fresh machine user:/home/fresh:/bin/bash" >> "$root/etc/passwd"
echo "fresh:x:1000:" >> "$root/etc/group"
chown -R 1000:1000 "$root/home/fresh"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A chroot has no init: no package may start its service here (nginx would bind the host's :80).
# This is what a container image carries too; it is the harness, not the machine.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
du -sh "$root" | awk '{print "fresh-root: the root is " $1 " before install-deps"}'

# The chroot runs in a private mount namespace: /proc, /sys, /dev and /run go with it.
inner=$(cat <<'EOF'
set -euo pipefail
root="$1"; apt_cache="$2"; t0="$3"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
if [ -n "$apt_cache" ]; then mount --bind "$apt_cache" "$root/var/cache/apt/archives"; fi
env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb)
printf '\n=== fresh-root: as root in the chroot: tools/install-deps.sh (%ss)\n' "$(( $(date +%s) - t0 ))"
chroot "$root" "${env[@]}" HOME=/root DEBIAN_FRONTEND=noninteractive \
  bash -c 'cd /home/fresh/bulwark && tools/install-deps.sh' 2>&1 | grep -v '^\(Get\|Selecting\|Preparing\|Unpacking\|Setting up\|Processing\)' | tail -n 40
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fresh-root: tools/install-deps.sh failed in the chroot" >&2; exit 1; }
df -h "$root" | tail -1 | awk '{print "fresh-root: disk used on that filesystem: " $3}'
printf '\n=== fresh-root: as user fresh in the chroot: lab/demo.sh (%ss)\n' "$(( $(date +%s) - t0 ))"
chroot "$root" setpriv --reuid=1000 --regid=1000 --clear-groups "${env[@]}" HOME=/home/fresh USER=fresh \
  bash -c 'cd /home/fresh/bulwark && lab/demo.sh'
EOF
)
stamp "chroot: install-deps as root, then lab/demo.sh as a plain user"
timeout "$(( timeout_s - ($(date +%s) - t0) ))" unshare --mount --propagation private \
  bash -c "$inner" inner "$root" "$apt_cache" "$t0"

stamp "done"
echo "fresh-root: PASS in $(( $(date +%s) - t0 ))s: install-deps, configure, build and the demo's offline part on a fresh Debian 12 root"
