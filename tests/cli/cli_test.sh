#!/usr/bin/env bash
# bulwarkctl end-to-end: exit codes, file:line:col diagnostics, --json, --werror, fmt
# (check, rewrite, all-or-nothing), show. Each case works in its own temp dir.
#
# usage: cli_test.sh BULWARKCTL EXAMPLES_DIR CASE
set -uo pipefail

BULWARKCTL=${1:?bulwarkctl path}
EXAMPLES=${2:?examples dir}
CASE=${3:?case name}
PY=/usr/bin/python3
CAMPUS="$EXAMPLES/campus.yaml"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bulwarkctl-test.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/.stdout"
ERR="$TMP/.stderr"

failures=0
checks=0
fail() {
  echo "FAIL [$CASE]: $*" >&2
  failures=$((failures + 1))
}

# run ARGS...: runs bulwarkctl; sets rc, out, err.
run() {
  "$BULWARKCTL" "$@" >"$OUT" 2>"$ERR"
  rc=$?
  out=$(cat "$OUT")
  err=$(cat "$ERR")
}
# run_stdin FILE ARGS...: the same with FILE on stdin.
run_stdin() {
  local input=$1
  shift
  "$BULWARKCTL" "$@" <"$input" >"$OUT" 2>"$ERR"
  rc=$?
  out=$(cat "$OUT")
  err=$(cat "$ERR")
}

expect_rc() {  # expect_rc CODE WHAT
  checks=$((checks + 1))
  [[ $rc -eq $1 ]] || fail "$2: exit $rc, expected $1
--- stdout:
$out
--- stderr:
$err"
}
expect_has() {  # expect_has TEXT NEEDLE WHAT  (fixed string)
  checks=$((checks + 1))
  grep -qF -- "$2" <<<"$1" || fail "$3: no '$2' in:
$1"
}
expect_match() {  # expect_match TEXT ERE WHAT  (some line matches)
  checks=$((checks + 1))
  grep -qE -- "$2" <<<"$1" || fail "$3: no line matching /$2/ in:
$1"
}
expect_empty() {  # expect_empty TEXT WHAT
  checks=$((checks + 1))
  [[ -z $1 ]] || fail "$2: expected nothing, got:
$1"
}
expect_same_file() {  # expect_same_file A B WHAT
  checks=$((checks + 1))
  cmp -s -- "$1" "$2" || fail "$3: $1 and $2 differ:
$(diff -- "$1" "$2")"
}
# expect_json TEXT PYTHON-EXPR WHAT [ARG...]: TEXT parses as JSON and EXPR is true; EXPR
# sees the document as d and the ARGs as arg[0], arg[1], ...
expect_json() {
  checks=$((checks + 1))
  local text=$1 expr=$2 what=$3 msg
  shift 3
  if ! msg=$(printf '%s' "$text" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
arg = sys.argv[2:]
if not eval("(" + sys.argv[1] + "\n)"):
    sys.exit("false: " + sys.argv[1])
' "$expr" "$@" 2>&1); then
    fail "$what: $msg
--- json:
$text"
  fi
}
no_fmt_leftovers() {  # no_fmt_leftovers DIR WHAT
  checks=$((checks + 1))
  local left
  left=$(find "$1" -name '*.bulwark-fmt.*')
  [[ -z $left ]] || fail "$2: temp files left behind: $left"
}

# --- policies used by the cases ----------------------------------------------------------

# Valid, but not in canonical form (flow gateway, block host, odd indentation).
write_unformatted() {
  cat >"$1" <<'EOF'
gateway: {trunk: eth1, uplink: eth0}
segments:
  - {name: lan, vlan: 10, ipv4: {subnet: 10.0.0.0/24}}
hosts:
    - name: pc      # the PC
      segment: lan
      addresses: [10.0.0.5]
EOF
}
CANONICAL='gateway:
  uplink: eth0
  trunk: eth1

segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }

hosts:
  - { name: pc, segment: lan, addresses: [10.0.0.5] }  # the PC'

# Two mistakes: an unknown key (line 4, column 5) and the segment it leaves without a VLAN.
write_invalid() {
  cat >"$1" <<'EOF'
gateway: { uplink: eth0, trunk: eth1 }
segments:
  - name: lan
    vlna: 10
    ipv4: { subnet: 10.0.0.0/24 }
EOF
}

# Valid with one warning: the second rule is shadowed by the first.
write_warning() {
  cat >"$1" <<'EOF'
gateway:
  uplink: eth0
  trunk: eth1

segments:
  - name: lan
    vlan: 10
    ipv4: { subnet: 10.0.0.0/24 }

rules:
  - name: out
    from: lan
    to: internet
    services: [any]
    action: allow
  - name: web
    from: lan
    to: internet
    services: [tcp/443]
    action: allow
EOF
}

# A comment fmt cannot keep (after the closing bracket of a multi-line flow list).
write_unformattable() {
  cat >"$1" <<'EOF'
services:
  - name: web
    ports: [
      tcp/80,
      tcp/443
    ]  # the web ports
EOF
}

# --- cases -------------------------------------------------------------------------------

case_validate_ok() {
  run validate "$CAMPUS"
  expect_rc 0 "validate campus.yaml"
  expect_has "$out" "campus.yaml: ok: 5 segments, 10 hosts, 11 services, 8 rules" "validate summary"
  expect_empty "$err" "validate campus.yaml stderr"

  BULWARK_POLICY="$CAMPUS" run validate
  expect_rc 0 "validate with \$BULWARK_POLICY"
  expect_has "$out" ": ok: " "validate with \$BULWARK_POLICY"

  mkdir "$TMP/split"
  printf 'gateway: { uplink: eth0, trunk: eth1 }\n' >"$TMP/split/00-gateway.yaml"
  printf 'segments:\n  - { name: lan, vlan: 10, ipv4: { subnet: 10.0.0.0/24 } }\n' >"$TMP/split/10-lan.yml"
  run validate "$TMP/split"
  expect_rc 0 "validate a directory policy"
  expect_has "$out" "ok: 1 segments" "validate a directory policy"
}

case_validate_invalid() {
  write_invalid "$TMP/bad.yaml"
  run validate "$TMP/bad.yaml"
  expect_rc 1 "validate an invalid policy"
  expect_has "$err" "$TMP/bad.yaml:4:5: error: unknown key 'vlna' in a segment" "unknown key diagnostic"
  expect_has "$err" "  hint: did you mean 'vlan'?" "did-you-mean hint"
  expect_has "$err" "$TMP/bad.yaml:3:11: error: segment 'lan' needs exactly one of 'vlan' or 'interface'" \
    "second diagnostic"
  expect_match "$err" '^[^ ]+:[0-9]+:[0-9]+: error: ' "file:line:col form"
  expect_has "$err" "invalid: 2 error(s), 0 warning(s)" "summary line"
  expect_empty "$out" "validate an invalid policy stdout"

  # Sorted by line: line 3 comes before line 4.
  local first
  first=$(grep -m1 -E ': error: ' <<<"$err")
  checks=$((checks + 1))
  [[ $first == "$TMP/bad.yaml:3:11:"* ]] || fail "diagnostics not in line order: $first"

  run validate "$TMP/does-not-exist.yaml"
  expect_rc 2 "validate of a missing path (an I/O error)"
  expect_has "$err" "$TMP/does-not-exist.yaml: error: no such file or directory" "missing path"
  run show "$TMP/does-not-exist.yaml"
  expect_rc 2 "show of a missing path"
}

case_usage_errors() {
  run validate --bogus "$CAMPUS"
  expect_rc 2 "unknown option"
  expect_has "$err" "--bogus" "unknown option is named"
  run frobnicate
  expect_rc 2 "unknown subcommand"
  run
  expect_rc 2 "no subcommand"
  run fmt --check --nope "$CAMPUS"
  expect_rc 2 "unknown fmt option"
  run show "$CAMPUS" extra-argument
  expect_rc 2 "extra argument"
  run fmt "$TMP/nothing-here"
  expect_rc 2 "fmt of a missing path"
  run --help
  expect_rc 0 "--help"
  expect_has "$out" "validate" "--help lists the subcommands"
}

case_json() {
  run --json validate "$CAMPUS"
  expect_rc 0 "--json validate campus.yaml"
  expect_json "$out" 'd["ok"] is True and d["diagnostics"] == [] and d["errors"] == 0' "--json ok"
  expect_json "$out" 'd["counts"]["segments"] == 5 and d["counts"]["vpn_groups"] == 2' "--json counts"

  write_invalid "$TMP/bad.yaml"
  run --json validate "$TMP/bad.yaml"
  expect_rc 1 "--json validate of an invalid policy"
  expect_json "$out" 'd["ok"] is False and d["errors"] == 2 and len(d["diagnostics"]) == 2' "--json not ok"
  expect_json "$out" '{"severity": "error", "file": arg[0], "line": 4, "col": 5,
    "message": "unknown key '"'"'vlna'"'"' in a segment", "hint": "did you mean '"'"'vlan'"'"'?"}
    in d["diagnostics"]' "--json diagnostic fields" "$TMP/bad.yaml"
  expect_json "$out" 'all(set(x) >= {"severity", "file", "line", "col", "message"} for x in d["diagnostics"])' \
    "--json diagnostics have file, line, col"
}

case_werror() {
  write_warning "$TMP/warn.yaml"
  run validate "$TMP/warn.yaml"
  expect_rc 0 "a warning alone passes"
  expect_has "$err" "$TMP/warn.yaml:16:5: warning: rule 'web' is shadowed by rule 'out'" "the warning"
  expect_has "$out" "1 warning(s)" "warning count"

  run validate --werror "$TMP/warn.yaml"
  expect_rc 1 "--werror turns the warning into a failure"
  expect_has "$err" "(warnings are errors: --werror)" "--werror is named"

  run --json validate --werror "$TMP/warn.yaml"
  expect_rc 1 "--json --werror"
  expect_json "$out" 'd["ok"] is False and d["errors"] == 0 and d["warnings"] == 1' "--json --werror"

  run show --werror "$TMP/warn.yaml"
  expect_rc 1 "show --werror"
}

case_fmt_check() {
  run fmt --check "$CAMPUS"
  expect_rc 0 "fmt --check campus.yaml"
  expect_empty "$err" "fmt --check campus.yaml stderr"

  write_unformatted "$TMP/p.yaml"
  cp "$TMP/p.yaml" "$TMP/p.orig"
  run fmt --check "$TMP/p.yaml"
  expect_rc 1 "fmt --check on an unformatted copy"
  expect_has "$err" "$TMP/p.yaml: not in canonical form" "fmt --check names the file"
  expect_same_file "$TMP/p.yaml" "$TMP/p.orig" "fmt --check changes nothing"

  run --json fmt --check "$TMP/p.yaml"
  expect_rc 1 "--json fmt --check"
  expect_json "$out" 'd == {"ok": False, "unformatted": [arg[0]]}' "--json fmt --check lists the file" "$TMP/p.yaml"
}

case_fmt_rewrite() {
  write_unformatted "$TMP/p.yaml"
  run fmt "$TMP/p.yaml"
  expect_rc 0 "fmt rewrites"
  expect_has "$out" "formatted $TMP/p.yaml" "fmt reports the file"
  checks=$((checks + 1))
  [[ $(cat "$TMP/p.yaml") == "$CANONICAL" ]] || fail "fmt output:
$(cat "$TMP/p.yaml")"
  run fmt --check "$TMP/p.yaml"
  expect_rc 0 "fmt --check after fmt"
  run validate "$TMP/p.yaml"
  expect_rc 0 "the formatted policy still validates"
  run fmt "$TMP/p.yaml"
  expect_rc 0 "fmt of a formatted file"
  expect_empty "$out" "fmt of a formatted file rewrites nothing"
  no_fmt_leftovers "$TMP" "fmt"

  # A directory: every file is rewritten.
  mkdir "$TMP/dir"
  cp "$CAMPUS" "$TMP/dir/00-campus.yaml"
  printf 'expect:\n  - {verdict: deny, service: ssh, to: bastion, from: internet}\n' >"$TMP/dir/10-more.yaml"
  run fmt "$TMP/dir"
  expect_rc 0 "fmt on a directory"
  expect_has "$out" "formatted $TMP/dir/10-more.yaml" "fmt on a directory"
  expect_same_file "$TMP/dir/00-campus.yaml" "$CAMPUS" "an already formatted file is untouched"
  checks=$((checks + 1))
  [[ $(cat "$TMP/dir/10-more.yaml") == $'expect:\n  - { from: internet, to: bastion, service: ssh, verdict: deny }' ]] ||
    fail "fmt on a directory: $(cat "$TMP/dir/10-more.yaml")"
  run fmt --check "$TMP/dir"
  expect_rc 0 "fmt --check on the formatted directory"
  no_fmt_leftovers "$TMP" "fmt on a directory"
}

case_fmt_all_or_nothing() {
  mkdir "$TMP/dir"
  write_unformatted "$TMP/dir/a.yaml"
  write_unformattable "$TMP/dir/b.yaml"
  cp "$TMP/dir/a.yaml" "$TMP/a.orig"
  cp "$TMP/dir/b.yaml" "$TMP/b.orig"
  run fmt "$TMP/dir"
  expect_rc 1 "fmt with one unformattable file"
  expect_has "$err" "$TMP/dir/b.yaml:6:8: error: fmt cannot keep this comment in place; nothing was rewritten" \
    "the comment is located"
  expect_same_file "$TMP/dir/a.yaml" "$TMP/a.orig" "the formattable file is not rewritten"
  expect_same_file "$TMP/dir/b.yaml" "$TMP/b.orig" "the unformattable file is not rewritten"
  checks=$((checks + 1))
  grep -q '^formatted' <<<"$out" && fail "fmt claims to have formatted something: $out"
  no_fmt_leftovers "$TMP" "fmt all-or-nothing"

  run --json fmt "$TMP/dir"
  expect_rc 1 "--json fmt with one unformattable file"
  expect_json "$out" 'd["ok"] is False and len(d["diagnostics"]) == 1 and d["diagnostics"][0]["line"] == 6' \
    "--json fmt diagnostics"
  expect_same_file "$TMP/dir/a.yaml" "$TMP/a.orig" "--json: the formattable file is not rewritten"

  printf 'gateway: { uplink: eth0\n' >"$TMP/dir/b.yaml"
  run fmt "$TMP/dir"
  expect_rc 1 "fmt with a syntax error in one file"
  expect_match "$err" "^$TMP/dir/b.yaml:[0-9]+:[0-9]+: error: YAML syntax: " "syntax error located"
  expect_same_file "$TMP/dir/a.yaml" "$TMP/a.orig" "syntax error: the other file is not rewritten"
}

case_fmt_stdin() {
  write_unformatted "$TMP/p.yaml"
  run_stdin "$TMP/p.yaml" fmt -
  expect_rc 0 "fmt -"
  checks=$((checks + 1))
  [[ $out == "$CANONICAL" ]] || fail "fmt - output:
$out"
  run_stdin "$TMP/p.yaml" fmt --check -
  expect_rc 1 "fmt --check - on unformatted input"
  run_stdin "$CAMPUS" fmt --check -
  expect_rc 0 "fmt --check - on campus.yaml"
  write_unformattable "$TMP/u.yaml"
  run_stdin "$TMP/u.yaml" fmt -
  expect_rc 1 "fmt - on unformattable input"
  expect_has "$err" "<stdin>:6:8: error: fmt cannot keep this comment in place" "fmt - diagnostic"
  expect_empty "$out" "fmt - prints nothing when it refuses"
}

case_show() {
  run show "$CAMPUS"
  expect_rc 0 "show campus.yaml"
  expect_match "$out" '^Segments$' "segments title"
  expect_match "$out" '^NAME +ZONE +LINK +IPV4 +GATEWAY4 +IPV6 +GATEWAY6 +MTU +HOSTS$' "segments header"
  expect_match "$out" '^public +dmz +vlan 10 +203\.0\.113\.0/27 +203\.0\.113\.1 +2001:db8:10::/64 +2001:db8:10::1 +1500 +lb1,lb2$' \
    "public segment row"
  expect_match "$out" '^storage +storage +vlan 40 +10\.40\.0\.0/24 +10\.40\.0\.1 +- +- +9000 +nas1$' "storage row"
  expect_match "$out" '^netops +netops +vpn pool +10\.250\.0\.0/25 ' "VPN pool row"
  expect_match "$out" '^Zone matrix ' "matrix title"
  expect_match "$out" '^FROM \\ TO +dmz +app +db +storage +mgmt +netops +dba +internet$' "matrix header"
  expect_match "$out" '^internet +http\*,https\*,rtmp\* +- +- +- +- +- +- +-$' "internet row"
  expect_match "$out" '^mgmt +ssh,agents +ssh,agents +ssh,agents +ssh,agents +- +- +- +http,https,dns,ntp$' "mgmt row"
  expect_match "$out" '^netops +ssh +ssh +ssh +ssh +any +- +- +-$' "netops row"
  expect_empty "$err" "show stderr"

  write_invalid "$TMP/bad.yaml"
  run show "$TMP/bad.yaml"
  expect_rc 1 "show of an invalid policy"
  expect_has "$err" "$TMP/bad.yaml:4:5: error: unknown key 'vlna'" "show prints the diagnostics"
  expect_has "$err" "invalid policy; fix it before \`show\`" "show refuses"
  expect_empty "$out" "show of an invalid policy prints no table"
}

case_show_json() {
  run --json show "$CAMPUS"
  expect_rc 0 "--json show"
  expect_json "$out" 'len(d["segments"]) == 5 and d["diagnostics"] == []' "--json show segments"
  expect_json "$out" 'd["zones"] == ["dmz", "app", "db", "storage", "mgmt", "netops", "dba", "internet"]' \
    "--json show zones"
  expect_json "$out" '{"name": "storage", "zone": "storage", "mtu": 9000, "vlan": 40,
    "ipv4": {"subnet": "10.40.0.0/24", "gateway": "10.40.0.1"}, "hosts": ["nas1"]} in d["segments"]' \
    "--json show storage segment"
  expect_json "$out" 'any(c["from"] == "internet" and c["to"] == "dmz" and c["service"] == "https"
    and c["action"] == "allow" and c["partial"] for c in d["matrix"])' "--json show internet->dmz https"
  expect_json "$out" 'not any(c["from"] == "internet" and c["to"] == "db" for c in d["matrix"])' \
    "--json show nothing internet->db"
}

# --- invariants ---------------------------------------------------------------------------

# campus.yaml with two invariants (before its expect section, without campus's own), and a
# copy where a new rule and a new DNAT entry break one.
write_invariant_policies() {
  "$PY" - "$CAMPUS" "$TMP/holds.yaml" "$TMP/broken.yaml" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"(?ms)^invariants:\n.*?\n\n(?=# Policy tests:)", "", text)
inv = """invariants:
  - name: no-internet-to-data
    never: { from: internet, to: [db, storage] }
  - only: { to: mgmt, from: [mgmt, netops] }

"""
at = text.index("# Policy tests:")
holds = text[:at] + inv + text[at:]
open(sys.argv[2], "w").write(holds)
rule = """  - name: vip-to-db
    from: internet
    to: mysql1
    services: [mysql]
    action: allow
"""
broken = holds.replace("  - name: lb-to-web\n", rule + "  - name: lb-to-web\n", 1)
broken = broken.replace("  snat:\n",
                        "    - { name: vip-db, vip: 203.0.113.10, service: mysql, to: [mysql1] }\n  snat:\n", 1)
open(sys.argv[3], "w").write(broken)
PYEOF
}

case_invariants_validate() {
  write_invariant_policies
  run validate "$TMP/holds.yaml"
  expect_rc 0 "validate: invariants hold"
  expect_has "$out" "2 invariants (all hold)" "validate: ok line counts invariants"
  run validate "$TMP/broken.yaml"
  expect_rc 1 "validate: a rule breaks an invariant"
  local line rule_line
  line=$(grep -n "name: no-internet-to-data" "$TMP/broken.yaml" | cut -d: -f1)
  rule_line=$(grep -n "name: vip-to-db" "$TMP/broken.yaml" | cut -d: -f1)
  expect_match "$err" "^$TMP/broken.yaml:$line:5: error: invariant 'no-internet-to-data' .* is broken: vip-to-db at $TMP/broken.yaml:$rule_line allows internet → " \
    "validate: error at the invariant, naming the rule at file:line"
  # The DNAT path: the VIP redirected into db counts as reaching db.
  expect_has "$err" "→ 203.0.113.10 tcp/3306 (DNAT to 10.30.0.11)" \
    "validate: the DNAT flow into db is an example"
  run --json validate "$TMP/broken.yaml"
  expect_rc 1 "--json validate broken"
  expect_json "$out" 'd["ok"] is False and d["counts"]["invariants"] == 2 and
    any("no-internet-to-data" in x["message"] and x["severity"] == "error" for x in d["diagnostics"])' \
    "--json validate: the breach is a diagnostic"
  # Unknown names: file:line:col of the name, like any reference.
  sed 's/to: \[db, storage\] }/to: [db, storag] }/' "$TMP/holds.yaml" >"$TMP/unknown.yaml"
  run validate "$TMP/unknown.yaml"
  expect_rc 1 "validate: unknown name in an invariant"
  line=$(grep -n "storag\]" "$TMP/unknown.yaml" | cut -d: -f1)
  expect_match "$err" "unknown.yaml:$line:[0-9]+: error: unknown zone, segment, host or VPN group 'storag'" \
    "validate: unknown name at file:line:col"
  expect_has "$err" "did you mean 'storage'?" "validate: unknown name hint"
  # plan refuses a policy that breaks an invariant before it looks at the kernel.
  run plan "$TMP/broken.yaml"
  expect_rc 1 "plan: a broken invariant is an invalid policy"
  expect_has "$err" "is broken: vip-to-db" "plan: names the breach"
}

case_invariants_test() {
  write_invariant_policies
  run test "$TMP/holds.yaml"
  expect_rc 0 "test: invariants hold"
  expect_has "$out" "2/2 invariants hold" "test: summary"
  run test "$TMP/broken.yaml"
  expect_rc 1 "test: broken invariant"
  expect_has "$out" "1/2 invariants hold" "test: summary of a broken one"
  expect_has "$err" "invariant 'no-internet-to-data'" "test: names the invariant"
  run --json test "$TMP/broken.yaml"
  expect_rc 1 "--json test broken"
  expect_json "$out" 'd["ok"] is False and [i["holds"] for i in d["invariants"]] == [False, True] and
    {b["rule"] for b in d["invariants"][0]["breaches"]} == {"vip-to-db"}' "--json test: breaches by rule"
}

case_invariants_diff() {
  write_invariant_policies
  run diff "$TMP/holds.yaml" "$TMP/broken.yaml"
  expect_rc 2 "diff: a change"
  expect_has "$out" "newly broken: no-internet-to-data (never {from: internet, to: [db, storage]})" \
    "diff: the invariant newly broken"
  expect_has "$out" "vip-to-db at $TMP/broken.yaml:" "diff: the breaking rule"
  run diff "$TMP/broken.yaml" "$TMP/holds.yaml"
  expect_rc 2 "diff: the way back"
  expect_has "$out" "no longer broken: no-internet-to-data" "diff: no longer broken"
  run diff --markdown "$TMP/holds.yaml" "$TMP/broken.yaml"
  expect_rc 2 "diff --markdown"
  expect_has "$out" "#### Invariants" "diff --markdown: section"
  expect_has "$out" '- :x: **newly broken**: `no-internet-to-data' "diff --markdown: newly broken"
  run diff --json "$TMP/holds.yaml" "$TMP/broken.yaml"
  expect_rc 2 "diff --json"
  expect_json "$out" '[(i["kind"], i["name"], i["holds_before"], i["holds_after"]) for i in d["invariants"]]
    == [("newly broken", "no-internet-to-data", True, False)]' "diff --json: invariants"
  # Added and removed: matched by name, or by statement.
  sed 's/  - only: { to: mgmt, from: \[mgmt, netops\] }/  - never: { from: dba, to: mgmt }/' \
    "$TMP/holds.yaml" >"$TMP/swapped.yaml"
  run diff --json "$TMP/holds.yaml" "$TMP/swapped.yaml"
  expect_rc 2 "diff: invariants swapped"
  expect_json "$out" 'sorted((i["kind"], i["statement"]) for i in d["invariants"]) ==
    [("added", "never {from: dba, to: mgmt}"), ("removed", "only {to: mgmt, from: [mgmt, netops]}")]' \
    "diff --json: added and removed"
  run diff "$TMP/holds.yaml" "$TMP/holds.yaml"
  expect_rc 0 "diff: no change"
}

case_invariants_fmt() {
  printf '%s\n' 'invariants:' \
    '  - {never: {services: ssh, to: [db, storage], from: internet}, name: a}' \
    '  - only: {from: [mgmt], to: mgmt}' \
    '    description: operators only' \
    'gateway: {uplink: eth0}' >"$TMP/p.yaml"
  run fmt "$TMP/p.yaml"
  expect_rc 0 "fmt invariants"
  cp "$TMP/p.yaml" "$TMP/once.yaml"
  run fmt --check "$TMP/p.yaml"
  expect_rc 0 "fmt is idempotent on invariants"
  expect_same_file "$TMP/p.yaml" "$TMP/once.yaml" "fmt: second run changes nothing"
  expect_has "$(cat "$TMP/p.yaml")" "  - name: a
    never: { from: internet, to: [db, storage], services: ssh }" "fmt: keys in canonical order"
  expect_has "$(cat "$TMP/p.yaml")" "  - description: operators only
    only: { to: mgmt, from: [mgmt] }" "fmt: only's keys to first"
}

fn="case_$CASE"
if ! declare -F "$fn" >/dev/null; then
  echo "unknown case '$CASE'" >&2
  exit 2
fi
"$fn"
if [[ $checks -eq 0 ]]; then
  echo "FAIL [$CASE]: no checks ran" >&2
  exit 1
fi
if [[ $failures -gt 0 ]]; then
  echo "$CASE: $failures of $checks checks failed" >&2
  exit 1
fi
echo "$CASE: $checks checks passed"
