#!/usr/bin/env python3
"""A package-manager stand-in for tests: apt-get, apt-cache and dpkg-query over JSON files.

Installed as symlinks named after the real programs in a directory put first
on PATH. ``$FAKE_APT_DIR`` holds ``repo.json`` ({package: {"versions": [newest
first], "depends": [...], "essential": bool, "priority": str, "files": [...]}}),
``state.json`` ({package: version}) and ``calls.log`` (one JSON argv per line,
every call recorded); a file ``lock`` there is another apt holding dpkg's lock.
``apt-get -s`` prints what it would do as apt does (``Inst``, ``Remv``, ``Purg``)
and changes nothing; removing a package removes
the installed packages that depend on it, as apt does.
"""

import json
import os
import sys
from pathlib import Path

root = Path(os.environ["FAKE_APT_DIR"])
prog = Path(sys.argv[0]).name
args = sys.argv[1:]
while "-o" in args:  # apt's configuration options ("-o Dir::Cache::pkgcache=..."): nothing to fake
    del args[args.index("-o") : args.index("-o") + 2]
with open(root / "calls.log", "a") as log:
    log.write(json.dumps([prog, *args]) + "\n")
repo = json.loads((root / "repo.json").read_text())
state = json.loads((root / "state.json").read_text())
words = [a for a in args if not a.startswith("-")]


def save() -> None:
    (root / "state.json").write_text(json.dumps(state))


def dependents(names: list[str]) -> list[str]:
    """The installed packages that depend, directly or not, on ``names`` (apt removes them too)."""
    gone = list(names)
    changed = True
    while changed:
        changed = False
        for pkg in sorted(state):
            if pkg not in gone and set(repo.get(pkg, {}).get("depends", [])) & set(gone):
                gone.append(pkg)
                changed = True
    return gone[len(names) :]


def fields(name: str) -> dict[str, str]:
    info = repo.get(name, {})
    return {
        "Package": name,
        "Version": state.get(name, ""),
        "Status": "install ok installed" if name in state else "unknown ok not-installed",
        "Essential": "yes" if info.get("essential") else "no",
        "Priority": info.get("priority", "optional"),
    }


def dpkg_query() -> int:
    if args[:1] == ["-S"]:
        code = 0
        for path in args[1:]:
            owners = [n for n, info in sorted(repo.items()) if path in info.get("files", [])]
            if owners:
                print(f"{', '.join(owners)}: {path}")
            else:
                print(f"dpkg-query: no path found matching pattern {path}", file=sys.stderr)
                code = 1
        return code
    fmt = args[args.index("-f") + 1] if "-f" in args else "${Package}\t${Version}\n"
    names = [w for w in args[1:] if w != fmt and not w.startswith("-")] or sorted(state)
    code = 0
    for name in names:
        if name not in state and name not in repo:
            print(f"dpkg-query: no packages found matching {name}", file=sys.stderr)
            code = 1
            continue
        line = fmt
        for key, value in fields(name).items():
            line = line.replace("${" + key + "}", value)
        print(line, end="")
    return code


def apt_get() -> int:
    if "-s" not in args and (root / "lock").exists():  # another apt holds dpkg's lock: apt's own two lines
        held = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)"
        print(held, file=sys.stderr)
        print(
            "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?",
            file=sys.stderr,
        )
        return 100
    verb, names = words[0], words[1:]
    purge = verb == "purge" or "--purge" in args
    if verb == "install":
        install = [n for n in names if not n.endswith("-")]
        remove = [n[:-1] for n in names if n.endswith("-")]
    else:
        install, remove = [], names
    wanted = [[*w.split("=", 1), None] for w in install]
    for name in [*[w[0] for w in wanted], *remove]:
        if name not in repo and name not in state:
            print(f"E: Unable to locate package {name}", file=sys.stderr)
            return 100
    for name, version, *_ in wanted:
        if version and version not in repo[name]["versions"]:
            print(f"E: Unable to locate package {name}", file=sys.stderr)
            return 100
    present = [n for n in remove if n in state]
    for name in remove:
        if name not in state:
            print(f"Package '{name}' is not installed, so not removed")
    for name in [*present, *dependents(present)]:
        if "-s" in args:
            print(f"{'Purg' if purge else 'Remv'} {name} [{state[name]}]")
        else:
            print(f"Removing {name} ...")
            state.pop(name, None)
    for name, version, *_ in wanted:
        for dep in [name, *repo[name].get("depends", [])]:
            new = version if dep == name and version else repo[dep]["versions"][0]
            if state.get(dep) != new:
                if "-s" in args:
                    old = f"[{state[dep]}] " if dep in state else ""
                    print(f"Inst {dep} {old}({new} Fake:1/stable [all])")
                else:
                    print(f"Setting up {dep} ({new}) ...")
                    state[dep] = new
    if "-s" not in args:
        save()
    return 0


if prog == "dpkg-query":
    sys.exit(dpkg_query())
elif prog == "apt-cache" and words[:1] == ["policy"]:
    for name in words[1:]:
        if name in repo:
            print(f"{name}:\n  Installed: {state.get(name, '(none)')}\n  Candidate: {repo[name]['versions'][0]}")
elif prog == "apt-cache" and words[:1] == ["madison"]:
    for name in words[1:]:
        for v in repo.get(name, {}).get("versions", []):
            print(f" {name} | {v} | http://fake bookworm/main amd64 Packages")
elif prog == "apt-cache" and words[:1] == ["show"]:
    for spec in words[1:]:
        print(f"Package: {spec.split('=', 1)[0]}\nSize: 1000\n")
elif prog == "apt-get" and words[:1] in (["install"], ["remove"], ["purge"]):
    sys.exit(apt_get())
else:
    print(f"fake {prog}: unsupported {args}", file=sys.stderr)
    sys.exit(2)
