#!/usr/bin/env bash
# Bulwark's main job, from a fresh Debian 12 machine: install, build, then check and show
# the reference deployment's policy. (The namespace lab that applies it to a kernel and
# probes every flow comes with the firewall and lab issues; this script grows with them.)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target bulwarkctl
ctl=build/release/gateway/bulwarkctl
policy=policies/examples/campus.yaml

echo "== bulwarkctl validate $policy"
"$ctl" validate --werror "$policy"
echo
echo "== bulwarkctl fmt --check $policy"
"$ctl" fmt --check "$policy" && echo "canonical"
echo
echo "== bulwarkctl show $policy"
"$ctl" show "$policy"
echo
echo "Not yet in this demo: programming the kernel (firewall issue), VLANs, the admin VPN,"
echo "the daemon and the namespace lab with real probes."
