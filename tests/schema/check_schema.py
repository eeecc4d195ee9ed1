#!/usr/bin/python3
"""Checks policies/schema/bulwark-policy.schema.json with a real JSON Schema validator.

    check_schema.py SCHEMA EXAMPLES_DIR [--bulwarkctl PATH]

1. The schema itself is a valid draft-07 schema (the validator's check_schema).
2. Positive cases: every EXAMPLES_DIR/*.yaml|*.yml, and every file under good/ next to
   this script, validates.
3. Negative cases: every bad/*.yaml next to this script fails validation. Each starts
   with two header comments:
       # schema-error-at: /json/pointer     (an error must be reported exactly there;
                                            "(yaml)" = rejected while reading the YAML)
       # loader-error: text                 (part of the message bulwarkctl gives)
   so a snippet cannot fail for some incidental reason and the test cannot pass vacuously.
4. Pattern probes: the address patterns are compared with the C library's inet_pton,
   which the loader itself uses (IpAddress::parse), on a table of tricky strings.
5. With --bulwarkctl: the schema agrees with the real loader on these snippets:
   `bulwarkctl validate` accepts each good/ policy (a file, or a directory) and rejects
   each bad/ snippet with the message its header names.

Uses only Debian 12 packages: python3, python3-jsonschema (4.10), python3-yaml.
"""

import argparse
import json
import re
import socket
import subprocess
import sys
from pathlib import Path

try:
    import jsonschema
    import yaml
except ImportError as e:  # pragma: no cover - environment problem, say so plainly
    sys.exit(f"check_schema.py: {e}; install the Debian packages python3-jsonschema and python3-yaml")

HERE = Path(__file__).resolve().parent


class PolicyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with the implicit typing of what Bulwark's loader understands.

    Bulwark reads policies with yaml-cpp, which keeps every scalar as text; the loader
    accepts exactly `true`/`false` for booleans and decimal digits for numbers. PyYAML
    follows YAML 1.1: `yes`/`on`/`off` become booleans, `1:20` a sexagesimal integer,
    `0x1f` and `010` (octal!) integers, `2024-01-05` a date, `1.5` a float. With those
    resolvers the schema would accept `log: yes` (which the loader rejects) and misjudge
    values. So all implicit resolvers are dropped and only null, true/false and plain
    decimal integers are resolved; everything else stays a string.

    Duplicate keys are an error, as in the loader (PyYAML would keep the last one
    silently). Merge keys (`<<`) stay ordinary keys, as in the loader, which rejects them.
    """

    yaml_implicit_resolvers = {}

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key_node.value!r}", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^-?(?:0|[1-9][0-9]*)$"), list("-0123456789"))


def load_policy(path):
    """One YAML document, as Bulwark requires (PyYAML raises on a second one)."""
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=PolicyLoader)  # noqa: S506 - a SafeLoader subclass


def pointer(path):
    return "".join("/" + str(p) for p in path)


def headers(path):
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*(schema-error-at|loader-error):\s*(.*?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
        elif not line.startswith("#"):
            break
    return out


class Checker:
    def __init__(self, schema_path):
        with open(schema_path, encoding="utf-8") as f:
            self.schema = json.load(f)
        cls = jsonschema.validators.validator_for(self.schema, default=None)
        if cls is not jsonschema.Draft7Validator:
            raise SystemExit(f"{schema_path}: expected a draft-07 schema, validator_for gave {cls}")
        cls.check_schema(self.schema)  # raises SchemaError with the reason
        self.validator = cls(self.schema)
        self.failures = []
        self.counts = {"positive": 0, "negative": 0, "probes": 0, "loader": 0}

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL", msg)

    def errors(self, instance):
        return sorted(self.validator.iter_errors(instance), key=lambda e: list(e.absolute_path))

    # -- positive ---------------------------------------------------------------------
    def expect_valid(self, path):
        self.counts["positive"] += 1
        try:
            doc = load_policy(path)
        except yaml.YAMLError as e:
            self.fail(f"{path}: cannot be read as YAML: {e}")
            return
        errs = self.errors(doc)
        if errs:
            for e in errs:
                self.fail(f"{path}: {pointer(e.absolute_path) or '/'}: {e.message[:300]}")
        else:
            print(f"ok   {path}")

    # -- negative ---------------------------------------------------------------------
    def expect_invalid(self, path):
        self.counts["negative"] += 1
        h = headers(path)
        where = h.get("schema-error-at")
        if where is None or "loader-error" not in h:
            self.fail(f"{path}: needs '# schema-error-at:' and '# loader-error:' header comments")
            return
        try:
            doc = load_policy(path)
        except yaml.YAMLError as e:
            if where == "(yaml)":
                print(f"ok   {path} (rejected reading YAML: {str(e).splitlines()[-1].strip()})")
            else:
                self.fail(f"{path}: expected a schema error at {where}, but reading YAML failed: {e}")
            return
        if where == "(yaml)":
            self.fail(f"{path}: expected reading the YAML to fail, but it was read")
            return
        errs = self.errors(doc)
        if not errs:
            self.fail(f"{path}: the schema accepts this snippet, but it must be rejected")
            return
        at = {pointer(e.absolute_path) for e in errs}
        if where not in at:
            self.fail(f"{path}: expected an error at {where!r}, got errors at {sorted(at)}: "
                      + "; ".join(e.message[:200] for e in errs))
            return
        first = next(e for e in errs if pointer(e.absolute_path) == where)
        print(f"ok   {path} (rejected at {where or '/'}: {first.message[:100]})")

    # -- probes -----------------------------------------------------------------------
    def probe(self, definition, text, expected):
        self.counts["probes"] += 1
        sub = {"$ref": f"#/definitions/{definition}", "definitions": self.schema["definitions"]}
        got = jsonschema.Draft7Validator(sub).is_valid(text)
        if got != expected:
            self.fail(f"probe {definition}: {text!r} is {'accepted' if got else 'rejected'}, "
                      f"expected {'accepted' if expected else 'rejected'}")

    def run_probes(self):
        def pton(family, text):
            try:
                socket.inet_pton(family, text)
                return True
            except (OSError, ValueError):
                return False

        addresses = [
            "10.20.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "10.020.0.1", "10.0.0",
            "10.0.0.1.", "1.2.3.4.5", "10.0.0.01", " 10.0.0.1", "::", "::1", "1::", "2001:db8::",
            "2001:db8:10::1", "2001:DB8::A", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::2", "1::2:", "12345::1", "::ffff:192.0.2.1",
            "64:ff9b::198.51.100.7", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4", "::1.2.3.256", "fe80::1%eth0", "2001:db8::/64", "g::1",
        ]
        for text in addresses:
            family = socket.AF_INET6 if ":" in text else socket.AF_INET  # as IpAddress::parse
            self.probe("address", text, pton(family, text))
        table = {
            "portSpec": {
                True: ["tcp/443", "udp/10000-20000", "sctp/3868", "tcp", "udp", "icmp", "icmpv6",
                       "tcp/1", "tcp/65535", "tcp/1-65535"],
                False: ["tcp/0", "tcp/65536", "tcp/443-", "tcp/-443", "tcp/", "TCP/443", "icmp/8",
                        "http/80", "tcp/1-2-3", "tcp/ 443", "any"],
            },
            "serviceRef": {
                True: ["any", "https", "web-backend", "tcp/8443", "udp/1-2", "icmp", "icmpv6"],
                False: ["tcp/0", "icmp/8", "tpc/443", "1https", "a b", ""],
            },
            "endpoint": {
                True: ["any", "internet", "lb1", "198.51.100.7", "198.51.100.0/24", "10.0.0.0/8",
                       "0.0.0.0/0", "2001:db8::1", "2001:db8::/32", "::/0"],
                False: ["198.51.100.0/33", "2001:db8::/129", "10.0.0.256", "web:1", "1web", "a.b",
                        "198.51.100.0/"],
            },
            "rate": {
                True: ["1/second", "500/second", "100/minute", "1000000/hour"],
                False: ["0/second", "1000001/second", "10/day", "10 /second", "ten/second", "10"],
            },
            "interfaceAddress": {
                True: ["198.51.100.2/24", "10.0.0.1/32", "10.0.0.1/1", "2001:db8::2/64", "::1/128"],
                False: ["198.51.100.2", "198.51.100.2/33", "198.51.100.2/0", "10.0.0.256/24",
                        "2001:db8::2/129", "2001:db8::2/0", "198.51.100.2/24/1", "198.51.100.2/ 24"],
            },
            "declaredName": {
                True: ["a", "web1", "web-backend", "sensor_1", "A" * 32],
                False: ["A" * 33, "1web", "-a", "web.1", "any", "internet", "Ωmega", ""],
            },
        }
        for definition, cases in table.items():
            for expected, texts in cases.items():
                for text in texts:
                    self.probe(definition, text, expected)
        print(f"ok   {self.counts['probes']} pattern probes")

    # -- agreement with the real loader -----------------------------------------------
    def bulwarkctl(self, exe, target):
        r = subprocess.run([exe, "--json", "validate", str(target)], capture_output=True, text=True,
                           timeout=60)
        try:
            out = json.loads(r.stdout)
        except json.JSONDecodeError:
            out = {"diagnostics": []}
        return r.returncode, out

    def loader_accepts(self, exe, target):
        self.counts["loader"] += 1
        rc, out = self.bulwarkctl(exe, target)
        if rc != 0:
            self.fail(f"{target}: bulwarkctl validate exit {rc}, expected 0: "
                      + "; ".join(d["message"] for d in out.get("diagnostics", [])))
        else:
            print(f"ok   {target} (bulwarkctl validate accepts it)")

    def loader_rejects(self, exe, target):
        self.counts["loader"] += 1
        want = headers(target).get("loader-error", "")
        rc, out = self.bulwarkctl(exe, target)
        messages = [d["message"] for d in out.get("diagnostics", []) if d.get("severity") == "error"]
        if rc != 1 or not any(want in m for m in messages):
            self.fail(f"{target}: bulwarkctl validate exit {rc} with {messages}; expected exit 1 "
                      f"and an error containing {want!r}")
        else:
            print(f"ok   {target} (bulwarkctl: {want})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("schema")
    ap.add_argument("examples_dir")
    ap.add_argument("--bulwarkctl", help="also check that bulwarkctl validate agrees")
    args = ap.parse_args()

    c = Checker(args.schema)
    print(f"ok   {args.schema} is a valid draft-07 schema")

    examples = sorted(p for p in Path(args.examples_dir).rglob("*") if p.suffix in (".yaml", ".yml"))
    if not examples:
        c.fail(f"{args.examples_dir}: no example policies (*.yaml, *.yml) found")
    good_files = sorted(p for p in (HERE / "good").rglob("*") if p.suffix in (".yaml", ".yml"))
    bad_files = sorted((HERE / "bad").glob("*.yaml"))
    if len(bad_files) < 4:
        c.fail(f"{HERE / 'bad'}: expected the negative snippets, found {len(bad_files)}")

    for p in examples + good_files:
        c.expect_valid(p)
    for p in bad_files:
        c.expect_invalid(p)
    c.run_probes()

    if args.bulwarkctl:
        # good/ holds single-file policies and directory policies (one subdirectory each).
        good_policies = sorted(p for p in (HERE / "good").iterdir()
                               if p.is_dir() or p.suffix in (".yaml", ".yml"))
        for p in good_policies:
            c.loader_accepts(args.bulwarkctl, p)
        for p in bad_files:
            c.loader_rejects(args.bulwarkctl, p)

    n = c.counts
    print(f"\n{n['positive']} positive, {n['negative']} negative, {n['probes']} probes"
          + (f", {n['loader']} bulwarkctl cross-checks" if args.bulwarkctl else "")
          + f": {len(c.failures)} failure(s)")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
