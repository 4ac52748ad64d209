"""Parse a shell command with bashlex into every simple command it would run.

The walk flattens lists, pipelines, subshells, loops, functions, and command and
process substitutions into :class:`Command` records that keep what the rules
need: the words (quotes removed, known variables filled in, braces expanded),
redirections, here-documents, the pipeline neighbours, and the directory a
preceding ``cd`` moved to. Structural dangers that no single command shows
(fork bombs, endless loops that spawn) are reported as findings here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cortex.safety.protected import HOME, normalize
from cortex.safety.verdict import Finding

if TYPE_CHECKING:
    import bashlex.ast

UNKNOWN = "*"  # stands for text only known at run time: a glob that may match anything
KNOWN_VARS = {"HOME": HOME, "TMPDIR": "/tmp", "PWD": ".", "USER": "~user"}
PARAM = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])\}?")
SUBST = re.compile(r"\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`|[<>]\((?:[^()]|\([^()]*\))*\)")


class ParseFailure(ValueError):
    """The command is not valid shell, or uses a construct the parser does not know."""


@dataclass
class Word:
    """One shell word as the rules see it."""

    text: str  # quotes removed, known variables filled in, run-time parts as '*'
    alts: list[str]  # every text it may take: brace expansion, loop values
    raw: str  # the word with quotes removed, before any substitution
    substituted: bool = False  # holds $(...) or `...`
    process: bool = False  # holds <(...) or >(...)
    unknown: bool = False  # holds a variable whose value is unknown here
    whole_dynamic: bool = False  # the whole word is computed at run time
    ifs: bool = False  # uses $IFS to hide spaces

    @property
    def dynamic(self) -> bool:
        return self.substituted or self.process or self.unknown


@dataclass
class Redirect:
    op: str  # '>', '>>', '<', '<<', '<<<', '>&', '<&', '&>', '<>'
    target: Word | None  # None when the target is a file descriptor number
    fd: int | None = None  # the descriptor redirected ('2' in 2>&1), when given
    heredoc: str | None = None

    @property
    def writes(self) -> bool:
        return self.op in (">", ">>", ">|", "&>", "&>>", "<>", ">&") and self.target is not None

    @property
    def feeds_stdin(self) -> bool:
        return self.op in ("<", "<<", "<<<", "<<-", "<&") and (self.fd in (None, 0))


@dataclass
class Command:
    """A simple command with its surroundings."""

    words: list[Word]
    redirects: list[Redirect] = field(default_factory=list)
    upstream: list[Command] = field(default_factory=list)  # earlier stages of its pipeline
    downstream: list[Command] = field(default_factory=list)  # later stages
    piped_in: bool = False  # its stdin is a pipe from another command
    cwd: str | None = None  # directory set by an earlier 'cd' in the same command line
    context: str = "top"  # top | substitution | function:<name>

    @property
    def argv(self) -> list[str]:
        return [w.text for w in self.words]


@dataclass
class Script:
    commands: list[Command] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    functions: dict[str, str] = field(default_factory=dict)  # name -> body source


def _brace_expand(text: str) -> list[str]:
    m = re.search(r"\{([^{}]*,[^{}]*)\}", text)
    if not m:
        return [text]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out += _brace_expand(text[: m.start()] + alt + text[m.end() :])
    return out[:64]


class Walker:
    """Walks bashlex nodes in order, keeping the state a command line builds up (variables, cwd)."""

    def __init__(self, source: str):
        self.source = source
        self.script = Script()
        self.vars: dict[str, list[str]] = {k: [v] for k, v in KNOWN_VARS.items()}
        self.cwd: str | None = None
        self.context = "top"

    # words -----------------------------------------------------------------
    def word(self, node: bashlex.ast.node) -> Word:
        raw = node.word
        kinds = {p.kind for p in getattr(node, "parts", [])}
        for part in getattr(node, "parts", []):
            if part.kind in ("commandsubstitution", "processsubstitution"):
                self.walk(part.command, context="substitution")
        params = [p.value for p in getattr(node, "parts", []) if p.kind == "parameter"]
        text = SUBST.sub(UNKNOWN, raw) if kinds & {"commandsubstitution", "processsubstitution"} else raw
        unknown = False
        alts = [text]
        if "parameter" in kinds:
            alts, unknown = self._fill_params(text)
        expanded = [e for a in alts for e in _brace_expand(a)]
        stripped = SUBST.sub("", PARAM.sub("", raw)).strip()
        return Word(
            text=expanded[0],
            alts=expanded,
            raw=raw,
            substituted="commandsubstitution" in kinds,
            process="processsubstitution" in kinds,
            unknown=unknown,
            whole_dynamic=bool(kinds & {"commandsubstitution", "processsubstitution"} or unknown) and not stripped,
            ifs="IFS" in params,
        )

    def _fill_params(self, text: str) -> tuple[list[str], bool]:
        unknown = False
        results = [text]
        for m in PARAM.finditer(text):
            name = m.group(1)
            values = self.vars.get(name)
            if values is None:
                unknown = True
                values = [UNKNOWN]
            results = [r.replace(m.group(0), v, 1) for r in results for v in values][:64]
        return results, unknown

    # nodes -----------------------------------------------------------------
    def walk(self, node: bashlex.ast.node, context: str | None = None, piped_in: bool = False) -> list[Command]:
        saved = self.context
        if context:
            self.context = context
        try:
            return self._walk(node, piped_in)
        finally:
            self.context = saved

    def _walk(self, node: bashlex.ast.node, piped_in: bool) -> list[Command]:
        kind = node.kind
        if kind == "command":
            return [self.command(node, piped_in)]
        if kind == "pipeline":
            return self.pipeline(node)
        if kind == "list":
            return self.sequence(node.parts, piped_in)
        if kind == "compound":
            out = self.sequence(node.list, piped_in)
            redirects = [self.redirect(r) for r in getattr(node, "redirects", [])]
            for c in out:
                c.redirects += redirects
            return out
        if kind == "function":
            return self.function(node)
        if kind in ("if", "for", "while", "until"):
            return self.loop(node, piped_in)
        if kind in ("reservedword", "operator", "pipe"):
            return []
        raise ParseFailure(f"unsupported shell construct: {kind}")

    def sequence(self, parts: list[bashlex.ast.node], piped_in: bool) -> list[Command]:
        out: list[Command] = []
        for part in parts:
            out += self._walk(part, piped_in)
        return out

    def redirect(self, node: bashlex.ast.node) -> Redirect:
        target = node.output
        heredoc = node.heredoc.value if getattr(node, "heredoc", None) is not None else None
        fd = node.input if isinstance(getattr(node, "input", None), int) else None
        if isinstance(target, int) or target is None:
            return Redirect(node.type, None, fd)
        return Redirect(node.type, self.word(target), fd, heredoc)

    def command(self, node: bashlex.ast.node, piped_in: bool) -> Command:
        words: list[Word] = []
        redirects: list[Redirect] = []
        assignments: list[tuple[str, Word]] = []
        for part in node.parts:
            if part.kind == "word":
                words.append(self.word(part))
            elif part.kind == "assignment":
                name, _, _ = part.word.partition("=")
                w = self.word(part)
                w.text, w.alts = w.text.split("=", 1)[1], [a.split("=", 1)[1] for a in w.alts]
                assignments.append((name, w))
            elif part.kind == "redirect":
                redirects.append(self.redirect(part))
        if not words:  # x=1 on its own sets a shell variable for what follows
            for name, w in assignments:
                self.vars[name] = w.alts if not w.dynamic else [UNKNOWN]
        elif words[0].text in ("export", "declare", "typeset", "local", "readonly"):
            for w in words[1:]:
                if "=" in w.text and not w.text.startswith("-"):
                    name = w.text.split("=", 1)[0]
                    self.vars[name] = [a.split("=", 1)[1] for a in w.alts] if not w.dynamic else [UNKNOWN]
        cmd = Command(words, redirects, piped_in=piped_in, cwd=self.cwd, context=self.context)
        self._track_cwd(cmd)
        self.script.commands.append(cmd)
        return cmd

    def _track_cwd(self, cmd: Command) -> None:
        if not cmd.words or cmd.words[0].text not in ("cd", "pushd", "chdir"):
            return
        args = [w for w in cmd.words[1:] if not w.text.startswith("-") or w.text == "-"]
        if not args:
            self.cwd = HOME
        elif args[0].dynamic or args[0].text == "-":
            self.cwd = None
        else:
            self.cwd = normalize(args[0].text, self.cwd)

    def pipeline(self, node: bashlex.ast.node) -> list[Command]:
        stages = [p for p in node.parts if p.kind not in ("pipe", "reservedword")]
        groups = [self._walk(stage, piped_in=i > 0) for i, stage in enumerate(stages)]
        for i, group in enumerate(groups):
            up = [c for g in groups[:i] for c in g]
            down = [c for g in groups[i + 1 :] for c in g]
            for c in group:
                c.upstream, c.downstream = up, down
        return [c for g in groups for c in g]

    def function(self, node: bashlex.ast.node) -> list[Command]:
        name = node.name.word
        body = node.body
        self.script.functions[name] = self.source[body.pos[0] : body.pos[1]]
        inner = self.walk(body, context=f"function:{name}")
        if any(c.words and c.words[0].text == name for c in inner):
            backgrounded = "&" in self.script.functions[name] or "|" in self.script.functions[name]
            why = "a fork bomb" if backgrounded else "endless recursion"
            self.script.findings.append(Finding("block", "critical", f"function {name!r} calls itself: {why}"))
        return inner

    def loop(self, node: bashlex.ast.node, piped_in: bool) -> list[Command]:
        parts = node.parts
        if node.kind == "for":
            names = [p for p in parts if p.kind == "word"]
            if names:
                values = [a for w in names[1:] for a in self.word(w).alts]
                self.vars[names[0].word] = values or [UNKNOWN]
        out: list[Command] = []
        for part in parts:
            if part.kind not in ("word", "reservedword"):
                out += self._walk(part, piped_in)
        if node.kind in ("while", "until"):
            cond = parts[1] if len(parts) > 1 else None
            cond_text = self.source[cond.pos[0] : cond.pos[1]].strip(" ;\n") if cond is not None else ""
            endless = cond_text in (("true", ":", "[ 1 ]") if node.kind == "while" else ("false",))
            body = self.source[node.pos[0] : node.pos[1]]
            if endless and re.search(r"&(?![&>])", body.split(" do", 1)[-1]):
                self.script.findings.append(
                    Finding("block", "critical", "an endless loop that starts background processes: a fork bomb")
                )
        return out


_QUOTED_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)\\?(\w+)\2")  # <<'EOF', <<"EOF", <<\EOF: the body is not expanded
_C_FOR = re.compile(r"\bfor\s*\(\(([^`$]*?)\)\)")
_DBL_BRACKET = re.compile(r"\[\[\s(.*?)\s\]\]")
_TIME = re.compile(r"(^|[;&|(]\s*|\n\s*)time(\s+-p)?\s+")
_ARRAY = re.compile(r"\b[A-Za-z_]\w*\+?=\(([^()]*)\)")
_CASE = re.compile(r"\bcase\s+(\S+)\s+in\b")
_CASE_PATTERN = re.compile(r"(\{ : \S+;|;;&?|;&)\s*\(?[^()\s;]+(?:\s*\|\s*[^()\s;]+)*\)")


def _test(m: re.Match[str]) -> str:
    inner = m.group(1).replace("&&", "-a").replace("||", "-o").replace("=~", "=")
    return "[ " + re.sub(r"(?<![\\<>&])([<>])", r"\\\1", inner) + " ]"


def _balanced(source: str, start: int) -> int | None:
    """The index just past the ')' closing the '(' at ``start``, or None when it is never closed."""
    depth = 0
    for k in range(start, len(source)):
        depth += {"(": 1, ")": -1}.get(source[k], 0)
        if depth == 0:
            return k + 1
    return None


ARITH_OPEN = re.compile(r"\$\(\(|\$\[")
ARITH_CLOSE = {"$((": "))", "$[": "]"}


def _arithmetic(source: str) -> str:
    """``$(( expr ))`` (or the old ``$[ expr ]``) becomes ``0`` followed by the substitutions inside it, which
    run and are checked: ``$(( $(date +%s) - 1 ))`` -> ``0$(date +%s)``."""
    out: list[str] = []
    i = 0
    while m := ARITH_OPEN.search(source, i):
        j, closer = m.start(), ARITH_CLOSE[m.group()]
        subs: list[str] = []
        k, depth, end = m.end(), 0, None
        while k < len(source) and end is None:
            if source.startswith("$(", k) and (close := _balanced(source, k + 1)) is not None:
                subs.append(_arithmetic(source[k:close]))
                k = close
                continue
            if source[k] == "`" and (close := source.find("`", k + 1)) > 0:
                subs.append(source[k : close + 1])
                k = close + 1
                continue
            if source.startswith(closer, k) and depth == 0:
                end = k + len(closer)
            depth += {"(": 1, ")": -1}.get(source[k], 0)
            k += 1
        if end is None:
            break  # unbalanced: left for the parser to refuse
        out += [source[i:j], "0", *subs]
        i = end
    return "".join(out) + source[i:]


def _simplify(source: str) -> str:
    """Rewrite constructs bashlex cannot parse into ones it can, keeping every command and substitution:
    $((arithmetic)), quoted here-document words, for ((;;)), [[ tests ]], 'time', arrays, case and select."""
    source = _arithmetic(source)
    source = _QUOTED_HEREDOC.sub(r"<<\1\3", source)
    source = _C_FOR.sub("for _ in 0", source)
    source = _DBL_BRACKET.sub(_test, source)
    source = _ARRAY.sub(r": \1", source)
    source = _CASE.sub(r"{ : \1;", source)
    source = _CASE_PATTERN.sub(r"\1 ", source)
    source = re.sub(r";;&?|;&", ";", source)
    source = re.sub(r"\besac\b", "}", source)
    source = re.sub(r"(^|[;&|]\s*)select\b", r"\1for", source)
    return _TIME.sub(r"\1", source)


def parse(source: str) -> Script:
    """Every simple command ``source`` would run, or ParseFailure saying why it cannot be read."""
    from cortex.safety.bashlex_tables import load

    bashlex = load()  # with its parse tables kept as data: 0.2 s less than bashlex's own import (its errors too)

    if "\x00" in source:
        raise ParseFailure("the command holds a NUL byte")
    if not source.strip():
        raise ParseFailure("the command is empty")
    last: Exception | None = None
    for text in (source, _simplify(source)):
        try:
            nodes = bashlex.parse(text)
        except (bashlex.errors.ParsingError, NotImplementedError, AttributeError, IndexError, TypeError) as e:
            last = e
            continue
        walker = Walker(text)
        for node in nodes:
            walker.walk(node)
        return walker.script
    message = getattr(last, "message", None) or str(last) or type(last).__name__
    raise ParseFailure(f"the shell parser cannot read it ({message})")


def simple(argv: list[str]) -> Command:
    """An argv run without a shell (a plan's step): one simple command whose words are taken literally,
    with nothing to expand or substitute."""
    return Command([Word(a, [a], a) for a in argv])
