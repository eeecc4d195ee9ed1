#!/usr/bin/env bash
# The .debs install and run on a machine that has nothing: a fresh Debian 12 root made by
# mmdebstrap (variant apt), `apt-get install ./*.deb` in it (apt resolves ${shlibs:Depends}
# and the rest from the Debian archive), then, inside that root: the starter policy and the
# shipped example validate, both binaries say their version, sysusers made the groups and the
# daemon's user _bulwarkd, tmpfiles its directories (with the PKI's group modes, which `pki
# gateway` follows), the units, timer, man pages, completions and desktop entry are where they
# belong, the units pass systemd-analyze verify, and bulwark-console starts (offscreen).
#   install_test.sh DEBDIR        (the output of tools/build-debs.sh)
# Needs root and mmdebstrap; the root lives in a temp dir removed on exit (also on failure).
set -euo pipefail
DEBS="$(cd "${1:?usage: install_test.sh DEBDIR}" && pwd)"
ls "$DEBS"/bulwark_*.deb "$DEBS"/bulwark-console_*.deb >/dev/null || { echo "no bulwark .debs in $DEBS"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "install_test.sh: needs root (mmdebstrap --mode=root, chroot)"; exit 77; }
command -v mmdebstrap >/dev/null || { echo "install_test.sh: mmdebstrap missing (tools/packages.txt)"; exit 1; }

ROOT="$(mktemp -d /tmp/bulwark-install-test-XXXXXX)"
cleanup() {
  for m in proc sys dev; do umount -l "$ROOT/$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT
step() { printf '=== %s (%s)\n' "$1" "$(date +%T)"; }

step "mmdebstrap bookworm (variant apt)"
mmdebstrap --quiet --mode=root --variant=apt bookworm "$ROOT"

step "apt-get install ./*.deb in the fresh root"
mkdir -p "$ROOT/tmp/debs"
cp "$DEBS"/bulwark_*.deb "$DEBS"/bulwark-console_*.deb "$ROOT/tmp/debs/"
mount -t proc proc "$ROOT/proc"
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
# mmdebstrap leaves the root without package lists or a resolver: apt would find no dependency.
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
in_root sh -c 'apt-get update && cd /tmp/debs && apt-get install -y --no-install-recommends ./*.deb' \
  >"$ROOT.apt.log" 2>&1 ||
  { tail -40 "$ROOT.apt.log"; rm -f "$ROOT.apt.log"; exit 1; }
rm -f "$ROOT.apt.log"

step "checks inside the root"
fails=0
check() {  # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if out=$(in_root "$@" 2>&1); then
    printf 'ok    %s\n' "$what"
  else
    printf 'FAIL  %s\n%s\n' "$what" "$out"
    fails=$((fails + 1))
  fi
}
check "bulwarkctl validate (the starter policy, /etc/bulwark/policy)" bulwarkctl validate
check "bulwarkctl validate the shipped example" bulwarkctl validate /usr/share/doc/bulwark/examples/campus.yaml
check "bulwarkctl test the shipped example" bulwarkctl test /usr/share/doc/bulwark/examples/campus.yaml
check "bulwarkd --version" sh -c 'bulwarkd --version | grep -qx "bulwarkd [0-9.]*"'
check "bulwarkctl --version" sh -c 'bulwarkctl --version | grep -qx "bulwarkctl [0-9.]*"'
check "the starter policy is a conffile" sh -c 'dpkg-query -W -f="\${Conffiles}" bulwark | grep -q /etc/bulwark/policy/gateway.yaml'
check "groups bulwark, bulwark-view and the daemon's user _bulwarkd exist" sh -c \
  'getent group bulwark && getent group bulwark-view && getent passwd _bulwarkd && getent group _bulwarkd'
check "units and the CRL timer" test -f /lib/systemd/system/bulwarkd.service -a -f /lib/systemd/system/bulwark-crl.timer \
  -a -f /lib/systemd/system/bulwark-crl.service
check "sysusers.d and tmpfiles.d" test -f /usr/lib/sysusers.d/bulwark.conf -a -f /usr/lib/tmpfiles.d/bulwark.conf
check "tmpfiles made /var/lib/bulwark 0750 and the PKI's dirs 0710, root:_bulwarkd" sh -c \
  'test "$(stat -c "%a %U:%G" /var/lib/bulwark /var/lib/bulwark/pki /var/lib/bulwark/pki/private)" = \
  "$(printf "750 root:_bulwarkd\n710 root:_bulwarkd\n710 root:_bulwarkd")"'
check "the unit runs bulwarkd as _bulwarkd with CAP_NET_ADMIN only" sh -c \
  'grep -qx User=_bulwarkd /lib/systemd/system/bulwarkd.service &&
  grep -qx AmbientCapabilities=CAP_NET_ADMIN /lib/systemd/system/bulwarkd.service'
check "run-bulwarkd.sh (bulwarkd as _bulwarkd where systemd does not start it)" test -x /usr/lib/bulwark/run-bulwarkd.sh
check "the HA node's drop-in adds CAP_NET_RAW and CAP_SYS_NICE, nothing else" sh -c \
  'grep -qx "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE" /usr/lib/bulwark/bulwarkd-ha.conf &&
   grep -qx "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_NICE" /usr/lib/bulwark/bulwarkd-ha.conf'
check "man pages bulwarkd(8), bulwarkctl(8), bulwark-policy(5)" test -f /usr/share/man/man8/bulwarkd.8.gz \
  -a -f /usr/share/man/man8/bulwarkctl.8.gz -a -f /usr/share/man/man5/bulwark-policy.5.gz
check "bash and zsh completions" sh -c 'bash -n /usr/share/bash-completion/completions/bulwarkctl &&
  test -f /usr/share/zsh/vendor-completions/_bulwarkctl'
check "desktop entry and icon" test -f /usr/share/applications/bulwark-console.desktop \
  -a -f /usr/share/icons/hicolor/scalable/apps/bulwark-console.svg
if in_root test -x /usr/bin/systemd-analyze; then
  check "systemd-analyze verify the units" systemd-analyze verify --man=no /lib/systemd/system/bulwarkd.service \
    /lib/systemd/system/bulwark-crl.service /lib/systemd/system/bulwark-crl.timer
  # With the HA drop-in in place, as docs/deploy.md installs it; removed again afterwards.
  check "systemd-analyze verify bulwarkd.service with the HA drop-in" sh -c \
    'mkdir -p /etc/systemd/system/bulwarkd.service.d &&
     cp /usr/lib/bulwark/bulwarkd-ha.conf /etc/systemd/system/bulwarkd.service.d/ha.conf &&
     systemd-analyze verify --man=no /lib/systemd/system/bulwarkd.service; rc=$?;
     rm -r /etc/systemd/system/bulwarkd.service.d; exit $rc'
fi
check "bulwark-console starts (offscreen) and prints its usage" sh -c \
  'QT_QPA_PLATFORM=offscreen bulwark-console --help 2>&1 | grep -q -- --p12'
check "bulwarkctl pki init / gateway / issue in the root" sh -c 'd=$(mktemp -d) &&
  bulwarkctl pki --dir $d/pki init -p /usr/share/doc/bulwark/examples/campus.yaml >/dev/null &&
  bulwarkctl pki --dir $d/pki gateway -p /usr/share/doc/bulwark/examples/campus.yaml >/dev/null &&
  bulwarkctl pki --dir $d/pki issue alice --group netops -p /usr/share/doc/bulwark/examples/campus.yaml >/dev/null &&
  test -f $d/pki/issued/alice/alice.mobileconfig && rm -rf $d'
check "bulwarkctl pki in /var/lib/bulwark/pki: gateway.key 0640 root:_bulwarkd, ca.key 0600 root:root" sh -c '
  bulwarkctl pki init -p /usr/share/doc/bulwark/examples/campus.yaml >/dev/null &&
  bulwarkctl pki gateway -p /usr/share/doc/bulwark/examples/campus.yaml >/dev/null &&
  test "$(stat -c "%a %U:%G" /var/lib/bulwark/pki/private/gateway.key /var/lib/bulwark/pki/private/ca.key)" = \
  "$(printf "640 root:_bulwarkd\n600 root:root")"'
umount -l "$ROOT/proc" 2>/dev/null || true
if [ "$fails" -ne 0 ]; then
  echo "install_test: $fails check(s) failed"
  exit 1
fi
echo "install_test: every check passed"
