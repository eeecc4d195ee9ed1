"""Helpers of the tests that build a throwaway Git repository of a policy (diff_git_test.py,
plan_review_netns.py)."""
import os
import subprocess


def git(repo, *args):
    """git ARGS in REPO with a fixed identity; raises on failure."""
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


def sub(text, old, new):
    """TEXT with the first OLD replaced by NEW (OLD must be there: the example changed)."""
    assert old in text, old
    return text.replace(old, new, 1)


def campus_repo(tmp, examples):
    """A repository TMP/repo with EXAMPLES/campus.yaml committed: (repo, policy path, its text)."""
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    campus = (examples / "campus.yaml").read_text()
    policy = repo / "campus.yaml"
    policy.write_text(campus)
    git(repo, "add", "campus.yaml")
    git(repo, "commit", "-q", "-m", "campus")
    return repo, policy, campus
