#!/usr/bin/python3
"""docs/ci/'s templates, run as written: the pre-commit hook installed into a throwaway Git
repository, and the GitLab CI and GitHub Actions jobs' own command lines (read from the YAML
files, not copied here) run in a checkout of that repository with the variables the CI system
sets. Only the last hop, posting the comment to GitLab/GitHub, goes to a stand-in (`curl` and
`gh` on PATH record what they were asked to post): those services cannot run here.

    ci_templates_test.py BULWARKCTL EXAMPLES_DIR DOCS_CI_DIR

The repository holds campus.yaml under policy/ with two commits (the second adds a source to
a rule). Checked:
1. pre-commit: a staged valid change commits; a staged change that does not validate, one not
   in canonical form and one whose expectations fail are refused (non-zero, nothing
   committed); the working tree's unstaged edits do not count (the hook checks the index).
2. GitLab: bulwark-check passes on the good commit and fails on a bad one; bulwark-diff on the
   merge request posts the markdown diff with the newly allowed flow and its rule, and posts
   nothing when the change does not change the policy's meaning.
3. GitHub Actions: the same through the workflow's `run:` steps.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

BULWARKCTL, EXAMPLES, CI = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), Path(sys.argv[3])
failures = []
tmp = Path(tempfile.mkdtemp(prefix="bulwark-ci-templates."))
# The workflow writes `git config --global` (safe.directory): a global config of the test's own,
# never the user's (and never /dev/null, which git would replace with a file).
(tmp / "gitconfig").write_text("")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"),
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp)}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **GIT_ENV}).stdout.strip()


def sub(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


def shell(script, cwd, env, shell_opts=("-e",)):
    """Runs one job's lines as the CI system does: one shell, stop at the first failing line."""
    p = subprocess.run(["/bin/bash", *shell_opts, "-c", script], cwd=cwd, capture_output=True, text=True,
                       timeout=300, env={**os.environ, **GIT_ENV, **env})
    return p.returncode, p.stdout + p.stderr


try:
    # Stand-ins for the two hosting services' clients and the tool on PATH.
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    posted = tmp / "posted"
    (bin_dir / "bulwarkctl").symlink_to(BULWARKCTL)
    for name in ("curl", "gh"):
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\n# stand-in for {name}: records its arguments and the posted file\n"
                        f"printf '%s\\n' \"$@\" > {posted}.args\n"
                        f"for a in \"$@\"; do case \"$a\" in body@*) cat \"${{a#body@}}\" > {posted};; esac; done\n"
                        f"prev=; for a in \"$@\"; do [ \"$prev\" = --body-file ] && cat \"$a\" > {posted}; prev=$a; done\n"
                        "exit 0\n")
        stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    path_env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}

    repo = tmp / "repo"
    (repo / "policy").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    campus = (EXAMPLES / "campus.yaml").read_text()
    policy = repo / "policy" / "campus.yaml"
    policy.write_text(campus)
    git(repo, "add", "policy")
    git(repo, "commit", "-q", "-m", "campus")
    base = git(repo, "rev-parse", "HEAD")

    # 1. The hook.
    hook = repo / ".git" / "hooks" / "pre-commit"
    shutil.copy(CI / "pre-commit", hook)
    hook.chmod(0o755)

    def commit(msg):
        p = subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", msg], capture_output=True, text=True,
                           timeout=120, env={**os.environ, **GIT_ENV, **path_env})
        return p.returncode, p.stdout + p.stderr

    add_mysql1 = sub(campus, "    from: [web1, web2, wowza]\n    to: nas1", "    from: [web1, web2, wowza, mysql1]\n    to: nas1")
    bad_cases = {
        "does not validate": sub(campus, "    to: nas1", "    to: nas9"),
        "is not in canonical form": sub(campus, "    to: nas1", "    to:     nas1"),
        "breaks an expectation": add_mysql1,  # expect: mysql1 → nas1 nfs deny
    }
    for what, text in bad_cases.items():
        policy.write_text(text)
        git(repo, "add", "policy")
        rc, out = commit(what)
        check(rc != 0, f"pre-commit accepted a change that {what}: {out}")
        check(git(repo, "rev-parse", "HEAD") == base, f"pre-commit: a commit was made for a change that {what}")
        if what == "does not validate":
            check("policy/campus.yaml:122:" in out, f"pre-commit: the error at file:line:col: {out}")

    changed = sub(add_mysql1, "  - { from: mysql1, to: nas1, service: nfs, verdict: deny }",
                  "  - { from: mysql1, to: nas1, service: nfs, verdict: allow }")
    policy.write_text(changed)
    git(repo, "add", "policy")
    policy.write_text(sub(campus, "    to: nas1", "    to: nas9"))  # unstaged and broken: not checked
    rc, out = commit("mysql1 to nas1")
    check(rc == 0, f"pre-commit refused a valid staged change (the unstaged edit must not count): {out}")
    check("mysql1 → nas1" in out and "at policy/campus.yaml:120" in out, f"pre-commit shows the change's effect: {out}")
    head = git(repo, "rev-parse", "HEAD")
    check(head != base, "pre-commit: the valid change was not committed")
    policy.write_text(changed)
    git(repo, "checkout", "-q", "--", "policy")

    # The CI systems run in a clone (a checkout of the pushed revision).
    clone = tmp / "clone"
    git(tmp, "clone", "-q", str(repo), str(clone))

    # 2. GitLab: the jobs' script lines from the template itself.
    gl = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    gl_env = {**path_env, **{k: str(v) for k, v in gl.get("variables", {}).items()}}

    def gitlab_job(name, extra):
        job = gl[name]
        env = {**gl_env, **{k: str(v) for k, v in job.get("variables", {}).items()}, **extra}
        return shell("\n".join(job["script"]), clone, env)

    mr = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_DIFF_BASE_SHA": base,
          "CI_API_V4_URL": "https://gitlab.example.org/api/v4", "CI_PROJECT_ID": "7",
          "CI_MERGE_REQUEST_IID": "42", "BULWARK_REVIEW_TOKEN": "secret"}
    rc, out = gitlab_job("bulwark-check", {})
    check(rc == 0, f"gitlab bulwark-check failed on a good commit: {out}")
    posted.unlink(missing_ok=True)
    rc, out = gitlab_job("bulwark-diff", mr)
    check(rc == 0, f"gitlab bulwark-diff failed: {out}")
    body = posted.read_text() if posted.exists() else ""
    check("mysql1 → nas1" in body and "app-to-nas" in body, f"gitlab: the posted note lacks the effect: {body!r}")
    args = (posted.with_suffix(".args")).read_text() if posted.with_suffix(".args").exists() else ""
    check("/projects/7/merge_requests/42/notes" in args and "PRIVATE-TOKEN: secret" in args,
          f"gitlab: posted to the wrong place: {args}")
    check("rules" in gl["bulwark-diff"] and "merge_request_event" in str(gl["bulwark-diff"]["rules"]),
          "gitlab: bulwark-diff runs only for merge requests")

    # A commit that changes nothing the policy means (a comment): nothing posted.
    (clone / "policy" / "campus.yaml").write_text("# reviewed\n" + changed)
    git(clone, "commit", "-q", "-am", "comment only")
    posted.unlink(missing_ok=True)
    rc, out = gitlab_job("bulwark-diff", {**mr, "CI_MERGE_REQUEST_DIFF_BASE_SHA": head})
    check(rc == 0 and not posted.exists(), f"gitlab: a comment-only change posted a note or failed ({rc}): {out}")

    # A broken commit fails the check job, at file:line:col.
    (clone / "policy" / "campus.yaml").write_text(sub(changed, "    to: nas1", "    to: nas9"))
    git(clone, "commit", "-q", "-am", "broken")
    rc, out = gitlab_job("bulwark-check", {})
    check(rc != 0 and "policy/campus.yaml:" in out, f"gitlab bulwark-check passed a broken policy ({rc}): {out}")
    rc, out = gitlab_job("bulwark-diff", mr)
    check(rc != 0, f"gitlab bulwark-diff passed a policy that does not load ({rc}): {out}")
    git(clone, "reset", "-q", "--hard", "HEAD~2")

    # 3. GitHub Actions: the workflow's run: steps, in order, with its env and if: conditions.
    gh = yaml.safe_load((CI / "github-actions.yml").read_text())
    job = gh["jobs"]["policy"]
    outputs = tmp / "gh-output"

    def github_run(event, base_sha):
        env = {**path_env, **{k: str(v) for k, v in gh.get("env", {}).items()}, "GITHUB_WORKSPACE": str(clone),
               "HOME": str(tmp)}
        step_out = {}
        for step in job["steps"]:
            if "run" not in step:
                continue  # actions/checkout: the clone is the checkout
            cond = step.get("if", "")
            if "pull_request" in cond and event != "pull_request":
                continue
            if "steps.diff.outputs.changed == 'yes'" in cond and step_out.get("changed") != "yes":
                continue
            senv = {**env, "GITHUB_OUTPUT": str(outputs)}
            for k, v in step.get("env", {}).items():
                v = str(v).replace("${{ github.event.pull_request.base.sha }}", base_sha)
                v = v.replace("${{ github.event.pull_request.number }}", "42")
                v = v.replace("${{ github.token }}", "ghs_token")
                senv[k] = v
            outputs.write_text("")
            rc, out = shell(step["run"], clone, senv, ("-e", "-o", "pipefail"))  # GitHub's bash default
            if rc != 0:
                return rc, f"step {step.get('name')}: {out}"
            for line in outputs.read_text().splitlines():
                k, _, v = line.partition("=")
                step_out[k] = v
        return 0, ""

    posted.unlink(missing_ok=True)
    rc, out = github_run("push", base)
    check(rc == 0 and not posted.exists(), f"github push: {rc} {out}")
    rc, out = github_run("pull_request", base)
    body = posted.read_text() if posted.exists() else ""
    check(rc == 0 and "mysql1 → nas1" in body, f"github pull_request: no comment with the effect ({rc}): {out} {body!r}")
    args = posted.with_suffix(".args").read_text() if posted.with_suffix(".args").exists() else ""
    check(args.startswith("pr\ncomment\n42\n"), f"github: gh called as {args!r}")
    (clone / "policy" / "campus.yaml").write_text(sub(changed, "    to: nas1", "    to: nas9"))
    git(clone, "commit", "-q", "-am", "broken")
    rc, out = github_run("push", base)
    check(rc != 0 and "policy/campus.yaml:" in out, f"github: a broken policy passed ({rc}): {out}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("ok: pre-commit, GitLab CI and GitHub Actions templates")
