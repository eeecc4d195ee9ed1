# Sourced by lab/demo.sh and tests/run-all.sh (the README's two commands): named steps, one
# line on failure that names the step and what to do, the build-dir check, a run lock.
#   . tools/lib/steps.sh; steps_init demo
#   step "build" "what to do when it fails"; ...
#   die "problem; fix"                  one line on stderr, exit 2 (bad input: nothing started)
# Needs bash with `set -Eeuo pipefail` in the caller (-E: the ERR trap also fires in functions).

STEPS_NAME="script"
STEP=""
STEP_HINT=""

steps_init() {
  STEPS_NAME="$1"
  trap 'steps_failed $? "$LINENO"' ERR
}

# step NAME [HINT]: what runs from now on, and what to do if it fails.
step() {
  STEP="$1"
  STEP_HINT="${2:-}"
}

steps_failed() {
  # once, from the script itself (not again from each subshell the failure passed through)
  [ "${BASH_SUBSHELL:-0}" -eq 0 ] || return 0
  trap - ERR
  echo "$STEPS_NAME: FAILED at step '${STEP:-start}' (exit $1, line $2)${STEP_HINT:+: $STEP_HINT}" >&2
}

die() {
  trap - ERR
  echo "$STEPS_NAME: $*" >&2
  exit 2
}

# A build dir counts as configured only when the generator's files exist: a configure that
# failed half-way leaves a CMakeCache.txt and no Makefile, and building that fails with
# "gmake: Makefile: No such file or directory".
build_dir_configured() {
  [ -f "$1/CMakeCache.txt" ] && { [ -f "$1/Makefile" ] || [ -f "$1/build.ninja" ]; }
}

# configure_build DIR PRESET [cmake args...]: configure DIR with PRESET unless it is configured
# already (whatever preset it was made with: DEMO_BUILD_DIR may name a dev build).
configure_build() {
  local dir="$1" preset="$2"
  shift 2
  if build_dir_configured "$dir"; then
    return 0
  fi
  if [ -f "$dir/CMakeCache.txt" ]; then
    echo "$STEPS_NAME: $dir has a CMakeCache.txt but no Makefile (an earlier configure stopped half-way): configuring it again"
  fi
  cmake --preset "$preset" -B "$dir" "$@" >/dev/null
}

# take_lock FILE WHAT: one run at a time; a second gets one line naming the first and exits.
# The lock is the open fd 9 (flock): it goes with the process, also when it is killed.
take_lock() {
  local file="$1" what="$2" holder
  exec 9<>"$file" || die "cannot open the lock $file; run as root or set DEMO_LOCK to a writable path"
  if ! flock -n 9; then
    holder=$(head -c 64 "$file" 2>/dev/null | tr -dc '0-9')
    die "another $what is running (pid ${holder:-?}, lock $file): wait for it to end, or stop it (kill ${holder:-PID}; it removes its lab on exit)"
  fi
  echo "$$" > "$file"
}
