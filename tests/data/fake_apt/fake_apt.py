#!/usr/bin/env python3
"""A package-manager stand-in for tests: apt-get, apt-cache and dpkg-query over JSON files.

Installed as symlinks named after the real programs in a directory put first
on PATH. ``$FAKE_APT_DIR`` holds ``repo.json`` ({package: {"versions": [newest
first], "depends": [...]}}), ``state.json`` ({package: version}) and
``calls.log`` (one JSON argv per line, every call recorded).
"""

import json
import os
import sys
from pathlib import Path

root = Path(os.environ["FAKE_APT_DIR"])
prog = Path(sys.argv[0]).name
args = sys.argv[1:]
with open(root / "calls.log", "a") as log:
    log.write(json.dumps([prog, *args]) + "\n")
repo = json.loads((root / "repo.json").read_text())
state = json.loads((root / "state.json").read_text())
words = [a for a in args if not a.startswith("-")]


def save() -> None:
    (root / "state.json").write_text(json.dumps(state))


if prog == "dpkg-query":
    for name, version in sorted(state.items()):
        print(f"{name}\t{version}\tinstall ok installed")
elif prog == "apt-cache" and words[:1] == ["policy"]:
    for name in words[1:]:
        if name in repo:
            print(f"{name}:\n  Installed: {state.get(name, '(none)')}\n  Candidate: {repo[name]['versions'][0]}")
elif prog == "apt-cache" and words[:1] == ["madison"]:
    for name in words[1:]:
        for v in repo.get(name, {}).get("versions", []):
            print(f" {name} | {v} | http://fake bookworm/main amd64 Packages")
elif prog == "apt-get" and words[:1] in (["install"], ["remove"]):
    wanted = [[*w.split("=", 1), None] for w in words[1:]]
    for name, version, *_ in wanted:
        if name not in repo or (version and version not in repo[name]["versions"]):
            print(f"E: Unable to locate package {name}", file=sys.stderr)
            sys.exit(100)
    for name, version, *_ in wanted:
        if words[0] == "remove":
            print(f"Removing {name} ...")
            state.pop(name, None)
            continue
        for dep in [name, *repo[name].get("depends", [])]:
            new = version if dep == name and version else repo[dep]["versions"][0]
            if state.get(dep) != new:
                print(f"Setting up {dep} ({new}) ...")
                state[dep] = new
    save()
else:
    print(f"fake {prog}: unsupported {args}", file=sys.stderr)
    sys.exit(2)
