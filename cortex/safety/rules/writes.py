"""Writes onto files by any verb: what is written, where, and what that file is to the system.

Redirections, tee, cp, mv, install, ln, rsync, scp, dd, truncate, curl -o, wget -O,
sed -i and perl -i all name a target, a mode and a :class:`Content`. The target's
place in :mod:`cortex.safety.protected` decides with the content:

- files whose rewriting hands the machine over (accounts, sudo, package trust,
  boot) block whatever is written;
- files that run later (cron, shell startup files) block a download or output
  that cannot be seen, and have literal text checked as the commands it is;
- files the machine needs to boot, mount, resolve names or log in block when
  emptied, filled from a device, downloaded over, or given text not in their format;
- settings that open a service to attack (``PermitRootLogin yes``) block in the files that hold them.

What each write leaves in a file is kept in the line's state, so a script run
later in the same line is checked by its text (:func:`cortex.safety.rules.code.written_script`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cortex.safety.protected import (
    anyone_can_plant,
    is_raw_device,
    is_remove_critical,
    is_startup_file,
    is_system_file,
    is_system_tree,
    is_write_critical,
    masked_unit,
    needed_format,
    normalize,
    runs_later,
    weakened,
)
from cortex.safety.rules import Context, block, confirm, word
from cortex.safety.shell import Command, Word
from cortex.safety.verdict import Finding
from cortex.safety.wrappers import SHELLS, base, unwrap


@dataclass(frozen=True)
class Content:
    """What a write puts in a file."""

    kind: str  # text | empty | junk | download | file | unknown | edit
    text: str = ""  # the literal text (text), or where it comes from (junk, download, file)


EMPTY = Content("empty")
UNKNOWN = Content("unknown")
EDIT = Content("edit")
JUNK_DEVICES = ("/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "nc", "ncat", "netcat", "socat"})
REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+(@[\w.-]+)?:(?!//))")
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "r": "", "e": "", "a": "", "0": ""}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def printed(cmd: Command) -> str | None:
    """The text echo or printf prints, or None when a word is only known at run time."""
    inv = unwrap(cmd.words)
    args = inv.args
    if any(w.dynamic for w in args):
        return None
    if inv.name == "printf":
        texts = [w.text for w in args if w.text != "--"]
        fmt, values = (texts[0], texts[1:]) if texts else ("", [])
        pieces = iter(values)
        out = re.sub(r"%[-+ #0-9.]*[sbdiuxXc]", lambda _: next(pieces, ""), fmt.replace("%%", "\x00"))
        return _unescape(out.replace("\x00", "%") + "".join(pieces))
    flags = [w.text for w in args[:1] if re.fullmatch(r"-[neE]+", w.text)]
    words = [w.text for w in args[len(flags) :]]
    return _unescape(" ".join(words)) + ("" if flags and "n" in flags[0] else "\n")


def source_content(ctx: Context, w: Word, remote: bool = False) -> Content:
    """What copying, moving or linking ``w`` puts in place: nothing, junk from a device, a download, a file."""
    if REMOTE.match(w.text) and (remote or "://" in w.text):
        return Content("download", w.text)
    if w.dynamic:
        return UNKNOWN
    path = ctx.paths(w)[0]
    if path == "/dev/null":
        return EMPTY
    if path and (path in JUNK_DEVICES or is_raw_device(path)):
        return Content("junk", path)
    return Content("file", w.text)


def stdin_content(ctx: Context, cmd: Command) -> Content:
    """What a command reads on stdin: a here-document, a redirected file, or what the pipeline feeds it."""
    for r in cmd.redirects:
        if r.heredoc is not None:
            return Content("text", r.heredoc.rsplit("\n", 1)[0] + "\n" if "\n" in r.heredoc else "")
        if r.op == "<<<" and r.target is not None:
            return UNKNOWN if r.target.dynamic else Content("text", r.target.text + "\n")
        if r.op == "<" and r.target is not None:
            return source_content(ctx, r.target)
    if any(c.words and base(c.words[0].text) in DOWNLOADERS for c in cmd.upstream):
        return Content("download", "the network")
    if cmd.piped_in and cmd.upstream:
        return output_of(ctx, cmd.upstream[-1])
    return UNKNOWN


def output_of(ctx: Context, cmd: Command) -> Content:
    """What a command prints: literal text, nothing, a device's junk, a download, a file, or unknown output."""
    inv = unwrap(cmd.words)
    name = inv.name
    if not inv.words or name in (":", "true", "false"):
        return EMPTY
    if name in ("echo", "printf"):
        text = printed(cmd)
        return UNKNOWN if text is None else Content("text", text)
    if name in DOWNLOADERS:
        return Content("download", "the network")
    if name == "cat":
        files = [w for w in inv.args if not w.text.startswith("-") or w.text == "-"]
        if not files or [w.text for w in files] == ["-"]:
            return stdin_content(ctx, cmd)
        kinds = [c for c in (source_content(ctx, w) for w in files) if c.kind != "empty"]
        worst = next((c for c in kinds if c.kind in ("junk", "download")), None)
        return worst or (kinds[0] if len(kinds) == 1 else UNKNOWN if kinds else EMPTY)  # parts joined: unseen
    return UNKNOWN


def redirected(ctx: Context, target: Word, op: str) -> Content:
    """What a redirection puts in ``target``; 'grep -v x /etc/fstab > /etc/fstab' leaves it empty, as the shell
    truncates the file before the command reads it."""
    if op != ">>" and any(p and p in ctx.paths(w) for p in ctx.paths(target) for w in ctx.inv.args):
        return EMPTY
    return output_of(ctx, ctx.cmd)


CRON_SCHEDULE = re.compile(r"^\s*(@\w+|(\S+\s+){5})(root\s+)?")


def _planted_program(line: str, cron: bool) -> str | None:
    """The program a line run later starts (after a system crontab's user name, and through a shell it is
    handed to: 'root /bin/sh /tmp/x'), when any local user could have put it there."""
    words = [w for w in line.split() if not w.startswith("-")]
    start = 1 if cron and words[1:] and "/" not in words[0] and "/" in words[1] else 0
    run = words[start : start + 2] if words[start:] and base(words[start]) in SHELLS else words[start : start + 1]
    return next((w for w in run if (path := normalize(w)) and anyone_can_plant(path)), None)


def planted(ctx: Context, text: str, cron: bool) -> list[Finding]:
    """Text that cron or a shell will run later, checked now as the commands it is; a program in a
    world-writable place or a hidden file is whatever someone put there."""
    out: list[Finding] = []
    for line in text.splitlines():
        command = CRON_SCHEDULE.sub("", line, count=1) if cron else line
        if program := _planted_program(command, cron):
            out.append(block(f"installs a job that runs {program}, which anyone could have put there", "critical"))
        found = ctx.state.nested_lenient(command)
        out += [block(f"installs a command that runs later: {f.reason}", f.risk) for f in found if f.level == "block"]
    return out or [confirm("adds a command that runs at login or on a schedule")]


def _run_later(ctx: Context, path: str, mode: str, content: Content, what: str) -> list[Finding]:
    """A file that cron or a shell runs later: what is put there must be seen to be judged, so unseen or
    downloaded content blocks like 'curl | sh', and literal text is judged as the commands it is. Emptying a
    user's startup file loses their own setup (a cron file emptied only drops its jobs)."""
    cron = "cron" in path
    if content.kind == "download":
        return [block(f"{what} puts code downloaded from {content.text} into {path}, which runs it later", "critical")]
    if content.kind == "unknown":
        return [block(f"{what} puts output that cannot be checked into {path}, which runs it later")]
    if content.kind == "text" or (content.kind == "edit" and content.text):
        return planted(ctx, content.text, cron)
    if content.kind == "junk":
        return [block(f"{what} fills {path}, which runs later, with junk from {content.text}")]
    if content.kind == "empty" and mode != "append" and is_startup_file(path):
        return [block(f"{what} empties {path}: the shell setup it holds (PATH, aliases, agents) is lost, with no copy")]
    return [confirm(f"{what} changes {path}, which runs at login or on a schedule", "high")]


def _needed(path: str, mode: str, content: Content, what: str) -> list[Finding]:
    """A file the machine needs: leaving it empty, junk or not in its own format breaks the next boot, mount,
    name lookup or login as surely as deleting it; edits, appends and copies of real files stay confirmed."""
    fmt = needed_format(path)
    if content.kind == "empty" and mode != "append":
        return [block(f"{what} empties {path}, which the machine needs to boot, mount, resolve or log in")]
    if content.kind == "junk":
        return [block(f"{what} fills {path} with junk from {content.text}: the machine needs it")]
    if content.kind == "download":
        return [block(f"{what} replaces {path}, which the machine needs, with a download nobody reviewed")]
    if content.kind == "text" and fmt is not None:
        lines = [ln.strip() for ln in content.text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        bad = next((ln for ln in lines if not fmt.fullmatch(ln)), None)
        if bad is not None or (not lines and mode != "append"):
            return [block(f"{what} writes {bad or 'nothing'!r} into {path}, which is not a line of that file")]
    return []


def write_target(ctx: Context, w: Word, mode: str, content: Content, what: str) -> list[Finding]:
    """A file about to be written (``mode``: overwrite, append, replace or edit) with ``content``."""
    out: list[Finding] = []
    for path in ctx.paths(w):
        if path is None:
            continue
        if path.startswith(("/dev/tcp/", "/dev/udp/")):
            out.append(block(f"{what} opens a network connection through {path}: a reverse-shell pattern", "critical"))
        elif is_raw_device(path):
            out.append(block(f"{what} writes raw data onto the device {path}, destroying what is on it", "critical"))
        elif path.startswith(APT_SOURCES) and authenticated_source(content):
            out.append(confirm(f"adds a package source to {path} that apt verifies (signed-by or the distribution's)"))
        elif is_write_critical(path):
            out.append(block(f"{what} rewrites {path}, which controls accounts, sudo, package trust or boot"))
        elif content.kind == "empty" and (lost := masked_unit(path)):
            out.append(block(f"{what} masks {path} with /dev/null, which takes away {lost}", "critical"))
        elif content.kind in ("text", "edit") and (given := weakened(path, content.text)):
            out.append(block(f"{what} sets {path} to allow {given}"))
        elif runs_later(path):
            out += _run_later(ctx, path, mode, content, what)
        elif mode == "overwrite" and is_system_file(path) and not path.startswith(("/proc/", "/dev/", "/sys/")):
            out.append(block(f"{what} overwrites the operating-system file {path}"))
        elif needed_format(path) is not None or is_remove_critical(path):
            out += _needed(path, mode, content, what)
        elif path == "/dev/null" and what.startswith("mv"):
            out.append(block("moving a file onto /dev/null replaces the null device"))
    _remember(ctx, w, mode, content)
    return out


def _remember(ctx: Context, w: Word, mode: str, content: Content) -> None:
    """Keep what the file holds now, for a script run later in the same line."""
    key, written = ctx.key(w.text), ctx.state.written
    before = written.get(key, "") if mode == "append" else ""
    source = ctx.key(content.text) if content.kind == "file" else ""
    if source in written:  # a copy holds what its source holds: known when the line wrote it
        written[key] = written[source]
    elif content.kind == "file":  # else it is the user's own file, as before the line
        written.pop(key, None)
    elif content.kind == "edit" and key in written:
        written[key] = None
    elif content.kind in ("text", "empty"):
        written[key] = None if before is None else before + content.text
    elif content.kind != "edit":
        written[key] = None


APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d/")
DISTRIBUTION_HOSTS = re.compile(r"^https?://([\w.-]+\.)?(debian\.org|ubuntu\.com)(/|$)")


def authenticated_source(content: Content) -> bool:
    """Apt sources that apt verifies: each line names its own key (signed-by=) or is the distribution's archive."""
    lines = [ln.strip() for ln in content.text.splitlines()] if content.kind == "text" else []
    lines = [ln for ln in lines if ln.startswith(("deb ", "deb-src "))]

    def verified(line: str) -> bool:
        url = next((t for t in line.split() if "://" in t), "")
        return "signed-by=" in line or bool(DISTRIBUTION_HOSTS.match(url))

    return bool(lines) and all(verified(ln) for ln in lines)


def copies(ctx: Context, sources: list[Word], dest: Word, what: str, remote: bool = False) -> list[Finding]:
    """Each source copied, moved or linked onto ``dest``, or into it as ``dest/NAME`` when it is a directory."""
    out: list[Finding] = []
    for src in sources:
        content = source_content(ctx, src, remote)
        name = src.text.rstrip("/").rsplit("/", 1)[-1]
        same = name == dest.text.rstrip("/").rsplit("/", 1)[-1]  # 'cp a/.bashrc ~/.bashrc' names the file
        inside = [word(dest.text.rstrip("/") + "/" + name)] if name and not (dest.dynamic or same) else []
        landing = dest if src.text.endswith("/") or not inside else inside[0]  # 'rsync -a host:/etc/ /etc/'
        if content.kind == "download" and any(p and is_system_tree(p) for p in ctx.paths(landing)):
            out.append(block(f"{what} lays files from {content.text} over {landing.text}, a whole system tree"))
        for target in [dest, *inside]:
            out += write_target(ctx, target, "replace", content, what)
    return out
