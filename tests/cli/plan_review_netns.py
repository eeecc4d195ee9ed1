#!/usr/bin/python3
"""`bulwarkctl plan --direct` in policy terms first, in a network namespace of its own.

    plan_review_netns.py BULWARKCTL EXAMPLES_DIR

A throwaway Git repository holds campus.yaml; HEAD is applied (--direct --only firewall) in a
fresh namespace. Then:

1. in sync: the plan says HEAD is what the kernel holds and nothing changes; exit 0 with
   --detailed-exitcode;
2. the working copy adds ssh to web-to-db: the text leads with the change in policy terms
   (the rule, file:line) and its effect ("newly allowed ... web1, web2 → mysql1, mysql2 ssh
   (tcp/22)"), then "In the kernel:" and the nft commands; exit 2; --nft prints exactly the
   kernel plan (no review; what scripts parse); --json carries both (review.known, its effect,
   the nft commands); --nft --json has no review;
3. the change committed but not applied: HEAD is no longer what the kernel holds, and no
   record is trusted -- the plan says the applied policy is unknown (and why) and shows the
   kernel plan only; the exit code is the kernel plan's;
4. outside a Git repository, with the kernel holding this very policy: the review compares it
   with itself (no change); with another policy: unknown.
Exit 77 (skipped) without root or `ip netns`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from policy_repo import campus_repo, git, sub  # noqa: E402

BULWARKCTL, EXAMPLES = sys.argv[1], Path(sys.argv[2])
NS = f"bwplanrv{os.getpid()}"
failures = []


def check(cond, what, detail=""):
    if not cond:
        failures.append(what)
        print("FAIL:", what, detail, file=sys.stderr)


def ctl(*args, cwd=None):
    p = subprocess.run(["ip", "netns", "exec", NS, BULWARKCTL, *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, timeout=120)
    return p.returncode, p.stdout, p.stderr


if os.geteuid() != 0 or shutil.which("ip") is None:
    print("skipped: needs root and ip netns")
    sys.exit(77)
if subprocess.run(["ip", "netns", "add", NS], capture_output=True).returncode != 0:
    print("skipped: cannot create a network namespace")
    sys.exit(77)

tmp = Path(tempfile.mkdtemp(prefix="bulwark-plan-review."))
try:
    repo, policy, campus = campus_repo(tmp, EXAMPLES)
    rc, out, err = ctl("apply", "--direct", "--only", "firewall", policy)
    check(rc == 0, "apply of HEAD", err)

    # 1. In sync.
    rc, out, err = ctl("plan", "--direct", "--only", "firewall", "--detailed-exitcode", policy)
    check(rc == 0, f"in sync: exit 0, got {rc}", err)
    check(out.startswith("Policy change HEAD (what the kernel holds) → working tree"), "in sync: leads with HEAD", out)
    check("No change" in out and "firewall: in sync" in out, "in sync: no change, kernel in sync", out)

    # 2. A change in the working copy.
    changed = sub(campus, "    to: [mysql1, mysql2]\n    services: [mysql]", "    to: [mysql1, mysql2]\n    services: [mysql, ssh]")
    policy.write_text(changed)
    rule_line = changed.splitlines().index("  - name: web-to-db") + 1
    rc, out, err = ctl("plan", "--direct", "--only", "firewall", "--detailed-exitcode", policy)
    check(rc == 2, f"changed: exit 2, got {rc}", err)
    review_at = out.find("In policy terms")
    effect_at = out.find("Effect:")
    kernel_at = out.find("In the kernel:")
    nft_at = out.find("add element inet bulwark web-to-db_svc { tcp . 22 }")
    check(0 < review_at < effect_at < kernel_at < nft_at, "policy terms, effect, then the kernel's nft commands", out)
    check(f"changed rule web-to-db at {policy}:{rule_line}" in out, "the rule with file:line", out)
    check(f"newly allowed by web-to-db at {policy}:{rule_line}" in out, "the effect names the rule", out)
    check("web1, web2 → mysql1, mysql2 ssh (tcp/22)" in out, "the flows newly allowed", out)

    rc, nft, err = ctl("plan", "--direct", "--only", "firewall", "--detailed-exitcode", "--nft", policy)
    check(rc == 2, f"--nft: exit 2, got {rc}", err)
    check(nft.startswith("firewall: ") and "Policy change" not in nft and "In the kernel" not in nft,
          "--nft: the kernel plan only", nft)
    check(out[kernel_at + len("In the kernel:\n"):].split("connections:")[0] == nft.split("connections:")[0],
          "--nft prints what follows 'In the kernel:'", nft)

    rc, js, err = ctl("--json", "plan", "--direct", "--only", "firewall", policy)
    j = json.loads(js)
    rv = j.get("review", {})
    check(rv.get("known") is True and rv.get("before") == "HEAD (what the kernel holds)", "--json: review known", js)
    allowed = [g for g in rv.get("effect", []) if g["kind"] == "newly allowed"]
    check(any(f["services"] == "ssh (tcp/22)" and f["to"] == "mysql1, mysql2" for g in allowed for f in g["flows"]),
          "--json: the effect's flows", js)
    check(any(c["name"] == "web-to-db" for c in rv.get("policy_changes", [])), "--json: the policy change", js)
    check("add element inet bulwark web-to-db_svc { tcp . 22 }" in j.get("nft", []), "--json: the nft commands", js)
    rc, js, err = ctl("--json", "plan", "--direct", "--only", "firewall", "--nft", policy)
    check("review" not in json.loads(js) and json.loads(js)["nft"], "--nft --json: no review", js)

    # 3. Committed, not applied: HEAD is not what the kernel holds.
    git(repo, "commit", "-q", "-am", "ssh to the databases")
    rc, out, err = ctl("plan", "--direct", "--only", "firewall", "--detailed-exitcode", policy)
    check(rc == 2, f"HEAD not applied: exit 2 (the kernel plan), got {rc}", err)
    check(out.startswith("Policy change: the policy the kernel holds is unknown: the kernel's firewall is not HEAD's"),
          "HEAD not applied: unknown, and why", out)
    check("In the kernel:\nfirewall: 2 change(s)" in out, "HEAD not applied: the kernel plan", out)
    rc, js, err = ctl("--json", "plan", "--direct", "--only", "firewall", policy)
    check(json.loads(js)["review"].get("known") is False and json.loads(js)["review"].get("reason"),
          "--json: unknown with a reason", js)

    # 4. No repository.
    plain = tmp / "plain.yaml"
    plain.write_text(campus)
    rc, out, err = ctl("plan", "--direct", "--only", "firewall", "--detailed-exitcode", plain)
    check(rc == 2 and "is unknown" in out and "not in a Git repository" in out, "no repository, kernel differs", out + err)
    rc, out, err = ctl("apply", "--direct", "--only", "firewall", plain)
    rc, out, err = ctl("plan", "--direct", "--only", "firewall", "--detailed-exitcode", plain)
    check(rc == 0 and out.startswith("Policy change what the kernel holds (this policy) →") and "No change" in out,
          "no repository, kernel in sync: compared with itself", out + err)
finally:
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)

print(f"{'FAIL' if failures else 'ok'}: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
