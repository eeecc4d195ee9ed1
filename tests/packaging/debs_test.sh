#!/usr/bin/env bash
# ctest packaging.debs: tools/build-debs.sh (a release build of the whole product, lintian)
# into DEBDIR, then install_test.sh installs those .debs into a fresh Debian 12 root.
# On demand only, BULWARK_DEBS=1: the build alone is ~10 min of two idle cores (93 min once
# under load), beyond the CI budget; without it the test says so and is skipped (77).
#   BULWARK_DEBS=1 ctest --preset dev -L package --output-on-failure
#   debs_test.sh DEBDIR
set -euo pipefail
OUT="${1:?usage: debs_test.sh DEBDIR}"
if [ "${BULWARK_DEBS:-0}" != 1 ]; then
  echo "packaging.debs: skipped (on demand: BULWARK_DEBS=1 ctest --preset dev -L package)"
  exit 77
fi
here="$(cd "$(dirname "$0")" && pwd)"
"$here/../../tools/build-debs.sh" "$OUT"
"$here/install_test.sh" "$OUT"
