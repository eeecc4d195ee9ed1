#!/usr/bin/env bash
# lab/demo.sh and tests/run-all.sh on bad input, the cheap cases (no second build, no lab): each
# must end with ONE clear line on stderr naming the problem and the fix, exit non-zero (the
# non-root run: exit 0 and say what it skipped), and leave nothing behind (no namespace of its
# prefix, no bulwarkd or charon, the lock free).
#   demo_bad_input.sh BUILD_DIR [SANITIZE]   (an already built dir: the demo's no-op build step
#                                             uses it; SANITIZE=ON: skipped, the dev build runs it)
# 1. a knob that is not a number, an unknown argument: one line, exit 2, before anything runs;
# 2. a second demo while one runs (the lock is held): one line naming the holder, exit 2;
# 3. a missing package that apt cannot install (apt-get and dpkg-query shimmed on PATH: a test
#    cannot make the real apt fail or uninstall a package): install-deps' line, then the demo's
#    one line naming the step; nothing configured;
# 4. a half-configured build dir (CMakeCache.txt, no Makefile: what a failed configure leaves):
#    the shared helper of demo.sh and run-all.sh re-configures it (one real cmake configure);
# 5. the demo as a user without root: the offline part runs, one line says what was skipped,
#    exit 0.
# Exit 0 pass, 1 a case failed, 77 skipped (not root: cases 2-5 need to switch users or hold
# /run locks).
set -uo pipefail
build="$(cd "${1:?usage: demo_bad_input.sh BUILD_DIR}" && pwd)"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
demo="$repo/lab/demo.sh"
case "${2:-OFF}" in ON|on|1|TRUE|true|YES|yes)
  echo "SKIP: sanitizer build (this tests the demo's shell scripts; the dev build runs it)"; exit 77;; esac
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (switches to an unprivileged user)"; exit 77; }
[ -x "$build/gateway/bulwarkctl" ] || { echo "FAIL: $build is not built (no gateway/bulwarkctl)"; exit 1; }

tmp="$(mktemp -d /tmp/bulwark-demo-bad.XXXXXX)"
holder=""
stop_holder() {
  [ -n "$holder" ] || return 0
  pkill -P "$holder" sleep 2>/dev/null
  kill "$holder" 2>/dev/null
  wait "$holder" 2>/dev/null
  holder=""
}
cleanup() {
  stop_holder
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run NAME [env...] -- ARGS: lab/demo.sh with a private lock; stdout/stderr/rc kept in $tmp/NAME.*
run() {
  local name="$1"; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  env DEMO_LOCK="$tmp/lock" DEMO_BUILD_DIR="$build" "${envs[@]}" timeout 240 "$demo" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  echo $? >"$tmp/$name.rc"
}
rc() { cat "$tmp/$1.rc"; }
# the one line: exactly one non-empty stderr line that says $2 (extended regex)
one_line() {
  local name="$1" want="$2" n
  n=$(grep -c . "$tmp/$name.err")
  [ "$n" -eq 1 ] || { fail "$name: $n stderr lines, want 1:"; sed 's/^/    /' "$tmp/$name.err"; return; }
  grep -Eq "$want" "$tmp/$name.err" || fail "$name: stderr does not say /$want/: $(cat "$tmp/$name.err")"
  echo "ok   $name: $(cat "$tmp/$name.err")"
}
nothing_left() {
  local name="$1"
  # a demo's namespaces are bwd<its pid>-<name> (lab/demo.sh: prefix bwd$$); other work on the
  # machine may name its own bwd... (a benchmark's bwdmem<pid>d0): not a demo's, not counted
  if ip netns list 2>/dev/null | grep -Eq '^bwd[0-9]+-'; then
    # only namespaces of a demo started by this test would count; their pids are gone
    for n in $(ip netns list | awk '/^bwd[0-9]+-/ {print $1}'); do
      pid="${n#bwd}"; pid="${pid%%-*}"
      [ -d "/proc/$pid" ] || fail "$name: namespace $n left behind"
    done
  fi
  flock -n "$tmp/lock" true 2>/dev/null || [ ! -e "$tmp/lock" ] || fail "$name: the lock is still held"
}

# 1. bad knobs and arguments
run knob DEMO_STREAMS=abc -- ; [ "$(rc knob)" -eq 2 ] || fail "knob: exit $(rc knob), want 2"
one_line knob "DEMO_STREAMS=abc is not a whole number.*fix or unset"
run window DEMO_ROLLBACK_SECONDS=0 -- ; [ "$(rc window)" -eq 2 ] || fail "window: exit $(rc window), want 2"
one_line window "DEMO_ROLLBACK_SECONDS=0"
run arg -- --bogus; [ "$(rc arg)" -eq 2 ] || fail "arg: exit $(rc arg), want 2"
one_line arg "unknown argument '--bogus'"
[ ! -s "$tmp/knob.out" ] || fail "knob: printed on stdout (ran something?)"
nothing_left knob

# 2. a second demo while one runs: the lock is held by "the first" (a process holding it)
# (-o: the lock stays with flock itself, not with sleep: ending flock frees it)
flock -o "$tmp/lock" sleep 60 &
holder=$!
for _ in $(seq 50); do flock -n "$tmp/lock" true 2>/dev/null || break; sleep 0.1; done
echo 4242 >"$tmp/lock"
run second -- ; [ "$(rc second)" -eq 2 ] || fail "second: exit $(rc second), want 2"
one_line second "another lab/demo.sh is running \(pid 4242, lock .*wait for it"
stop_holder
nothing_left second

# 3. a package apt cannot install
shim="$tmp/shim"; mkdir -p "$shim"
cat >"$shim/dpkg-query" <<'EOF'
#!/bin/sh
# every package installed, except nginx-light (as on a machine that lacks it)
for a; do last="$a"; done
[ "$last" = nginx-light ] && exit 1
printf 'install ok installed'
EOF
cat >"$shim/apt-get" <<'EOF'
#!/bin/sh
[ "$1" = update ] && exit 0
echo "E: Unable to locate package nginx-light" >&2
exit 100
EOF
chmod +x "$shim/dpkg-query" "$shim/apt-get"
run missing PATH="$shim:$PATH" DEMO_BUILD_DIR="$tmp/never-configured" -- ; [ "$(rc missing)" -ne 0 ] || fail "missing: exit 0"
last=$(tail -n 1 "$tmp/missing.err")
if echo "$last" | grep -Eq "^demo: FAILED at step 'install the Debian packages \(tools/install-deps.sh\)'.*: apt could not install .*fix the apt sources"; then
  echo "ok   missing: $last"
else
  fail "missing: the last line does not name the step and the fix: $last"
fi
grep -q "install-deps: apt-get install failed for nginx-light" "$tmp/missing.err" || fail "missing: install-deps did not name the package"
[ ! -e "$tmp/never-configured" ] || fail "missing: the demo went on to configure"
nothing_left missing

# 4. a half-configured build dir: the helper both scripts use re-configures it
grep -q 'configure_build "$build" release' "$demo" || fail "half: lab/demo.sh does not use configure_build"
grep -q 'build_dir_configured' "$repo/tests/run-all.sh" || fail "half: tests/run-all.sh does not check the build dir"
half="$tmp/half"; mkdir -p "$half"
echo "# left by a configure that failed" >"$half/CMakeCache.txt"
out=$(cd "$repo" && bash -c '. tools/lib/steps.sh; STEPS_NAME=demo; build_dir_configured "$1" && echo configured-already; configure_build "$1" dev' _ "$half" 2>&1)
echo "$out" | grep -q "configured-already" && fail "half: a CMakeCache.txt without a Makefile counted as configured"
echo "$out" | grep -q "has a CMakeCache.txt but no Makefile .*configuring it again" || fail "half: no message: $out"
[ -f "$half/Makefile" ] || fail "half: not configured again (no Makefile): $out"
echo "ok   half: $(echo "$out" | head -1)"

# 5. not root: the offline part, then one line saying what was skipped
# The build dir is root's: bring it up to date as root first (a configure since the last build
# leaves make's depend step to write, which the user may not), so the user's build is a no-op.
(cd "$repo" && cmake --build "$build" --target bulwarkctl bulwarkd bulwark-stream-source \
  bulwark-stream-clients >/dev/null) || fail "nonroot: the build as root failed"
# (a lock dir the user may write: the default for a user is $XDG_RUNTIME_DIR or /tmp)
chmod 711 "$tmp"; mkdir -m 1777 "$tmp/nr"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent DEMO_LOCK="$tmp/nr/lock" DEMO_BUILD_DIR="$build" \
  timeout 240 "$demo" >"$tmp/nonroot.out" 2>"$tmp/nonroot.err" </dev/null
r=$?
[ "$r" -eq 0 ] || { fail "nonroot: exit $r, want 0"; tail -5 "$tmp/nonroot.err"; }
grep -q "bulwarkctl why internet 203.0.113.10 tcp/443" "$tmp/nonroot.out" || fail "nonroot: the offline part did not run"
last=$(tail -n 1 "$tmp/nonroot.out")
if echo "$last" | grep -Eq "^demo: skipped, needs root .*the lab .*run sudo lab/demo.sh"; then
  echo "ok   nonroot: $last"
else
  fail "nonroot: last line: $last"
fi
nothing_left nonroot

if [ "$fails" -ne 0 ]; then echo "demo bad input: $fails check(s) failed"; exit 1; fi
echo "demo bad input: every case ended with one clear line and left nothing behind"
