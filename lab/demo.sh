#!/usr/bin/env bash
# Bulwark's main job, from a fresh Debian 12 machine: install, build, check the reference
# deployment's policy offline, then run the deployment as a lab (lab/lab): its network in
# namespaces with real services (nginx load balancers and web servers, a constant-bitrate
# stream origin), the firewall programmed into the gateway namespace over netlink, every
# expectation probed with real packets, the per-rule counters, 1,000 concurrent streams through
# the VIP with a policy change applied in the middle, and the teardown.
#   lab/demo.sh [--keep]     (--keep leaves the lab up; remove it with lab/lab down --prefix <prefix>)
#   DEMO_STREAMS=1000 DEMO_SECONDS=10 DEMO_BITRATE=64 change the load step.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1
streams="${DEMO_STREAMS:-1000}"
seconds="${DEMO_SECONDS:-10}"
bitrate="${DEMO_BITRATE:-64}"

tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target bulwarkctl bulwark-stream-source bulwark-stream-clients
ctl="$PWD/build/release/gateway/bulwarkctl"
tools="$PWD/build/release/lab"
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

say "lab/lab matrix: every expectation probed with real packets (and asked of the offline evaluator)"
/usr/bin/python3 lab/lab matrix --prefix "$prefix" --compare-offline

# the lab's segment links are veths named like the VLAN interfaces: firewall only, where
# bulwarkctl also manages links
only=""
"$ctl" plan --help 2>&1 | grep -q -- '--only' && only="--only firewall"
say "bulwarkctl plan --detailed-exitcode $only (in the gateway namespace: nothing to do)"
# shellcheck disable=SC2086
ip netns exec "$prefix-gw" "$ctl" plan --detailed-exitcode $only "$policy"

say "admin VPN tunnel"
if "$ctl" --help 2>/dev/null | grep -qE '^\s+vpn\b'; then
  echo "bulwarkctl has VPN verbs, but the lab does not bring up an IKEv2 tunnel yet: the VPN-group"
  echo "expectations above are skipped, not probed."
else
  echo "not in this demo yet: the VPN module (vpn/, issue 6) is still being built. The 8 VPN-group"
  echo "expectations above are skipped (listed as SKIP), not probed; the matrix does show that the"
  echo "internet cannot reach mgmt (bastion, monitoring)."
fi

say "lab/lab load: $streams concurrent streams at $bitrate kbit/s for ${seconds}s, internet -> VIP (DNAT) -> lb1 -> stream origin, a policy change in the middle"
/usr/bin/python3 lab/lab load --prefix "$prefix" --streams "$streams" --duration "$seconds" --bitrate "$bitrate" --report-every 2

say "bulwarkctl counters (what the probes and the load hit, per policy rule)"
ip netns exec "$prefix-gw" "$ctl" counters "$policy" | awk 'NR == 1 || $1 > 0'

say "not in this demo yet"
echo "- 802.1Q VLAN links: the lab uses one veth per segment, named as the VLAN interface (this kernel"
echo "  has no 8021q; the VLAN module's tests run under QEMU)"
echo "- the admin VPN (issue 6): see above"
echo "- bulwarkd and the Qt console (issues 7, 8): the lab applies with bulwarkctl apply --direct"
echo "- the full load figures (5,000 and 50,000 streams): docs/performance.md, section Lab load"
echo
echo "demo: $(( $(date +%s) - t_start ))s after the build"
if [ "$keep" = 1 ]; then
  echo
  echo "--keep: the lab is still up (prefix $prefix): lab/lab status --prefix $prefix; lab/lab down --prefix $prefix"
fi
