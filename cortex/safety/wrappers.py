"""Peel off commands that only run another command: sudo, env, nohup, timeout, xargs, su -c...

``sudo rm -rf /`` must be judged as ``rm -rf /``. :func:`unwrap` returns the
command that really runs, whether it runs as root, and the strings that a
wrapper hands to a shell (``su -c STRING``, ``watch STRING``), which the
validator parses and checks in turn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cortex.safety.shell import Word


def names(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string."""
    return frozenset(text.split())


# wrapper -> (options that take a value, number of positional arguments before the command)
WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "sudo": (names("-u -g -C -D -h -p -r -t -T -U"), 0),
    "doas": (names("-u -C"), 0),
    "pkexec": (frozenset({"--user"}), 0),
    "env": (names("-u --unset -C --chdir"), 0),
    "nohup": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "time": (frozenset({"-o", "-f"}), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "--class", "--classdata"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "chrt": (frozenset(), 1),
    "taskset": (frozenset(), 1),
    "chroot": (frozenset({"--userspec", "--groups"}), 1),
    "unbuffer": (frozenset(), 0),
    "torsocks": (frozenset(), 0),
    "proxychains": (frozenset({"-f"}), 0),
    "proxychains4": (frozenset({"-f"}), 0),
    "catchsegv": (frozenset(), 0),
    "busybox": (frozenset(), 0),
    "toybox": (frozenset(), 0),
    "run0": (names("-u --user -g --group -D --chdir --setenv --property --unit --description"), 0),
    "strace": (
        names(
            "-o -p -e -s -a -b -I -O -S -u -E -P -X --output --attach --trace --string-limit --columns --user --env"
            " --trace-path --signal --status --detach-on --summary-sort-by --const-print-style --decode-fds"
        ),
        0,
    ),
    "ltrace": (names("-o -p -e -s -a -n -u --output --indent --align"), 0),
    "systemd-run": (names("-u --unit -p --property -E --setenv --uid --gid -M -H --slice --description"), 0),
    "runuser": (names("-u -g -G -s --user --group --shell"), 0),
    "flock": (names("-w -E --timeout --conflict-exit-code"), 1),
    "faketime": (frozenset({"-f"}), 1),
    "firejail": (frozenset(), 0),
    "sg": (frozenset(), 1),
    "xargs": (names("-I -n -P -L -s -d -E -a --delimiter --max-args --max-procs --arg-file"), 0),
}
ROOT_WRAPPERS = frozenset({"sudo", "doas", "pkexec", "su", "runuser", "run0"})
# wrapper -> option whose value is a command string run by a shell
STRING_OPTIONS = {
    "su": ("-c", "--command"),
    "runuser": ("-c", "--command"),
    "flock": ("-c", "--command"),
    "script": ("-c", "--command"),
    "sg": ("-c",),
    "env": ("-S", "--split-string"),
}
INIT_SCRIPTS = "/etc/init.d/"
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "rbash", "yash", "pdksh"})


def base(name: str) -> str:
    """The program name as PATH lookup would find it: '/usr/bin/sudo' -> 'sudo'."""
    return os.path.basename(name) if "/" in name else name


@dataclass
class Invocation:
    """The command that really runs once wrappers are peeled off."""

    words: list[Word]
    as_root: bool = False
    args_from_stdin: bool = False  # xargs appends words read from stdin
    wrappers: list[str] = field(default_factory=list)
    strings: list[Word] = field(default_factory=list)  # command strings a wrapper runs through a shell
    interactive_shell: bool = False  # 'sudo -i', 'su -', 'chroot DIR': a shell reading stdin

    @property
    def name(self) -> str:
        return base(self.words[0].text) if self.words else ""

    @property
    def args(self) -> list[Word]:
        return self.words[1:]


def _split_option(text: str) -> tuple[str, str | None]:
    if text.startswith("--") and "=" in text:
        opt, _, value = text.partition("=")
        return opt, value
    return text, None


def _skip_options(words: list[Word], with_value: frozenset[str], inv: Invocation, wrapper: str) -> list[Word]:
    """Drop a wrapper's options (and their values); collect shell strings; return what follows."""
    i = 0
    string_opts = STRING_OPTIONS.get(wrapper, ())
    while i < len(words):
        text = words[i].text
        if text == "--":
            return words[i + 1 :]
        if wrapper in ("env", "sudo") and "=" in text and not text.startswith("-"):
            i += 1  # VAR=value
            continue
        if not text.startswith("-") or text == "-":
            return words[i:]
        opt, value = _split_option(text)
        if opt in string_opts:
            if value is not None:
                inv.strings.append(Word(value, [value], value))
            elif i + 1 < len(words):
                inv.strings.append(words[i + 1])
                i += 1
        elif opt in with_value and value is None:
            i += 1
        elif wrapper in ("sudo", "doas", "run0") and opt in ("-s", "-i", "--shell", "--login"):
            inv.interactive_shell = True
        elif not opt.startswith("--") and len(opt) > 2:  # a cluster like -iu root or -Es
            for k, letter in enumerate(opt[1:], 1):
                if wrapper in ("sudo", "doas") and letter in "si":
                    inv.interactive_shell = True
                if f"-{letter}" in string_opts or f"-{letter}" in with_value:
                    attached = opt[k + 1 :]
                    if not attached and i + 1 < len(words):
                        i += 1
                        attached = words[i].text
                    if f"-{letter}" in string_opts:
                        inv.strings.append(Word(attached, [attached], attached))
                    break
        i += 1
    return []


def _su(words: list[Word], inv: Invocation) -> list[Word]:
    rest = _skip_options(words, frozenset({"-s", "--shell", "-g", "-G", "-w"}), inv, "su")
    # su [user] [-c cmd]: options may follow the user
    tail = rest[1:] if rest else []
    for j, w in enumerate(tail):
        opt, value = _split_option(w.text)
        if opt in ("-c", "--command"):
            inv.strings.append(
                Word(value, [value], value) if value is not None else tail[j + 1] if j + 1 < len(tail) else w
            )
    if not inv.strings:
        inv.interactive_shell = True
    return []


def unwrap(words: list[Word], depth: int = 0) -> Invocation:
    """Peel wrappers off ``words`` until the real command is first."""
    inv = Invocation(list(words))
    while inv.words and depth < 16:
        script = inv.words[0].text
        if script.startswith(INIT_SCRIPTS):  # '/etc/init.d/ssh stop' is 'service ssh stop'
            unit = script[len(INIT_SCRIPTS) :]
            inv.words = [Word("service", ["service"], "service"), Word(unit, [unit], unit), *inv.words[1:]]
            break
        depth += 1
        name = base(inv.words[0].text)
        rest = inv.words[1:]
        if name in ROOT_WRAPPERS:
            inv.as_root = True
        if name == "su":
            inv.wrappers.append(name)
            inv.words = _su(rest, inv)
            break
        if name == "watch":
            inv.wrappers.append(name)
            args = _skip_options(rest, frozenset({"-n", "--interval"}), inv, name)  # -d[=permanent]: no value apart
            if args:
                joined = " ".join(w.raw for w in args)
                inv.strings.append(Word(joined, [joined], joined))
            inv.words = []
            break
        if name == "ssh":
            inv.wrappers.append(name)
            args = _skip_options(rest, names("-p -i -l -o -F -J -L -R -D -b -c -E -e -m -O -S -W -w -B -I"), inv, name)
            if len(args) > 1:
                joined = " ".join(w.raw for w in args[1:])
                inv.strings.append(Word(joined, [joined], joined))
            inv.words = []
            break
        if name == "script":
            inv.wrappers.append(name)
            _skip_options(rest, frozenset({"-t", "-T", "-I", "-O", "-B", "-E"}), inv, name)
            inv.words = []
            break
        if name == "command" and rest and rest[0].text in ("-v", "-V"):
            inv.words = []  # 'command -v x' only asks where x is
            break
        spec = WRAPPERS.get(name)
        if spec is None:
            break
        if name in ("busybox", "toybox") and rest and rest[0].text.startswith("-"):
            break
        inv.wrappers.append(name)
        with_value, positionals = spec
        rest = _skip_options(rest, with_value, inv, name)
        if name in ("chrt", "taskset") and rest and rest[0].text.startswith("-"):
            rest = rest[1:]
        rest = rest[positionals:]
        if name == "flock" and rest and rest[0].text in ("-c", "--command"):
            inv.strings.append(rest[1] if len(rest) > 1 else rest[0])
            rest = []
        if name == "xargs":
            inv.args_from_stdin = True
            if not rest:
                rest = [Word("echo", ["echo"], "echo")]
        if name == "chroot" and not rest:
            inv.interactive_shell = True
        if name in ("sudo", "doas") and inv.interactive_shell and rest:
            inv.interactive_shell = False  # 'sudo -s CMD' runs CMD
        if name in ("flock", "sg") and inv.strings:
            rest = []
        inv.words = rest
    return inv
