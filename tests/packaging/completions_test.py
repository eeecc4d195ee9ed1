#!/usr/bin/env python3
"""The shipped bash and zsh completions know every verb and flag bulwarkctl has: each verb,
sub-verb and long flag its --help output lists (walked recursively) must appear in both files.
bash also runs the completion function for a few command lines (bash-completion's
_init_completion) and checks the offered words.

  completions_test.py BULWARKCTL BASH_COMPLETION ZSH_COMPLETION"""
import os
import re
import subprocess
import sys

failures = []


def helptext(ctl, path):
    p = subprocess.run([ctl] + path + ["--help"], capture_output=True, text=True, timeout=20)
    return p.stdout + p.stderr


def parse(text):
    """(subcommands, long flags) of one CLI11 --help page."""
    subs, flags, section = [], set(), None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line.rstrip(":")
            continue
        if section == "Subcommands":
            m = re.match(r"^\s{2}(\S+)", line)
            if m:
                subs.append(m.group(1))
        elif section == "Options":
            for f in re.findall(r"(?:^|,)\s*(--[\w-]+|-\w)\b", line.split("  ")[1] if line.startswith("  ") else ""):
                flags.add(f)
    return subs, flags


def walk(ctl, path, seen_top):
    text = helptext(ctl, path)
    subs, flags = parse(text)
    yield path, flags
    if path and subs == seen_top:
        return  # CLI11 printed the parent's page: no own subcommands
    for s in subs:
        yield from walk(ctl, path + [s], seen_top if path else subs)


def main():
    ctl, bash_file, zsh_file = sys.argv[1:4]
    bash, zsh = open(bash_file).read(), open(zsh_file).read()
    top_subs, _ = parse(helptext(ctl, []))
    if not top_subs:
        print("FAIL: no verbs in `bulwarkctl --help`")
        return 1
    checked_verbs = checked_flags = 0
    for path, flags in walk(ctl, [], top_subs):
        if path:
            verb = path[-1]
            checked_verbs += 1
            for name, text in (("bash", bash), ("zsh", zsh)):
                if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(verb), text):
                    failures.append("%s completion lacks the verb '%s'" % (name, " ".join(path)))
        for f in sorted(flags - {"-h", "--help"}):
            checked_flags += 1
            for name, text in (("bash", bash), ("zsh", zsh)):
                if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(f), text):
                    failures.append("%s completion lacks %s of '%s'" % (name, f, " ".join(path) or "bulwarkctl"))
    if "--version" not in bash or "--version" not in zsh:
        failures.append("--version missing")
    # bash: syntax, and the function's answers
    if subprocess.run(["bash", "-n", bash_file]).returncode != 0:
        failures.append("bash -n refuses the bash completion")
    lib = "/usr/share/bash-completion/bash_completion"
    if os.path.exists(lib):
        def complete(line):
            words = line.split(" ")
            script = ('source %s; source %s; COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE="%s"; COMP_POINT=%d; '
                      '_bulwarkctl bulwarkctl "%s" "%s"; printf "%%s\\n" "${COMPREPLY[@]}"') % (
                lib, bash_file, " ".join("'%s'" % w for w in words), len(words) - 1, line, len(line),
                words[-1], words[-2] if len(words) > 1 else "")
            p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=20)
            return set(p.stdout.split())
        for line, want in (("bulwarkctl p", {"plan", "pki"}), ("bulwarkctl pki i", {"init", "issue"}),
                           ("bulwarkctl apply --c", {"--confirm", "--connect", "--cert", "--cert-password-file",
                                                     "--ca"}),
                           ("bulwarkctl --socket /x sta", {"status"}), ("bulwarkctl plan --only f", {"firewall"})):
            got = complete(line)
            if not want <= got:
                failures.append("bash completes %r to %s, wanted %s" % (line, sorted(got), sorted(want)))
    else:
        failures.append(lib + " missing (bash-completion)")
    if subprocess.run(["sh", "-c", "command -v zsh"], capture_output=True).returncode == 0:
        if subprocess.run(["zsh", "-n", zsh_file]).returncode != 0:
            failures.append("zsh -n refuses the zsh completion")
    for f in failures:
        print("FAIL:", f)
    print("%d verbs and %d flags checked" % (checked_verbs, checked_flags))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
