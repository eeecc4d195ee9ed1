#!/usr/bin/env bash
# The lab (lab/) is product code: it never imports from tests/ nor reads a file there. Fails
# with every file:line under lab/ that names the tests tree (a "tests/" path, a path built from a
# "tests" component, or a test module such as run_matrix). Documentation (*.md) may say which
# tests use the lab; code may not depend on them.
#   lab_imports_no_tests.sh [REPO]
set -euo pipefail
repo="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
[ -d "$repo/lab" ] || { echo "no lab/ under $repo"; exit 2; }
hits=$(grep -rnE --exclude='*.md' --exclude-dir=__pycache__ \
  '(^|[^A-Za-z0-9_])tests/|["'\'']tests["'\'']|run_matrix' "$repo/lab" || true)
if [ -n "$hits" ]; then
  echo "lab/ must not depend on tests/ (move what both need into lab/netns/):"
  echo "$hits" | sed "s|^$repo/||"
  exit 1
fi
n=$(find "$repo/lab" -type f ! -name '*.md' ! -path '*/__pycache__/*' | wc -l)
echo "lab/: $n files, none refers to tests/"
