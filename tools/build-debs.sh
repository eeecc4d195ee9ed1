#!/usr/bin/env bash
# Builds the Debian packages bulwark and bulwark-console from this checkout with debhelper
# (debian/: dh with the cmake buildsystem, compat 13) and checks them with lintian.
#   tools/build-debs.sh [OUTDIR]        default build/debs; JOBS=N (default nproc)
# The sources (tracked and new files, as they are in the work tree; no build/, no .git) are
# copied to OUTDIR/src/bulwark and built there with `dpkg-buildpackage -b`; the .debs, the
# .buildinfo/.changes and lintian.txt end up in OUTDIR. Fails on any lintian error.
# Needs the packages of tools/packages.txt (debhelper, pandoc, lintian, the build deps).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-build/debs}"
JOBS="${JOBS:-$(nproc)}"
step() { printf '=== %s (%s)\n' "$1" "$(date +%T)"; }
fail() { printf 'build-debs: %s\n' "$*" >&2; exit 1; }

for tool in dpkg-buildpackage dh lintian pandoc; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run tools/install-deps.sh (tools/packages.txt)"
done
dpkg-checkbuilddeps debian/control || fail "build dependencies missing: run tools/install-deps.sh"

step "copy the sources to $OUT/src/bulwark"
rm -rf "$OUT/src"
mkdir -p "$OUT/src/bulwark"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$OUT/src/bulwark" -xf -
rm -f "$OUT"/*.deb "$OUT"/*.ddeb "$OUT"/*.buildinfo "$OUT"/*.changes

step "dpkg-buildpackage -b (release build of the packaged binaries)"
# ccache keeps a rebuild of the same tree short; the build's own flags come from dpkg-buildflags.
if command -v ccache >/dev/null; then export CMAKE_CXX_COMPILER_LAUNCHER=ccache; fi
(cd "$OUT/src/bulwark" && DEB_BUILD_OPTIONS="parallel=$JOBS nocheck" dpkg-buildpackage -b -us -uc --no-sign)
mv "$OUT"/src/*.deb "$OUT"/src/*.buildinfo "$OUT"/src/*.changes "$OUT"/
mv "$OUT"/src/*.ddeb "$OUT"/ 2>/dev/null || true

step "lintian"
changes=$(ls "$OUT"/*.changes)
set +e
lintian --fail-on error --display-info --tag-display-limit 0 "$changes" >"$OUT/lintian.txt" 2>&1
rc=$?
set -e
cat "$OUT/lintian.txt"
printf 'lintian: %s error(s), %s warning(s), %s info\n' "$(grep -c '^E:' "$OUT/lintian.txt" || true)" \
  "$(grep -c '^W:' "$OUT/lintian.txt" || true)" "$(grep -c '^I:' "$OUT/lintian.txt" || true)"
[ "$rc" -eq 0 ] || fail "lintian reports errors (above; also in $OUT/lintian.txt)"

step "packages"
for d in "$OUT"/*.deb; do
  printf '%s  %s bytes, installed %s KiB\n' "$(basename "$d")" "$(stat -c %s "$d")" \
    "$(dpkg-deb -f "$d" Installed-Size)"
done
