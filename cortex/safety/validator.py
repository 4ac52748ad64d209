"""``validate(command) -> Verdict``: parse, unwrap, apply the rules, take the strictest finding.

A command string is parsed with a real shell parser (:mod:`cortex.safety.shell`),
every simple command it would run (including those inside substitutions,
functions and loops) is unwrapped (:mod:`cortex.safety.wrappers`) and judged by
the rule for its program (:mod:`cortex.safety.rules`). Strings that reach a
shell again (``sh -c``, ``su -c``, ``eval``, ``find -exec``) are validated the
same way, recursively. What cannot be parsed is blocked.
"""

from __future__ import annotations

import dataclasses
import re
import shlex

from cortex.safety.confusables import foreign_script, lookalike
from cortex.safety.rules import (  # noqa: F401  (register rules)
    READ_ONLY,
    RULES,
    Context,
    State,
    block,
    canonical,
    code,
    confirm,
    databases,
    disks,
    files,
    firewall,
    interfaces,
    network,
    packages,
    system,
    writes,
)
from cortex.safety.shell import PARAM, Command, ParseFailure, Word, parse, simple
from cortex.safety.verdict import Finding, Verdict
from cortex.safety.wrappers import base, unwrap

SEARCHERS = frozenset({"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "locate", "man", "apropos", "whatis"})
MAX_DEPTH = 6
# bash's reserved words: a command starting with one is left to the parser.
RESERVED = frozenset(
    {"if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do", "done", "in",
     "function", "time", "coproc"}
)  # fmt: skip
PLAIN = re.compile(r" *[A-Za-z0-9._/:,+@-]+( +[A-Za-z0-9._/:,+@-]+)* *")  # no quotes, operators, $, globs, ~, =
MAX_LENGTH = 100_000
ONE_PARAM = re.compile(r"\$\{?(\w+|[@*#?$!-])(:?[-=?+][^}]*)?\}?")  # $X, ${X}, ${X:-default}
# Variables that name the user's own choice of program ('$EDITOR file' is how a person opens an editor), and the
# program judged in its place: '$SHELL -c CMD' is checked as 'sh -c CMD'.
PREFERENCE_VARS = {"EDITOR": "vi", "VISUAL": "vi", "SUDO_EDITOR": "vi", "PAGER": "less", "MANPAGER": "less"}
PREFERENCE_VARS |= {"SHELL": "sh", "BROWSER": "xdg-open", "TERMINAL": "x-terminal-emulator"}
UNSIGNED_SOURCE = re.compile(
    r"trusted=yes|allow-insecure=yes|allow-weak=yes|allow-downgrade-to-insecure=yes|AllowUnauthenticated\W*(true|1|yes)"
    r"|AllowInsecureRepositories\W*(true|1|yes)|AllowDowngradeToInsecureRepositories",
    re.I,
)


def validate(command: str | list[str]) -> Verdict:
    """Judge a shell command (a string) or an argv list (run without a shell, so its words are literal)
    before anything runs it."""
    text = command if isinstance(command, str) else shlex.join(command)
    if len(text) > MAX_LENGTH:
        return Verdict(text, "block", "high", [f"the command is longer than {MAX_LENGTH} characters"])
    # An argv, or text a shell reads as plain words, is one simple command: judged without bashlex.
    plain = PLAIN.fullmatch(text) and text.split()[0] not in RESERVED
    argv = list(command) if isinstance(command, list) else text.split() if plain else None
    return Verdict.from_findings(text, judge(text, argv if argv and "\x00" not in text else None))


def judge(text: str, argv: list[str] | None = None) -> list[Finding]:
    """Every command of the line (``argv``: one simple command, without a parse), then the line as a whole:
    a firewall flushed under a DROP default, a critical unit stopped and not started again."""
    state = State(check_text=_check_text, check_command=_check_command)
    findings = _check_command(simple(argv), state) if argv else _check_text(text, state, False)
    return findings + firewall.lockout(state) + system.lost_units(state)


UNPARSEABLE = "cannot be parsed, so it cannot be checked"


def _check_text(text: str, state: State, lenient: bool) -> list[Finding]:
    if state.depth > MAX_DEPTH:
        return [block(f"commands nested more than {MAX_DEPTH} levels deep")]
    try:
        script = parse(text)
    except (ParseFailure, RecursionError) as e:
        return [] if lenient else [block(f"{UNPARSEABLE}: {e}")]
    findings = list(script.findings)
    for cmd in script.commands:
        findings += _check_command(cmd, state)
    return findings


def _word_findings(words: list[Word]) -> list[Finding]:
    out: list[Finding] = []
    for w in words:
        if "/dev/tcp/" in w.text or "/dev/udp/" in w.text:
            out.append(block("opens a network connection through /dev/tcp: a reverse-shell pattern", "critical"))
        if UNSIGNED_SOURCE.search(w.text):
            out.append(block(f"trusts an unsigned package source ({w.text})", "critical"))
        if w.ifs:
            out.append(block("hides spaces with $IFS: an obfuscated command"))
    return out


def _redirect_findings(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for r in ctx.cmd.redirects:
        if r.target is None:
            continue
        if r.target.process:
            continue  # the substituted command is checked on its own
        if r.writes:
            mode = "append" if r.op in (">>", "&>>") else "overwrite"
            content = writes.redirected(ctx, r.target, r.op)
            out += writes.write_target(ctx, r.target, mode, content, f"the redirection {r.op}")
            out = out or [confirm(f"writes to {r.target.text}", "low")]
        elif r.op == "<" and any(p and p.startswith(("/dev/tcp/", "/dev/udp/")) for p in ctx.paths(r.target)):
            out.append(block("reads from a network connection through /dev/tcp: a reverse-shell pattern", "critical"))
    return [f for f in out if not (f.level == "confirm" and f.risk == "low" and f.reason.endswith("/dev/null"))]


def _variable(head: Word) -> str:
    """The variable a program name is wholly made of ('$EDITOR', '${PAGER:-less}', '"$@"'), or ''."""
    m = ONE_PARAM.fullmatch(head.raw)
    return m.group(1) if m else ""


def _named_by_variable(head: Word) -> bool:
    """The program's own name (not only its directory, as in '$JAVA_HOME/bin/java') comes from a variable;
    the user's preferences ('$EDITOR') and a caller's arguments ('exec "$@"') are not hiding anything."""
    var = _variable(head)
    declared = var in PREFERENCE_VARS or var[:1] in tuple("0123456789@*")
    return bool(PARAM.search(head.raw.rsplit("/", 1)[-1])) and not declared


def _hidden_program(w: Word) -> list[Finding]:
    """A program name that hides what runs: computed at run time, taken from a variable, or a look-alike."""
    if w.substituted or w.process:
        return [block("the command name is computed at run time, so it cannot be checked", "critical")]
    if imitated := lookalike(w.raw):
        return [block(f"the program name {w.raw} imitates {imitated} with non-Latin letters", "critical")]
    if script := foreign_script(w.raw):
        return [block(f"the program name {w.raw} mixes Latin and {script} letters: a look-alike", "critical")]
    if _named_by_variable(w):
        return [block(f"runs a program named by a variable ({w.raw}), which hides what runs")]
    if _variable(w) in PREFERENCE_VARS:
        return []
    if w.whole_dynamic or PARAM.search(w.raw.rsplit("/", 1)[-1]):
        return [confirm(f"runs the program the user chose in {w.raw}", "high")]
    return []


def _carried(cmd: Command, ctx: Context, words: list[Word], name: str, state: State) -> list[Finding]:
    """What an unknown program may run for its arguments: many programs run a command given after their own
    options (``unshare -r``, ``nsenter -t 1 -m``, ``valgrind``, ``fakeroot``, ``gdb --args``, an option's value
    the wrapper table does not know). The arguments from each program with a rule on, and a string after
    ``-c``, are judged as the command they would be; what blocks there blocks here."""
    for i, w in enumerate(words[1:], 1):
        if canonical(base(w.text)) in RULES:
            found = _check_command(dataclasses.replace(cmd, words=words[i:], redirects=[]), state)
        elif words[i - 1].text in ("-c", "--command") and " " in w.text:
            found = ctx.string_code(w, name)
        else:
            continue
        blocks = [f for f in found if f.level == "block"]
        if blocks:
            return [dataclasses.replace(f, reason=f"{name} may run it: {f.reason}") for f in blocks]
    return []


def _check_command(cmd: Command, state: State) -> list[Finding]:
    inv = unwrap(cmd.words)
    ctx = Context(cmd, inv, state)
    searched = inv.words[1:] if inv.name in SEARCHERS else []  # grep -r 'trusted=yes' /etc/apt only looks
    out = _word_findings([w for w in cmd.words if w not in searched] + [r.target for r in cmd.redirects if r.target])
    out += _redirect_findings(ctx)
    if not cmd.words:
        return out
    hidden = _hidden_program(cmd.words[0])
    if hidden:
        return out + hidden
    for s in inv.strings:
        out += ctx.string_code(s, f"{inv.wrappers[-1] if inv.wrappers else 'a wrapper'}")
    if inv.interactive_shell:
        out += code.shell(Context(cmd, inv, state)) if not inv.words else []
    if not inv.words:
        return out
    head = inv.words[0]
    hidden = _hidden_program(head)
    if hidden:
        return out + hidden
    if stand_in := PREFERENCE_VARS.get(_variable(head)):
        inv.words[0] = Word(stand_in, [stand_in], head.raw)
    name = canonical(inv.name)
    out += network.exfiltration(ctx) + network.shell_over_network(ctx)
    if ctx.key(head.text) in state.downloads:
        out.append(block(f"runs {head.text}, downloaded in the same command without review", "critical"))
    out += code.written_script(ctx, head, head.text) if "/" in head.text else []
    fn = RULES.get(name)
    if fn is not None:
        out += fn(ctx)
    elif name not in READ_ONLY and not cmd.context.startswith("function:"):
        out += _carried(cmd, ctx, inv.words, base(cmd.words[0].text), state)
        out.append(confirm(f"{name} may change the system (not known to be read-only)"))
    if inv.as_root and not any(f.level == "block" for f in out) and (fn is not None or name not in READ_ONLY):
        out.append(confirm("runs as root"))
    return out
