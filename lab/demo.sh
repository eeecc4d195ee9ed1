#!/usr/bin/env bash
# Bulwark's main job, from a fresh Debian 12 machine: install, build, check the reference
# deployment's policy offline, then run the deployment as a lab (lab/lab): its network in
# namespaces with real services (nginx load balancers and web servers, a constant-bitrate
# stream origin), the firewall programmed into the gateway namespace over netlink, the admin VPN
# (real charons configured over VICI, certificates from bulwarkctl pki, one tunnel per admin
# group, mgmt reached through it and not from the internet), every expectation probed with real
# packets, the per-rule counters, 1,000 concurrent streams through the VIP with a policy change
# applied in the middle, and the teardown.
#   lab/demo.sh [--keep]     (--keep leaves the lab up; remove it with lab/lab down --prefix <prefix>)
#   DEMO_STREAMS=1000 DEMO_SECONDS=10 DEMO_BITRATE=64 change the load step.
#   DEMO_BUILD_DIR=DIR builds there instead of build/release (configured with the release
#   preset if it is not configured yet).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
streams="${DEMO_STREAMS:-1000}"
seconds="${DEMO_SECONDS:-10}"
bitrate="${DEMO_BITRATE:-64}"
build="${DEMO_BUILD_DIR:-$PWD/build/release}"

tools/install-deps.sh
[ -f "$build/CMakeCache.txt" ] || cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j"$(nproc)" --target bulwarkctl bulwark-stream-source bulwark-stream-clients
ctl="$build/gateway/bulwarkctl"
tools="$build/lab"
policy=policies/examples/campus.yaml
say() { printf '\n== %s\n' "$*"; }
t_start=$(date +%s)

say "bulwarkctl validate --werror $policy"
"$ctl" validate --werror "$policy"
say "bulwarkctl fmt --check $policy"
"$ctl" fmt --check "$policy" && echo "canonical"
say "bulwarkctl show $policy"
"$ctl" show "$policy"
say "bulwarkctl test $policy   (every expect: against the compiled ruleset, offline)"
"$ctl" test "$policy"
say "bulwarkctl why internet 203.0.113.10 tcp/443"
"$ctl" why internet 203.0.113.10 tcp/443 -p "$policy"

if [ "$(id -u)" -ne 0 ]; then
  echo
  echo "The namespace lab needs root (network namespaces); run lab/demo.sh as root for the rest."
  exit 0
fi

prefix="bwd$$"
cleanup() { [ "$keep" = 1 ] || /usr/bin/python3 lab/lab down --prefix "$prefix" >/dev/null 2>&1 || true; }
trap cleanup EXIT

say "lab/lab up: the reference deployment in namespaces, real services, bulwarkctl apply --direct in the gateway"
/usr/bin/python3 lab/lab up --prefix "$prefix" --ctl "$ctl" --tools "$tools" --policy "$policy"

say "lab/lab vpn up: the admin VPN (charons in namespaces, configured by bulwarkctl over VICI)"
/usr/bin/python3 lab/lab vpn up --prefix "$prefix"

say "lab/lab matrix: every expectation probed with real packets, the VPN groups' through their tunnels (and asked of the offline evaluator)"
/usr/bin/python3 lab/lab matrix --prefix "$prefix" --compare-offline

# the lab's segment links are veths named like the VLAN interfaces: firewall only, where
# bulwarkctl also manages links
only=""
"$ctl" plan --help 2>&1 | grep -q -- '--only' && only="--only firewall"
say "bulwarkctl plan --detailed-exitcode $only (in the gateway namespace: nothing to do)"
# shellcheck disable=SC2086
ip netns exec "$prefix-gw" "$ctl" plan --detailed-exitcode $only "$policy"

# before the load: its mid-load re-apply replaces the whole table, which starts every counter at 0
say "bulwarkctl counters (what the matrix and the VPN probes hit, per policy rule; rules at 0 left out)"
ip netns exec "$prefix-gw" "$ctl" counters "$policy" | awk 'NR == 1 || $1 > 0'

say "lab/lab load: $streams concurrent streams at $bitrate kbit/s for ${seconds}s, internet -> VIP (DNAT) -> lb1 -> stream origin, a policy change in the middle"
/usr/bin/python3 lab/lab load --prefix "$prefix" --streams "$streams" --duration "$seconds" --bitrate "$bitrate" --report-every 2

say "bulwarkctl tunnels (the admin tunnels as the gateway's charon has them now)"
"$ctl" tunnels --vici "unix:///var/lib/bulwark-lab/$prefix/gw/run/charon.vici"

say "not in this demo yet"
echo "- 802.1Q VLAN links: the lab uses one veth per segment, named as the VLAN interface (this kernel"
echo "  has no 8021q; the VLAN module's tests run under QEMU), so the lab applies with --only firewall"
echo "- ESP in the kernel: this kernel has no ESP, so the charons use kernel-libipsec (userspace ESP"
echo "  on the TUN ipsec0); the firewall admits a VPN pool both ways (IPsec policy match, or from ipsec0)"
echo "- bulwarkd and the Qt console: the lab applies with bulwarkctl apply --direct and"
echo "  bulwarkctl vpn apply; the daemon and the console are not part of the demo"
echo "- the full load figures (5,000 and 50,000 streams): docs/performance.md, section Lab load"
echo
echo "demo: $(( $(date +%s) - t_start ))s after the build"
if [ "$keep" = 1 ]; then
  echo
  echo "--keep: the lab is still up (prefix $prefix): lab/lab status --prefix $prefix; lab/lab down --prefix $prefix"
fi
