#!/bin/sh
# Starts bulwarkd the way bulwarkd.service does, where systemd does not (the lab, the tests):
# as its dedicated user, with CAP_NET_ADMIN as its only capability (ambient, so it survives
# the exec; the bounding set holds nothing else) and no new privileges.
#
#   run-bulwarkd.sh [--user NAME] [--groups G1,G2] [--caps net_admin,net_raw,...] -- BULWARKD [ARGS...]
#
# --user: default _bulwarkd (gateway/daemon/README.md). --groups: supplementary groups, e.g.
# the group of charon's VICI socket; by default the user has none. --caps: the capabilities
# (ambient and bounding), default net_admin; an HA node adds net_raw and sys_nice as
# bulwarkd-ha.conf does (keepalived and conntrackd inherit the ambient set; gateway/daemon/
# README.md "Running as _bulwarkd"). Run it as root, inside the
# network namespace the daemon is to manage (ip netns exec NS run-bulwarkd.sh -- ...).
#
# It creates and chowns nothing: the caller gives the user its --state-dir and the directory
# of its --socket first (as systemd's StateDirectory=/RuntimeDirectory= do), and makes the
# policy dir and the PKI files readable (see the README).
set -eu

user=_bulwarkd
groups=
caps=net_admin
usage() {
  echo "usage: $0 [--user NAME] [--groups G1,G2] [--caps CAP1,CAP2] -- BULWARKD [ARGS...]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
    --groups) [ $# -ge 2 ] || usage; groups=$2; shift 2 ;;
    --caps) [ $# -ge 2 ] || usage; caps=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -ge 1 ] || usage
if ! uid=$(id -u "$user" 2>/dev/null) || ! gid=$(id -g "$user" 2>/dev/null); then
  echo "$0: no user '$user' (create it: useradd --system --user-group --no-create-home --shell /usr/sbin/nologin $user)" >&2
  exit 2
fi
if [ "$uid" = 0 ]; then
  echo "$0: '$user' is root; bulwarkd's user must not be" >&2
  exit 2
fi
# Capability names only (setpriv's spelling, without CAP_), and never more than the HA
# node's set: this script must not become a way to hand the daemon root's powers.
case "$caps" in
  ''|,*|*,|*,,*|*[!a-z_,]*) echo "$0: --caps: a comma-separated list of capability names, e.g. net_admin,net_raw" >&2; exit 2 ;;
esac
for c in $(echo "$caps" | tr ',' ' '); do
  case "$c" in
    net_admin|net_raw|sys_nice|net_bind_service) ;;
    *) echo "$0: --caps: '$c' is not one bulwarkd may have (net_admin, net_raw, sys_nice, net_bind_service)" >&2; exit 2 ;;
  esac
done
case ",$caps," in
  *,net_admin,*) ;;
  *) echo "$0: --caps must hold net_admin" >&2; exit 2 ;;
esac
set_caps=-all,+$(echo "$caps" | sed 's/,/,+/g')
if [ -n "$groups" ]; then
  set -- --groups="$groups" -- "$@"
else
  set -- --clear-groups -- "$@"
fi
exec setpriv --reuid="$uid" --regid="$gid" \
  --inh-caps="$set_caps" --ambient-caps="$set_caps" --bounding-set="$set_caps" \
  --no-new-privs "$@"
