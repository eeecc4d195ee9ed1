#!/bin/sh
# Starts bulwarkd the way bulwarkd.service does, where systemd does not (the lab, the tests):
# as its dedicated user, with CAP_NET_ADMIN as its only capability (ambient, so it survives
# the exec; the bounding set holds nothing else) and no new privileges.
#
#   run-bulwarkd.sh [--user NAME] [--groups G1,G2] -- BULWARKD [ARGS...]
#
# --user: default _bulwarkd (gateway/daemon/README.md). --groups: supplementary groups, e.g.
# the group of charon's VICI socket; by default the user has none. Run it as root, inside the
# network namespace the daemon is to manage (ip netns exec NS run-bulwarkd.sh -- ...).
#
# It creates and chowns nothing: the caller gives the user its --state-dir and the directory
# of its --socket first (as systemd's StateDirectory=/RuntimeDirectory= do), and makes the
# policy dir and the PKI files readable (see the README).
set -eu

user=_bulwarkd
groups=
usage() {
  echo "usage: $0 [--user NAME] [--groups G1,G2] -- BULWARKD [ARGS...]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --user) [ $# -ge 2 ] || usage; user=$2; shift 2 ;;
    --groups) [ $# -ge 2 ] || usage; groups=$2; shift 2 ;;
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
if [ -n "$groups" ]; then
  set -- --groups="$groups" -- "$@"
else
  set -- --clear-groups -- "$@"
fi
exec setpriv --reuid="$uid" --regid="$gid" \
  --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \
  --no-new-privs "$@"
