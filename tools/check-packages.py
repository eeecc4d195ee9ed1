#!/usr/bin/python3
"""Is tools/packages.txt complete? Every file the build read from the system, every shared
library the binaries and the lab's tools load, and every external command the lab and the tests
run must belong to a Debian package that tools/packages.txt installs (itself or through its
dependencies) or that every Debian system has (Essential: yes, and apt). A file that comes
from any other package made this machine green and would fail on a fresh one.

    tools/check-packages.py BUILD_DIR [BUILD_DIR ...] [--verbose]

What it checks, per build dir:
  - the compiler's depfiles (Makefiles generator: every `*.d` and `compiler_depend.make` under
    CMakeFiles/): every header and file outside the source and build trees;
  - the CMake package configs find_package loaded (the `<Pkg>_DIR` entries of CMakeCache.txt);
  - `ldd` of bulwarkd, bulwarkctl, bulwark-console and the lab's load tools, when built, and of
    the plugins the lab and the console load at run time (nginx's stream module, charon's
    kernel-libipsec, Qt's xcb platform plugin);
and once: the commands the lab, the tests, the benches and tools/ run (the first word of a
command in their shell scripts, the first element of an argv list or an absolute path in their
Python and C++), those that resolve to an installed program.

Owners come from dpkg's own file lists (/var/lib/dpkg/info/*.list), the dependency closure
from dpkg's status of the installed packages (Depends and Pre-Depends, alternatives and
virtual packages through what is installed). Exit 0 when all is provided, 1 with one line per
file naming the package to add, 2 on bad usage. Takes a few seconds.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES_TXT = REPO / "tools" / "packages.txt"
DPKG_INFO = Path("/var/lib/dpkg/info")
# what every Debian 12 system has besides the Essential packages (mmdebstrap --variant=apt)
BASE = {"apt"}
BINARIES = ["gateway/bulwarkd", "gateway/bulwarkctl", "gui/bulwark-console", "lab/bulwark-stream-source",
            "lab/bulwark-stream-clients"]
RUNTIME_PLUGINS = ["/usr/lib/nginx/modules/ngx_stream_module.so",
                   "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so",
                   "/usr/lib/x86_64-linux-gnu/qt6/plugins/platforms/libqxcb.so"]
# where the project runs commands from
SCAN_DIRS = ["lab", "tests", "bench", "tools", ".ci"]
# files whose commands are not the host's
NOT_HOST = {"tests/kernel/guest-init.sh": "PID 1 of the test VM: busybox applets (busybox-static)"}


def wanted_packages() -> list[str]:
    out = []
    for line in PACKAGES_TXT.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def installed() -> tuple[dict, dict, set]:
    """dpkg's view: package -> [alternatives groups], virtual name -> providers, essentials."""
    cp = subprocess.run(["dpkg-query", "-W", "-f",
                         "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Depends}\t${Pre-Depends}\t${Provides}\n"],
                        capture_output=True, text=True, check=True)
    deps, provides, essential = {}, {}, set()
    for line in cp.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 6 or not f[1].startswith("ii"):
            continue
        name = f[0]
        groups = []
        for field in (f[3], f[4]):
            for grp in filter(None, (g.strip() for g in field.split(","))):
                groups.append([re.split(r"[\s(:]", alt.strip(), maxsplit=1)[0] for alt in grp.split("|")])
        deps[name] = groups
        for pv in filter(None, (p.strip() for p in f[5].split(","))):
            provides.setdefault(re.split(r"[\s(:]", pv, maxsplit=1)[0], set()).add(name)
        if f[2] == "yes":
            essential.add(name)
    return deps, provides, essential


def closure(roots, deps: dict, provides: dict) -> set:
    seen, todo = set(), list(roots)
    while todo:
        n = todo.pop()
        for real in ([n] if n in deps else []) + sorted(provides.get(n, ())):
            if real in seen:
                continue
            seen.add(real)
            for grp in deps.get(real, []):
                todo.extend(grp)  # every installed alternative: whichever one the system uses
    return seen


def file_owners() -> dict:
    owners: dict = {}
    for lst in DPKG_INFO.glob("*.list"):
        pkg = lst.name[:-5].split(":")[0]
        try:
            for path in lst.read_text(errors="replace").splitlines():
                owners.setdefault(path, set()).add(pkg)
        except OSError:
            continue
    return owners


def owner_of(path: str, owners: dict) -> set:
    """The packages owning path, also through symlinks and /usr-merge aliases (/lib ~ /usr/lib)."""
    cands = [path, os.path.realpath(path)]
    for c in list(cands):
        for a, b in (("/usr/lib/", "/lib/"), ("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"),
                     ("/usr/lib64/", "/lib64/")):
            if c.startswith(a):
                cands.append(b + c[len(a):])
            elif c.startswith(b):
                cands.append(a + c[len(b):])
    for c in cands:
        if c in owners:
            return owners[c]
    # a path through a symlinked directory: resolve the directory, keep the name
    d, base = os.path.split(path)
    real = os.path.join(os.path.realpath(d), base)
    return owners.get(real, set())


# ---- what the build and the binaries use -----------------------------------------------------
def depfile_paths(build: Path, skip: tuple) -> set:
    out = set()
    files = glob.glob(str(build / "**" / "CMakeFiles" / "**" / "*.d"), recursive=True)
    files += glob.glob(str(build / "**" / "compiler_depend.make"), recursive=True)
    for f in set(files):
        try:
            text = Path(f).read_text(errors="replace")
        except OSError:
            continue
        for tok in re.split(r"[\s\\]+", text):
            if not tok.startswith("/") or tok.endswith(":"):
                continue
            p = os.path.normpath(tok)
            if not p.startswith(skip):
                out.add(p)
    return out


def cmake_configs(build: Path) -> set:
    out = set()
    cache = build / "CMakeCache.txt"
    if not cache.is_file():
        return out
    for line in cache.read_text(errors="replace").splitlines():
        m = re.match(r"^[A-Za-z0-9_.+-]+_DIR:PATH=(/.+)$", line)
        if not m or not os.path.isdir(m.group(1)):
            continue
        cfgs = [c for c in glob.glob(os.path.join(m.group(1), "*onfig.cmake"))]
        out.update(os.path.normpath(c) for c in (cfgs or [m.group(1)]))
    return out


def ldd_paths(files: list) -> dict:
    """library path -> the first binary that loads it."""
    out = {}
    for b in files:
        cp = subprocess.run(["ldd", b], capture_output=True, text=True, timeout=30)
        for line in cp.stdout.splitlines():
            m = re.search(r"=>\s*(/\S+)", line) or re.match(r"^\s*(/\S+)", line)
            if m:
                out.setdefault(os.path.normpath(m.group(1)), b)
            elif "not found" in line:
                out.setdefault("not found: " + line.split()[0], b)
    return out


# ---- the commands the project runs -----------------------------------------------------------
SH_CMD = re.compile(r"(?:^|[;&|(`]|\$\(|\b(?:then|do|else|exec|timeout\s+\S+|xargs|sudo|env)\s)\s*"
                    r"([A-Za-z][A-Za-z0-9._+-]*)(?=\s|$|;|\))")
PY_ARGV = re.compile(r"""\[\s*["']([A-Za-z][A-Za-z0-9._+-]*)["']\s*,""")
CPP_CMD = re.compile(r"""\b(?:popen|system|exec[a-z]*|run[A-Za-z]*)\(\s*"([a-z][a-z0-9._+-]*)[ "]""")
ABS_PATH = re.compile(r"""(?:["'=]|\s)(/(?:usr/)?(?:s?bin|lib|libexec)/[A-Za-z0-9._+/-]*[A-Za-z0-9])""")
# run through a variable or by another program, so no pattern above sees them
INDIRECT = {"swanctl": "the VPN tests (a Charon helper runs it)", "xauth": "xvfb-run (the console's tests)",
            "pki": "the VPN tests' certificates (strongSwan's pki tool)"}


def project_files() -> list[Path]:
    out = []
    for d in SCAN_DIRS:
        for p in (REPO / d).rglob("*"):
            if (p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".md", ".yaml", ".json", ".png")
                    and str(p.relative_to(REPO)) not in NOT_HOST):
                out.append(p)
    return out


def commands() -> dict:
    """command or absolute path -> where it was seen first (file)."""
    out: dict = {}
    for p in project_files():
        try:
            text = p.read_text(errors="replace")
        except OSError:
            continue
        first = text.split("\n", 1)[0]
        kind = ("sh" if p.suffix == ".sh" or "bash" in first or first.endswith("/sh") else
                "py" if p.suffix == ".py" or "python" in first else
                "cpp" if p.suffix in (".cpp", ".h", ".cc") else "")
        found = set(ABS_PATH.findall(text))
        if kind == "sh":
            for line in text.splitlines():
                if not line.lstrip().startswith("#"):
                    found.update(SH_CMD.findall(line))
        elif kind in ("py", "cpp"):
            found.update(PY_ARGV.findall(text))
            if kind == "cpp":  # run("nft -j list ruleset"), popen("openssl ..."), system("ip ...")
                found.update(CPP_CMD.findall(text))
        for c in found:
            out.setdefault(c, str(p.relative_to(REPO)))
    for c, who in INDIRECT.items():
        out.setdefault(c, who)
    return out


def resolve_command(c: str) -> str | None:
    if c.startswith("/"):
        return c if os.path.isfile(c) and os.access(c, os.X_OK) or c.endswith(".so") and os.path.isfile(c) else None
    if c in BUILTINS:
        return None
    p = shutil.which(c)
    return p if p and p.startswith(("/usr/", "/bin/", "/sbin/")) else None


BUILTINS = set("""alias bg bind break builtin caller cd command compgen complete continue declare dirs disown echo
enable eval exec exit export false fc fg getopts hash help history jobs kill let local logout mapfile popd printf
pushd pwd read readarray readonly return set shift shopt source suspend test times trap true type typeset ulimit
umask unalias unset wait if then else elif fi case esac for while until do done in function select time""".split())


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv
    builds = [Path(a).resolve() for a in argv if a != "--verbose"]
    if not builds or any(a.startswith("-") and a != "--verbose" for a in argv):
        print("usage: tools/check-packages.py BUILD_DIR [BUILD_DIR ...] [--verbose]", file=sys.stderr)
        return 2
    for b in builds:
        if not (b / "CMakeCache.txt").is_file():
            print(f"check-packages: {b} is not a configured build dir (no CMakeCache.txt): build it first "
                  "(cmake --preset dev && cmake --build --preset dev)", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    want = wanted_packages()
    deps, provides, essential = installed()
    not_installed = [p for p in want if p not in deps and p not in provides]
    allowed = closure(want + sorted(essential) + sorted(BASE), deps, provides)
    owners = file_owners()

    used: dict = {}  # path -> why it is used
    skip = tuple(str(p) + "/" for p in [REPO, *builds]) + ("/proc/", "/dev/", "/tmp/")
    for b in builds:
        for p in depfile_paths(b, skip):
            used.setdefault(p, f"a header/file the compiler read ({b.name} depfiles)")
        for p in cmake_configs(b):
            used.setdefault(p, f"a CMake package config find_package loaded ({b.name}/CMakeCache.txt)")
        bins = [str(b / x) for x in BINARIES if (b / x).is_file()]
        for p, who in ldd_paths(bins + [x for x in RUNTIME_PLUGINS if os.path.isfile(x)]).items():
            used.setdefault(p, f"a library {os.path.relpath(who, b) if who.startswith(str(b)) else who} loads")
    ncmd = 0
    for c, where in sorted(commands().items()):
        path = resolve_command(c)
        if path:
            ncmd += 1
            used.setdefault(path, f"a command run by {where}" if not c.startswith("/") else f"named in {where}")

    bad = []
    for path, why in sorted(used.items()):
        if path.startswith("not found: "):
            bad.append(f"{path[11:]}: ldd cannot find it ({why}): install the package that ships it and list it "
                       "in tools/packages.txt")
            continue
        pk = owner_of(path, owners)
        if not pk:
            if os.path.exists(path):
                bad.append(f"{path}: no Debian package owns it ({why}); installed by hand? Use the Debian "
                           "package instead and list it in tools/packages.txt")
            continue
        if not pk & allowed:
            bad.append(f"{path}: from {' or '.join(sorted(pk))}, which tools/packages.txt does not install "
                       f"({why}): add {sorted(pk)[0]} to tools/packages.txt")
        elif verbose:
            print(f"ok  {path}  ({', '.join(sorted(pk & allowed))}): {why}")
    for p in not_installed:
        bad.append(f"tools/packages.txt lists {p}, which is not installed here: run tools/install-deps.sh")
    took = time.monotonic() - t0
    kinds = {}
    for why in used.values():
        k = why.split(" (")[0].split(" run by")[0].split(" loads")[0]
        kinds[k] = kinds.get(k, 0) + 1
    if bad:
        print(f"check-packages: {len(bad)} problem(s) ({took:.1f}s):")
        for line in bad:
            print("  " + line)
        print("check-packages: a fresh machine installs only tools/packages.txt (and what it depends on): "
              "add the package(s) named above")
        return 1
    print(f"check-packages: OK in {took:.1f}s: {len(used)} system files used ({len(used) - ncmd} by the build and "
          f"the binaries, {ncmd} commands) all come from the {len(want)} packages of tools/packages.txt "
          f"(a closure of {len(allowed)} with the essential ones)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
