#!/bin/sh
# Runs bulwark_ha_netns_tests in a network namespace of its own (unshare --net: anonymous,
# gone with its last process) holding the reference pair's interfaces (veths named as
# campus-ha names them), so the real keepalived and conntrackd run without touching the
# host. Needs root; exits 77 (skipped) without.
# usage: daemons_netns.sh TEST_BINARY [gtest args]
set -eu
bin=${1:?test binary}
shift
if [ "$(id -u)" != 0 ]; then echo "daemons_netns: needs root (network namespaces)"; exit 77; fi
for b in /usr/sbin/keepalived /usr/sbin/conntrackd; do
  [ -x "$b" ] || { echo "daemons_netns: $b missing (apt-get install keepalived conntrackd)"; exit 77; }
done
exec timeout 120 unshare --net -- sh -c '
  set -e
  ip link set lo up
  n=0
  for i in eth0 eth1.10 eth1.20 eth1.30 eth1.40 eth1.99 eth2; do
    ip link add "$i" type veth peer name "peer$n"
    ip link set "peer$n" up
    ip link set "$i" up
    n=$((n + 1))
  done
  ip addr add 198.51.100.2/24 dev eth0
  ip addr add 10.20.0.2/24 dev eth1.20
  ip addr add 10.255.0.1/30 dev eth2
  BULWARK_HA_NETNS=1 exec "$@"
' sh "$bin" "$@"
