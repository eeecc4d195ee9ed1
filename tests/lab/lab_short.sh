#!/usr/bin/env bash
# The shortened demo as a test: lab/lab up (campus.yaml, real services, bulwarkctl apply
# --direct), lab/lab matrix (every expectation probed; any mismatch fails), lab/lab load with
# 1,000 streams for 10 s and a policy change applied in the middle (any failed or dropped stream
# fails), lab/lab down. Everything in namespaces "bwt<pid>-*", removed on exit, also on failure.
#   lab_short.sh BULWARKCTL TOOLS_DIR [SANITIZE]
# Exit 0 pass, 1 a check failed, 2 the lab broke, 77 skipped (not root, no netns, no nginx,
# or a sanitizer build: the lab is a system test, the dev build runs it).
set -uo pipefail
ctl="$1"; tools="$2"; sanitize="${3:-OFF}"
here="$(cd "$(dirname "$0")" && pwd)"
lab="$here/../../lab/lab"
case "$sanitize" in ON|on|1|TRUE|true|YES|yes)
  echo "SKIP: sanitizer build (the lab load is a system test; the dev build runs it)"; exit 77;; esac
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
ip netns list >/dev/null 2>&1 || { echo "SKIP: ip netns does not work here"; exit 77; }
[ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || {
  echo "SKIP: nginx-light + libnginx-mod-stream missing (tools/install-deps.sh)"; exit 77; }

prefix="bwt$$"
py=/usr/bin/python3
cleanup() { "$py" "$lab" down --prefix "$prefix" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 2' INT TERM

"$py" "$lab" up --prefix "$prefix" --ctl "$ctl" --tools "$tools" || exit 2
"$py" "$lab" matrix --prefix "$prefix"; rc=$?
[ $rc -eq 0 ] || { echo "FAIL: matrix (exit $rc)"; exit $rc; }
"$py" "$lab" load --prefix "$prefix" --streams 1000 --duration 10 --bitrate 64 --report-every 5; rc=$?
[ $rc -eq 0 ] || { echo "FAIL: load (exit $rc)"; exit $rc; }
"$py" "$lab" down --prefix "$prefix" || exit 2
left=$(ip netns list | grep -c "^$prefix-" || true)
[ "$left" -eq 0 ] || { echo "FAIL: $left namespaces left after down"; exit 1; }
[ ! -e "/run/bulwark-lab/$prefix" ] || { echo "FAIL: state left after down"; exit 1; }
echo "lab short demo: matrix OK, 1,000 streams, 0 failed, 0 dropped across a mid-load re-apply; clean teardown"
