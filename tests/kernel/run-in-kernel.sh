#!/usr/bin/env bash
# run-in-kernel.sh — run one command under Debian's standard amd64 kernel in QEMU (TCG; no KVM
# needed), with this machine's / visible read-only (virtio-9p + a throw-away overlay), so test
# binaries built here run unchanged inside. For what this machine's kernel lacks (802.1Q,
# kernel ESP). Boot ONE VM per group of tests: a gtest binary, or `ctest -L <label>`.
# Every ctest entry with label `kernel` runs through this script, so `ctest -R one.test`
# boots a VM for that test alone, while the group runs in ONE boot:
#   tests/kernel/run-in-kernel.sh -- ctest --preset dev -L kernel --output-on-failure
# (inside the VM BULWARK_IN_VM=1 and this script just runs the command).
#
#   tests/kernel/run-in-kernel.sh [--mem 1G] [--smp N] [--timeout SEC] [--rw DIR]... [--verbose]
#                                 [--rebuild] -- CMD [ARGS...]
#
# Exit status: the command's; 124 = timeout; 125 = the VM could not run (the reason is printed).
# The command runs as root in the guest, in the caller's directory, with the caller's exported
# environment and stdin = /dev/null; its stdout+stderr come back on stdout. Writes inside the
# guest are thrown away, except under --rw DIRs (mounted read-write at the same path).
#
# First run builds a cache (kernel .deb from apt — the package linux-image-amd64 depends on
# now — unpacked, pruned, depmod by busybox; an initramfs with tests/kernel/guest-init.sh):
#   BULWARK_KERNEL_CACHE (default /var/cache/bulwark-kernel), BULWARK_KERNEL_PKG (override).
# Needs: qemu-system-x86_64 (qemu-system-x86), /bin/busybox static (busybox-static), apt-get.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${BULWARK_KERNEL_CACHE:-/var/cache/bulwark-kernel}
MEM=1G
SMP=$(($(nproc) < 2 ? $(nproc) : 2))
TIMEOUT=600
VERBOSE=0
REBUILD=0
RW_DIRS=()

fail() {
  echo "run-in-kernel: cannot run the VM: $*" >&2
  exit 125
}
note() { if [ "$VERBOSE" = 1 ]; then echo "run-in-kernel: $*" >&2; fi; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --rw) RW_DIRS+=("$(realpath -e "$2")") || fail "--rw $2: no such directory"; shift 2 ;;
    --verbose) VERBOSE=1; shift ;;
    --rebuild) REBUILD=1; shift ;;
    --) shift; break ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || fail "no command given (usage: $0 [options] -- CMD [ARGS...])"

# Already inside the VM (this script booted it for a whole group, e.g.
# `run-in-kernel.sh -- ctest -L kernel`, and each kernel test's own ctest command is this
# script again): run the command right here, no nested VM.
if [ "${BULWARK_IN_VM:-}" = 1 ]; then
  exec "$@"
fi

command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || fail "no static $BUSYBOX (apt-get install busybox-static)"
[ -r /dev/kvm ] && note "KVM present but not used (TCG keeps runs comparable)"

# Modules needed before the root exists, and modules loaded once it does (cheap; tests then
# do not depend on autoloading). The rest load on demand.
# The nf_tables expressions Bulwark's rulesets use are preloaded too: loaded on demand, each
# missing one makes nf_tables abort the whole transaction, load it and replay the batch —
# measured under TCG, the campus.yaml ruleset's first commit took 35.7 s that way and 0.58 s
# with the modules present. xfrm_user/esp4: charon's kernel-netlink (kernel ESP test).
BOOT_MODULES="virtio_pci 9pnet_virtio 9p overlay"
PRELOAD="8021q veth bridge nf_tables nft_ct nft_limit nft_log nf_log_syslog nft_nat nft_chain_nat nft_masq"
PRELOAD+=" nft_connlimit nft_fib_inet nft_fib_ipv4 nft_fib_ipv6 nft_reject_inet xfrm_user esp4"

# ---- cache -----------------------------------------------------------------------------------
# Layout: $CACHE/<kver>/{vmlinuz,modules/<kver>/...}, $CACHE/<kver>/initrd-<hash of init>.img,
# $CACHE/current -> <kver>. Editing guest-init.sh rebuilds only the initramfs.
module_path() {  # module name -> path relative to the module dir (from modules.dep)
  awk -F: -v n="$1" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b)
                       if (b == n) { print $1; exit } }' "$2/modules.dep"
}

build_kernel() {
  local pkg kver tmp mdir
  pkg=${BULWARK_KERNEL_PKG:-}
  if [ -z "$pkg" ]; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    if [ -z "$pkg" ]; then
      apt-get update >/dev/null 2>&1 || true
      pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    fi
  fi
  [ -n "$pkg" ] || fail "cannot resolve the kernel package linux-image-amd64 depends on (set BULWARK_KERNEL_PKG)"
  kver=${pkg#linux-image-}
  echo "run-in-kernel: building the kernel cache for $kver in $CACHE (once)" >&2
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || { rm -rf "$tmp"; fail "apt-get download $pkg failed"; }
  dpkg-deb -x "$tmp/${pkg}"_*.deb "$tmp/x" || { rm -rf "$tmp"; fail "cannot unpack $pkg"; }
  rm -f "$tmp"/*.deb
  mdir=$tmp/x/lib/modules/$kver
  # Drop what a network test never needs (~200 MB of GPU, sound, media, wireless ... drivers).
  rm -rf "$mdir"/kernel/{sound,drivers/gpu,drivers/media,drivers/infiniband,drivers/staging,drivers/scsi,drivers/usb,drivers/hid,drivers/input,drivers/iio,drivers/net/wireless,drivers/bluetooth,drivers/isdn,drivers/mtd}
  # The .deb carries no modules.dep (the package's postinst makes it): busybox depmod does.
  "$BUSYBOX" depmod -b "$tmp/x" "$kver" || { rm -rf "$tmp"; fail "depmod failed"; }
  mkdir -p "$tmp/$kver/modules"
  mv "$tmp/x/boot/vmlinuz-$kver" "$tmp/$kver/vmlinuz"
  mv "$mdir" "$tmp/$kver/modules/$kver"
  rm -rf "$tmp/x"
  rm -rf "${CACHE:?}/$kver"
  mv "$tmp/$kver" "$CACHE/$kver"
  rmdir "$tmp"
  ln -sfn "$kver" "$CACHE/current"
}

build_initrd() {  # $1 = kernel dir, $2 = output image
  local kdir=$1 out=$2 kver ir mods order=() seen=" " m
  kver=$(basename "$kdir")
  mods=$kdir/modules/$kver
  ir=$(mktemp -d "$CACHE/.initrd.XXXXXX")
  mkdir -p "$ir"/{bin,sbin,etc,proc,sys,dev,share,host,overlay,root,lib/modules/"$kver"}
  cp "$BUSYBOX" "$ir/bin/busybox"
  ln -s busybox "$ir/bin/sh"
  ln -s ../bin/busybox "$ir/sbin/modprobe"
  add_module() {  # depth first: dependencies before their users
    local name=$1 path deps d
    path=$(module_path "$name" "$mods")
    if [ -z "$path" ]; then
      grep -qE "/${name//_/[_-]}\.ko" "$mods/modules.builtin" && return 0
      fail "module $name is neither in modules.dep nor built in"
    fi
    case "$seen" in *" $path "*) return 0 ;; esac
    deps=$(awk -F': *' -v p="$path" '$1 == p { print $2; exit }' "$mods/modules.dep")
    for d in $deps; do
      d=${d##*/}
      d=${d%%.ko*}
      add_module "${d//-/_}"
    done
    seen="$seen$path "
    order+=("$path")
  }
  for m in $BOOT_MODULES; do add_module "$m"; done
  : >"$ir/etc/bootmods"
  for m in "${order[@]}"; do
    mkdir -p "$ir/lib/modules/$kver/$(dirname "$m")"
    cp "$mods/$m" "$ir/lib/modules/$kver/$m"
    echo "$m" >>"$ir/etc/bootmods"
  done
  echo "$kver" >"$ir/etc/kver"
  cp "$HERE/guest-init.sh" "$ir/init"
  chmod 755 "$ir/init"
  (cd "$ir" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$out.tmp"
  mv "$out.tmp" "$out"
  rm -rf "$ir"
}

mkdir -p "$(dirname "$CACHE")"
exec 9>"$CACHE.lock"
flock 9
if [ "$REBUILD" = 1 ] || ! [ -f "$CACHE/current/vmlinuz" ]; then
  build_kernel
fi
KDIR=$(realpath "$CACHE/current")
KVER=$(basename "$KDIR")
INITRD=$KDIR/initrd-$(sha256sum "$HERE/guest-init.sh" "$0" | sha256sum | cut -c1-12).img
if [ "$REBUILD" = 1 ] || ! [ -f "$INITRD" ]; then
  rm -f "$KDIR"/initrd-*.img
  build_initrd "$KDIR" "$INITRD"
fi
flock -u 9

# ---- one run ---------------------------------------------------------------------------------
RUN=$(mktemp -d /tmp/bulwark-kernel.XXXXXX)
QEMU_PID=
cleanup() {
  if [ -n "$QEMU_PID" ]; then kill "$QEMU_PID" 2>/dev/null || true; fi
  rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo '#!/bin/bash'
  # The caller's exported environment, minus what belongs to this terminal/session.
  export -p | grep -vE '^declare -x (BASH_[A-Z_]*|SHLVL|OLDPWD|_|TERM|SSH_[A-Z_]*|DISPLAY|XDG_[A-Z_]*)(=|$)' || true
  echo 'export BULWARK_IN_VM=1'
  printf 'cd %q || { echo "run-in-kernel: no %q in the guest" >&2; exit 125; }\n' "$PWD" "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} >"$RUN/cmd.sh"
{
  printf 'MODULES_DIR=%q\n' "$KDIR/modules/$KVER"
  printf 'RW_DIRS=%q\n' "${RW_DIRS[*]:-}"
  printf 'PRELOAD=%q\n' "$PRELOAD"
} >"$RUN/params"

QEMU=(qemu-system-x86_64 -nodefaults -no-user-config -machine q35,accel=tcg -cpu max -smp "$SMP" -m "$MEM"
  -display none -monitor none -no-reboot
  -chardev stdio,id=out,signal=off -serial chardev:out -serial "file:$RUN/console.log"
  -kernel "$KDIR/vmlinuz" -initrd "$INITRD"
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$RUN,mount_tag=share,security_model=none"
  -device virtio-rng-pci)
i=0
for d in "${RW_DIRS[@]}"; do
  QEMU+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
  i=$((i + 1))
done
# The kernel console goes to ttyS1 (a file), never into the command's output.
APPEND="console=ttyS1 panic=-1 mitigations=off tsc=reliable no_timer_check i8042.noaux i8042.nokbd i8042.nopnp"
[ "$VERBOSE" = 1 ] && APPEND+=" loglevel=7" || APPEND+=" loglevel=4"

START=$(date +%s.%N)
timeout --kill-after=5 "$TIMEOUT" "${QEMU[@]}" -append "$APPEND" </dev/null &
QEMU_PID=$!
set +e
wait "$QEMU_PID"
qrc=$?
set -e
QEMU_PID=
END=$(date +%s.%N)
if [ -f "$RUN/boot_seconds" ]; then
  note "$(awk -v s="$START" -v e="$END" -v b="$(cat "$RUN/boot_seconds")" -v c="$(cat "$RUN/end_seconds" 2>/dev/null || echo 0)" \
    'BEGIN { printf "kernel %s: wall %.1fs, boot %.1fs, command %.1fs", "'"$KVER"'", e - s, b, c - b }')"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  echo "run-in-kernel: TIMEOUT after ${TIMEOUT}s; last kernel console lines:" >&2
  tail -n 10 "$RUN/console.log" >&2 2>/dev/null || true
  exit 124
fi
if ! [ -f "$RUN/status" ]; then
  echo "run-in-kernel: cannot run the VM: the guest reported no exit status (qemu exit $qrc); last kernel console lines:" >&2
  tail -n 30 "$RUN/console.log" >&2 2>/dev/null || true
  exit 125
fi
exit "$(cat "$RUN/status")"
