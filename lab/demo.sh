#!/usr/bin/env bash
# Bulwark's main job, from a fresh Debian 12 machine: install, build, check the reference
# deployment's policy offline, then run the deployment as a lab (lab/lab): its network in
# namespaces with real services (nginx load balancers and web servers, a constant-bitrate
# stream origin), the gateway as deployed: bulwarkd in the gateway namespace with the policy
# directory (its startup programs the firewall over netlink; every later change goes through it
# with bulwarkctl), the admin VPN (real charons configured over VICI, certificates from
# bulwarkctl pki, one tunnel per admin group), every expectation probed with real packets, the
# per-rule counters, 1,000 concurrent streams through the VIP with a policy change applied in
# the middle through bulwarkd (apply --confirm, confirm), one change left unconfirmed and rolled
# back by bulwarkd on its own, status, history and the metrics endpoint; then the same
# deployment as an active/standby pair (lab/lab up --ha: two gateways, bulwarkd --ha on each with
# keepalived and conntrackd) and, during its load step, the active gateway killed (failover, then
# the failback of the rebooted node) and lb1 killed (new connections via lb2, the streams that were
# on lb1 reconnect), each figure checked against the goal of issue 17; and the teardown.
#
#   lab/demo.sh [--keep]   --keep leaves the lab and its bulwarkd running and says how to attach
#                          bulwarkctl and bulwark-console; remove it with lab/lab down --prefix P
# Knobs (environment):
#   DEMO_STREAMS=1000 DEMO_SECONDS=10 DEMO_BITRATE=64   the load steps (streams, hold seconds, kbit/s;
#                              the pair's hold is at least 16 s: failover, failback, lb1's death)
#   DEMO_ROLLBACK_SECONDS=5    the confirm window of the change left unconfirmed
#   DEMO_BUILD_DIR=DIR         build there instead of build/release; configured with the release
#                              preset only if it is not configured yet, so it may name an already
#                              built dir of another preset (CI: build/dev, which the test suite built)
#   DEMO_LOCK=FILE             the one-demo-at-a-time lock (default /run/bulwark-demo.lock as root)
# Without root the demo runs its offline part (install check, build, validate, fmt, show, test,
# why), says what it skipped and exits 0. Any failure ends with one line naming the step and what
# to do; the lab (namespaces, services, bulwarkd, charons) is removed on every exit unless
# --keep was given (then it stays, also after a failure, for a look).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
. tools/lib/steps.sh
steps_init demo

keep=0
case "${1:-}" in
  "") ;;
  --keep) keep=1 ;;
  -h|--help) sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1': lab/demo.sh [--keep]" ;;
esac
[ $# -le 1 ] || die "too many arguments: lab/demo.sh [--keep]"

posint() {  # posint NAME VALUE MAX
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le "$3" ] ||
    die "$1=$2 is not a whole number from 1 to $3: fix or unset it"
}
streams="${DEMO_STREAMS:-1000}";          posint DEMO_STREAMS "$streams" 50000
seconds="${DEMO_SECONDS:-10}";            posint DEMO_SECONDS "$seconds" 3600
bitrate="${DEMO_BITRATE:-64}";            posint DEMO_BITRATE "$bitrate" 100000
window="${DEMO_ROLLBACK_SECONDS:-5}";     posint DEMO_ROLLBACK_SECONDS "$window" 300
build="${DEMO_BUILD_DIR:-$PWD/build/release}"
[ ! -e "$build" ] || [ -d "$build" ] || die "DEMO_BUILD_DIR=$build exists and is not a directory: point it at a build directory"
root=0; [ "$(id -u)" -eq 0 ] && root=1
if [ "$root" = 1 ]; then lock="${DEMO_LOCK:-/run/bulwark-demo.lock}"
else lock="${DEMO_LOCK:-${XDG_RUNTIME_DIR:-/tmp}/bulwark-demo-$(id -u).lock}"; fi
take_lock "$lock" "lab/demo.sh"

say() { printf '\n== %s\n' "$*"; }
py=/usr/bin/python3
prefix="bwd$$"
ha_prefix="bwh$$"
lab_up=0
ha_up=0
cleanup() {
  local rc=$? p
  trap - ERR
  for p in $([ "$lab_up" = 1 ] && echo "$prefix") $([ "$ha_up" = 1 ] && echo "$ha_prefix"); do
    if [ "$keep" = 0 ]; then
      "$py" lab/lab down --prefix "$p" >/dev/null 2>&1 || echo "demo: could not remove the lab: lab/lab down --prefix $p" >&2
    elif [ "$rc" -ne 0 ]; then
      echo "demo: --keep: the lab stays for a look (lab/lab status --prefix $p); lab/lab down --prefix $p removes it" >&2
    fi
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "install the Debian packages (tools/install-deps.sh)" \
  "apt could not install what tools/packages.txt lists (see the lines above): fix the apt sources or the network, or run as root, then run lab/demo.sh again"
tools/install-deps.sh
step "configure $build (cmake --preset release)" \
  "see cmake's error above (a missing package: add it to tools/packages.txt); then run lab/demo.sh again"
configure_build "$build" release
hint="see the compiler's error above; a build dir made by another checkout: rm -rf $build and run again"
[ -w "$build" ] || hint="$build is not writable by $(id -un) (made by sudo lab/demo.sh?): run it with sudo, or set DEMO_BUILD_DIR to a dir of your own"
step "build bulwarkctl, bulwarkd and the lab's load tools in $build" "$hint"
cmake --build "$build" -j"$(nproc)" --target bulwarkctl bulwarkd bulwark-stream-source bulwark-stream-clients
ctl="$build/gateway/bulwarkctl"
tools="$build/lab"
policy=policies/examples/campus.yaml
t_start=$(date +%s)

step "the offline checks of $policy" "the reference policy or bulwarkctl is broken: see the output above"
say "bulwarkctl validate --werror $policy"
"$ctl" validate --werror "$policy"
say "bulwarkctl fmt --check $policy"
"$ctl" fmt --check "$policy"
echo "canonical"
say "bulwarkctl show $policy"
"$ctl" show "$policy"
say "bulwarkctl test $policy   (every expect: against the compiled ruleset, offline)"
"$ctl" test "$policy"
say "bulwarkctl why internet 203.0.113.10 tcp/443"
"$ctl" why internet 203.0.113.10 tcp/443 -p "$policy"

if [ "$root" = 0 ]; then
  echo
  echo "demo: skipped, needs root (network namespaces): the lab (services, bulwarkd in the gateway namespace, admin VPN, matrix of real packets, load, rollback); run sudo lab/demo.sh for it"
  exit 0
fi

step "lab/lab up" "see the lab's error above; lab/lab status --prefix $prefix shows what was up (it is removed now)"
say "lab/lab up: the reference deployment in namespaces, real services, bulwarkd in the gateway namespace"
lab_up=1
"$py" lab/lab up --prefix "$prefix" --ctl "$ctl" --tools "$tools" --policy "$policy"
sock="/run/bulwark-lab/$prefix/run/bulwarkd.sock"
step "bulwarkctl status" "bulwarkd does not answer on $sock: see /run/bulwark-lab/$prefix/bulwarkd.log (run with --keep to look)"
say "bulwarkctl --socket $sock status   (bulwarkd in $prefix-gw, over its control socket)"
"$ctl" --socket "$sock" status

step "lab/lab vpn up" "see the charon log lines above; strongSwan comes from tools/packages.txt"
say "lab/lab vpn up: the admin VPN (charons in namespaces, configured by bulwarkctl over VICI)"
"$py" lab/lab vpn up --prefix "$prefix"

step "lab/lab matrix" "a MISMATCH/DISAGREE row above is a firewall or evaluator bug: report it with the table"
say "lab/lab matrix: every expectation probed with real packets, the VPN groups' through their tunnels (and asked of the offline evaluator)"
"$py" lab/lab matrix --prefix "$prefix" --compare-offline

step "bulwarkctl plan" "the kernel differs from the policy right after the daemon applied it: see the plan above"
say "bulwarkctl --socket $sock plan --detailed-exitcode $policy   (through bulwarkd: nothing to do)"
"$ctl" --socket "$sock" plan --detailed-exitcode "$policy"

# before the load: its mid-load change replaces the whole table, which starts every counter at 0
step "bulwarkctl counters" "see the error above"
say "bulwarkctl counters (what the matrix and the VPN probes hit, per policy rule; rules at 0 left out)"
ip netns exec "$prefix-gw" "$ctl" counters "$policy" | awk 'NR == 1 || $1 > 0'

step "lab/lab load" "failed or dropped streams, or the mid-load apply failed: see the result lines above"
say "lab/lab load: $streams concurrent streams at $bitrate kbit/s for ${seconds}s, internet -> VIP (DNAT) -> lb1 -> stream origin; mid-load: bulwarkctl apply --confirm + confirm through bulwarkd"
"$py" lab/lab load --prefix "$prefix" --streams "$streams" --duration "$seconds" --bitrate "$bitrate" --report-every 2

step "lab/lab gateway unconfirmed" "bulwarkd did not roll back an unconfirmed apply: see status and the daemon log /run/bulwark-lab/$prefix/bulwarkd.log"
say "a change applied with --confirm $window and never confirmed: bulwarkd rolls it back by itself"
"$py" lab/lab gateway unconfirmed --prefix "$prefix" --window "$window"

step "bulwarkctl history" "see the error above"
say "bulwarkctl --socket $sock history"
"$ctl" --socket "$sock" history

step "the metrics endpoint" "bulwarkd's /metrics did not answer or is malformed: see the lines above"
say "the metrics endpoint (bulwarkd's Prometheus listener on 127.0.0.1:9469 in $prefix-gw)"
"$py" lab/lab gateway metrics --prefix "$prefix"

step "bulwarkctl tunnels" "charon's VICI socket did not answer: see the VPN step above"
say "bulwarkctl tunnels (the admin tunnels as the gateway's charon has them now)"
"$ctl" tunnels --vici "unix:///var/lib/bulwark-lab/$prefix/gw/run/charon.vici"

if [ "$keep" = 0 ]; then
  step "lab/lab down" "see the error above; lab/lab down --prefix $prefix removes what is left"
  "$py" lab/lab down --prefix "$prefix"
  lab_up=0
fi

step "lab/lab up --ha" "see the lab's error above (keepalived and conntrackd come from tools/packages.txt); it is removed now"
say "lab/lab up --ha: the same deployment with an active/standby gateway pair (keepalived VRRPv3, conntrackd state sync, bulwarkd --ha on each node)"
ha_up=1
"$py" lab/lab up --ha --prefix "$ha_prefix" --ctl "$ctl" --tools "$tools"

ha_seconds=$(( seconds > 16 ? seconds : 16 ))
step "lab/lab load on the pair: gateway failover and lb1's death" \
  "a figure missed its goal (FAIL above: streams lost, VIPs on the standby > 1 s, per-stream gap p99 > 2 s, new connections via lb2 > 3 s, or streams of lb1 not back), or the lab broke: see the load result lines above"
say "lab/lab load on the pair: $streams streams for ${ha_seconds}s; 3 s into the hold the active gateway is killed (cables out, SIGKILL), 4 s later it comes back (a reboot, nopreempt: standby); 10 s in lb1's nginx is killed"
"$py" lab/lab load --prefix "$ha_prefix" --streams "$streams" --duration "$ha_seconds" --bitrate "$bitrate" \
  --report-every 4 --kill-active-at 3 --failback-after 4 --kill-backend-at 10 lb1

step "lab/lab ha status" "a node's bulwarkd does not answer: see /var/lib/bulwark-lab/$ha_prefix-ha/*/bulwarkd.log"
say "lab/lab ha status (the killed node is standby now; lb1 is serving again)"
"$py" lab/lab ha status --prefix "$ha_prefix"

say "not in this demo yet"
echo "- 802.1Q VLAN links: the lab uses one veth per segment, named as the VLAN interface (this kernel"
echo "  has no 8021q; the VLAN module's tests run under QEMU), so bulwarkd runs with --no-links"
echo "- ESP in the kernel: this kernel has no ESP, so the charons use kernel-libipsec (userspace ESP"
echo "  on the TUN ipsec0); the firewall admits a VPN pool both ways (IPsec policy match, or from ipsec0)"
echo "- the admin VPN is configured by bulwarkctl vpn apply --vici, not by bulwarkd's VPN kind"
echo "  (bulwarkd --vici); the console (bulwark-console) is not started: --keep says how to attach it"
echo "- the full load figures (5,000 and 50,000 streams): docs/performance.md, section Lab load; the"
echo "  pair's failover at 5,000 streams, its daemons' CPU and commit time: section The HA pair"
echo
echo "demo: $(( $(date +%s) - t_start ))s after the build"
if [ "$keep" = 1 ]; then
  echo
  echo "--keep: the lab and its bulwarkd are still up (prefix $prefix):"
  "$py" lab/lab gateway attach --prefix "$prefix"
  echo "    remove it all with: lab/lab down --prefix $prefix"
  echo "  and the HA pair (prefix $ha_prefix): lab/lab ha status --prefix $ha_prefix; lab/lab down --prefix $ha_prefix"
fi
