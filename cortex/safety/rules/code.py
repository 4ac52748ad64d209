"""Shells and interpreters: code handed over as a string, a pipe, a substitution or inline source.

Code that comes from a pipe, a command or process substitution, a variable or
a download cannot be checked, so it is blocked. Code given literally
(``bash -c '...'``, ``eval 'x'``, a here-document) is parsed and checked like
the outer command. Inline interpreter code (``python -c``, ``perl -e``) is
scanned for the APIs that delete, overwrite, spawn shells or open sockets, and
the shell commands and paths it names are checked in turn.
"""

from __future__ import annotations

import re

from cortex.safety.protected import is_raw_device, is_remove_critical, is_write_critical, normalize, protected_target
from cortex.safety.rules import Context, block, canonical, confirm, rule, word
from cortex.safety.rules.files import edits_in_place, mass_edit
from cortex.safety.rules.writes import EDIT, write_target
from cortex.safety.shell import Word
from cortex.safety.verdict import Finding
from cortex.safety.wrappers import SHELLS

STDIN_SCRIPTS = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")
# interpreter -> (letters of the option that takes inline code, options that take a value)
INTERPRETERS: dict[str, tuple[str, frozenset[str]]] = {
    "python": ("c", frozenset({"-W", "-X", "-Q"})),
    "perl": ("eE", frozenset({"-I", "-x", "-C"})),
    "ruby": ("e", frozenset({"-I", "-r", "-C", "-E", "-K", "-F"})),
    "node": ("ep", frozenset({"-r", "--require", "--import", "--input-type", "--eval", "--print"})),
    "nodejs": ("ep", frozenset({"-r", "--require", "--import", "--input-type"})),
    "php": ("r", frozenset({"-d", "-c", "-z"})),
    "lua": ("e", frozenset({"-l"})),
    "luajit": ("e", frozenset({"-l"})),
    "tclsh": ("", frozenset()),
    "wish": ("", frozenset()),
    "Rscript": ("e", frozenset()),
    "jshell": ("", frozenset()),
    "deno": ("", frozenset()),
    "bun": ("e", frozenset()),
    "osascript": ("e", frozenset()),
    "expect": ("c", frozenset()),
}
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "nc", "ncat", "netcat", "aria2c", "socat", "telnet", "ftp"})
AWKS = ("awk", "gawk", "mawk", "nawk", "busybox-awk")

EXEC_API = re.compile(
    r"os\.system|os\.popen|os\.exec|os\.spawn|subprocess|pty\.spawn|commands\.get|\bsystem\b|\bexec\b|popen|"
    r"\bspawn|child_process|execSync|shell_exec|passthru|proc_open|os\.execute|Open3|%x|\bqx|`"
)
SOCKET_API = re.compile(
    r"socket|Socket|fsockopen|TCPServer|net\.connect|net\.Socket|createConnection|['\"]net['\"]|/inet/|ztcp"
)
DELETE_API = re.compile(
    r"rmtree|os\.remove|os\.unlink|os\.rmdir|removedirs|\bunlink|\brmdir|rm_rf|rm_r\b|FileUtils\.rm|rmSync|"
    r"File\.delete|remove_tree|\.unlink\(|Remove-Item|fs\.rm|\bdelete\b"
)
WRITE_API = re.compile(
    r"open\s*\(|write_text|write_bytes|writeFile|appendFile|File\.write|File\.open|fopen|file_put_contents|\bprint\s+\w+"
)
REMOTE_CODE = re.compile(
    r"urlopen|urllib|requests\.|https?://|b64decode|base64|decode_?64|decode_base64|LWP|Net::HTTP|open-uri|fetch\(|"
    r"zlib|marshal\.loads|pickle\.loads|codecs\.decode|unhexlify|fromhex|rot13|decompress|Buffer\.from",
    re.I,
)
BARE_EXEC = re.compile(r"\b(?:exec|system|os\.execute|spawn)\b\s*\(?\s*([^'\"()\s;][^;\n]*)")
CODE_EVAL = re.compile(r"\b(exec|eval|Function|compile|instance_eval|load)\b\s*\(?")
SETUID_API = re.compile(r"chmod.*(0o?[2-7][0-7]{3}\b|S_ISUID|S_ISGID|u\+s|\+s\b)", re.S)
LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|`([^`]*)`|qx\{([^}]*)\}|%x\{([^}]*)\}")


def _literals(code: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in LITERAL.finditer(code)]


def code_findings(ctx: Context, lang: str, w: Word) -> list[Finding]:
    """Judge inline ``lang`` source: blocked for what it can do, confirmed when it touches the system."""
    if w.substituted or w.process:
        return [block(f"{lang} runs code produced at run time by a command substitution", "critical")]
    if w.whole_dynamic:
        return [block(f"{lang} runs code held in a variable, which cannot be checked")]
    code = w.text
    out: list[Finding] = []
    literals = _literals(code)
    if "fork" in code and re.search(r"\b(while|for|loop|until|repeat)\b", code):
        out.append(block(f"{lang} code forks in a loop: a fork bomb", "critical"))
    if SOCKET_API.search(code) and (EXEC_API.search(code) or re.search(r"dup2|/bin/\w*sh|cmd\.exe", code)):
        out.append(block(f"{lang} code wires a network socket to a shell: a reverse shell", "critical"))
    if CODE_EVAL.search(code) and REMOTE_CODE.search(code):
        out.append(block(f"{lang} code evaluates downloaded or decoded code", "critical"))
    if SETUID_API.search(code):
        out.append(block(f"{lang} code sets a setuid/setgid bit: a way to become root", "critical"))
    runs_shell = bool(EXEC_API.search(code))
    if runs_shell:
        for m in BARE_EXEC.finditer(code):
            out += [f for f in ctx.state.nested_lenient(m.group(1)) if f.level == "block"]
        for lit in literals:
            if len(lit) > 1 and (" " in lit or lit.startswith("/")):
                found = ctx.state.nested_lenient(lit)
                out += [f for f in found if f.level == "block"]
    deletes, writes = bool(DELETE_API.search(code)), bool(WRITE_API.search(code))
    for lit in literals:
        text = lit.lstrip("+<>| ").strip()
        if not text.startswith(("/", "~")):
            continue
        path = normalize(text)
        if path is None:
            continue
        if deletes and (protected_target(path) or is_remove_critical(path)):
            out.append(block(f"{lang} code deletes {path}, a system tree, home directory or system file", "critical"))
        if writes and (is_write_critical(path) or is_raw_device(path)):
            out.append(block(f"{lang} code writes to {path}"))
    if out:
        return out
    if runs_shell or deletes or writes or SOCKET_API.search(code):
        return [confirm(f"inline {lang} code runs commands, changes files or uses the network")]
    return []


def _stdin_code(ctx: Context, what: str, lang: str | None = None) -> list[Finding]:
    """A shell or interpreter with no script reads its program from stdin: where does stdin come from?"""
    cmd = ctx.cmd
    if cmd.piped_in or ctx.inv.args_from_stdin:
        source = ", ".join(dict.fromkeys(c.argv[0] for c in cmd.upstream if c.argv)) or "its input"
        return [block(f"pipes the output of {source} into {what}: whatever arrives runs unchecked", "critical")]
    for r in cmd.redirects:
        if not r.feeds_stdin:
            continue
        if r.op == "<&":
            return [block(f"{what} takes its input from another descriptor: a reverse-shell pattern", "critical")]
        if r.op == "<<<" and r.target is not None:
            return code_findings(ctx, lang, r.target) if lang else ctx.string_code(r.target, f"{what} <<<")
        if r.heredoc is not None:
            body = r.heredoc.rsplit("\n", 1)[0] if "\n" in r.heredoc else ""
            return code_findings(ctx, lang, word(body)) if lang else ctx.state.nested(body)
        if r.target is not None:
            return _script(ctx, r.target, what)
    if ctx.cmd.piped_in is False and any(w.text == "-i" for w in ctx.args) and ctx.cmd.redirects:
        return [block(f"interactive {what} with redirected input and output: a reverse-shell pattern", "critical")]
    return [confirm(f"starts an interactive {what}", "high" if ctx.inv.as_root else "medium")]


def _script(ctx: Context, w: Word, what: str) -> list[Finding]:
    """``bash FILE``: a process substitution, stdin, or a file downloaded in the same line cannot be checked."""
    if w.process:
        return [block(f"{what} runs code from a process substitution <(...): unchecked code", "critical")]
    if w.substituted or w.whole_dynamic:
        return [block(f"{what} runs a script whose name is computed at run time")]
    if w.text in STDIN_SCRIPTS or w.text.startswith(("/dev/fd/", "/proc/self/fd/")):
        return _stdin_code(ctx, what) if ctx.cmd.piped_in else [block(f"{what} runs code from a descriptor")]
    for path in ctx.paths(w):
        if path and path.startswith(("/dev/tcp/", "/dev/udp/")):
            return [block(f"{what} runs code read from the network", "critical")]
    if ctx.key(w.text) in ctx.state.downloads:
        return [block(f"{what} runs {w.text}, downloaded in the same command without review", "critical")]
    return [*written_script(ctx, w, what), confirm(f"{what} runs the script {w.text}")]


def written_script(ctx: Context, w: Word, what: str) -> list[Finding]:
    """A script written earlier in the same line runs now: its text is checked, or, when only known at run time
    ('cat a b > x.sh; sh x.sh'), it is blocked like a download."""
    key = ctx.key(w.text)
    if key not in ctx.state.written:
        return []
    text = ctx.state.written[key]
    if text is None:
        return [block(f"{what} runs {w.text}, written earlier in this command from output that cannot be checked")]
    first = text.split("\n", 1)[0]
    interpreter = first[2:].split() if first.startswith("#!") else []
    if interpreter[:1] and interpreter[0].endswith("/env"):
        interpreter = interpreter[1:]
    lang = canonical(interpreter[0].rsplit("/", 1)[-1] if interpreter else what)
    found = code_findings(ctx, lang, word(text)) if lang in INTERPRETERS else ctx.state.nested(text)
    return [
        block(f"runs {w.text}, written earlier in this command: {f.reason}", f.risk)
        for f in found
        if f.level == "block"
    ]


@rule(*SHELLS)
def shell(ctx: Context) -> list[Finding]:
    what = ctx.inv.name or "shell"  # 'su', 'sudo -i', 'chroot DIR': a wrapper's own shell has no name here
    downloaders = [c.argv[0] for c in ctx.cmd.upstream if c.argv and c.argv[0].rsplit("/", 1)[-1] in DOWNLOADERS]
    if ctx.cmd.piped_in and downloaders:
        return [block(f"feeds what {downloaders[0]} downloads into {what}", "critical")]
    args = ctx.args
    i = 0
    while i < len(args):
        t = args[i].text
        if t == "--":
            i += 1
            break
        if t.startswith("-") and len(t) > 1 and not t.startswith("--") and "c" in t[1:]:
            if i + 1 >= len(args):
                return [block(f"{what} -c without a command")]
            return ctx.string_code(args[i + 1], f"{what} -c")
        if t in ("-o", "+o", "--rcfile", "--init-file"):
            i += 2
            continue
        if not t.startswith(("-", "+")) or t == "-":
            break
        if "s" in t.lstrip("-+") and not t.startswith("--"):
            i = len(args)  # -s: commands come from stdin, the rest are arguments
            break
        i += 1
    if i < len(args) and args[i].text != "-":
        return _script(ctx, args[i], what)
    return _stdin_code(ctx, what)


def _interpreter(ctx: Context, lang: str) -> list[Finding]:
    letters, with_value = INTERPRETERS[lang]
    args = ctx.args
    out: list[Finding] = []
    inplace, had_code = edits_in_place(ctx.inv.words), False
    i = 0
    while i < len(args):
        t = args[i].text
        if t == "--":
            i += 1
            break
        if t in ("--eval", "--print", "-e", "-c") and t.strip("-")[:1] in letters:
            had_code = True
            if i + 1 < len(args):
                out += code_findings(ctx, lang, args[i + 1])
            i += 2
            continue
        if t.startswith("-") and not t.startswith("--") and len(t) > 1:
            pos = next((k for k, c in enumerate(t[1:], 1) if c in letters), None) if letters else None
            if lang == "python" and t[1:2] == "m":
                return out or [
                    confirm(f"runs the {lang} module {t[2:] or (args[i + 1].text if i + 1 < len(args) else '')}")
                ]
            if pos is not None:
                had_code = True
                inline = t[pos + 1 :]
                if inline:
                    out += code_findings(ctx, lang, word(inline))
                elif i + 1 < len(args):
                    out += code_findings(ctx, lang, args[i + 1])
                    i += 1
                i += 1
                continue
            if t in with_value:
                i += 1
            i += 1
            continue
        if t.startswith("--"):
            i += 1 + (t in with_value)
            continue
        break
    rest = args[i:]
    if had_code:
        if inplace:
            out += mass_edit(ctx, "perl -i")
            for f in rest:
                out += write_target(ctx, f, "edit", EDIT, "perl -i")
        return out
    if rest and rest[0].text != "-":
        return out + _script(ctx, rest[0], lang)
    return out + _stdin_code(ctx, lang, lang)


for _lang in INTERPRETERS:
    rule(_lang)(lambda ctx, _lang=_lang: _interpreter(ctx, _lang))


@rule(*AWKS)
def awk(ctx: Context) -> list[Finding]:
    args = ctx.args
    i = 0
    while i < len(args) and args[i].text.startswith("-") and args[i].text != "-":
        if args[i].text in ("-f", "--file"):
            return [confirm("runs an awk program file")]
        i += 1 + (args[i].text in ("-F", "-v", "--assign", "--field-separator"))
    if i >= len(args):
        return []
    program = args[i]
    if program.dynamic and (program.substituted or program.whole_dynamic):
        return [block("awk runs a program computed at run time")]
    text = program.text
    if "/inet/" in text:
        return [block("awk opens a network connection (/inet/tcp): a reverse-shell pattern", "critical")]
    if re.search(r"\|\s*&?\s*\"\s*(/bin/)?(ba|da|z|k)?sh\b", text):
        return [block("awk pipes text into a shell", "critical")]
    if "system(" in text or re.search(r"\|\s*\"", text) or ("getline" in text and "|" in text):
        found = [f for lit in _literals(text) for f in ctx.state.nested_lenient(lit) if f.level == "block"]
        return found or [confirm("the awk program runs shell commands")]
    return []


# Programs whose job is to print settings for the shell that evals their output (variables, functions, hooks):
# program -> (the first argument that asks for them, or '' for any plain arguments; why it is run that way).
SHELL_SETUP = {
    "ssh-agent": ("", "starts the agent and prints SSH_AUTH_SOCK and SSH_AGENT_PID for this shell"),
    "gpg-agent": ("", "starts the agent and prints GPG_AGENT_INFO for this shell"),
    "keychain": ("", "reuses one ssh/gpg agent across logins and prints its variables"),
    "dircolors": ("", "prints LS_COLORS for ls"),
    "direnv": ("hook", "prints the hook that loads .envrc files"),
    "starship": ("init", "prints the prompt's setup"),
    "pyenv": ("init", "prints the shims' PATH and shell function"),
    "rbenv": ("init", "prints the shims' PATH and shell function"),
    "nodenv": ("init", "prints the shims' PATH and shell function"),
    "zoxide": ("init", "prints the z/zi functions"),
    "fnm": ("env", "prints the Node version manager's PATH"),
    "brew": ("shellenv", "prints Homebrew's PATH and variables"),
    "thefuck": ("--alias", "prints the fuck alias"),
    "opam": ("env", "prints OCaml's PATH and variables"),
    "mise": ("activate", "prints the tool version manager's hook"),
}
PLAIN_CALL = re.compile(r"\$\(\s*([\w.-]+)((?:\s+[\w.=~/:+-]+)*)\s*\)|`\s*([\w.-]+)((?:\s+[\w.=~/:+-]+)*)\s*`")


def _shell_setup(w: Word) -> bool:
    """'$(ssh-agent -s)': the whole word is one plain call of a program that prints settings for this shell."""
    m = PLAIN_CALL.fullmatch(w.raw)
    if not m:
        return False
    name, args = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    asks = SHELL_SETUP.get(name, (None, ""))[0]
    return asks is not None and (asks == "" or args.split()[:1] == [asks])


@rule("eval")
def eval_(ctx: Context) -> list[Finding]:
    if not ctx.args or all(_shell_setup(w) for w in ctx.args):
        return []
    if any(w.substituted or w.process for w in ctx.args):
        return [block("eval runs code produced at run time by a command substitution", "critical")]
    if any(w.whole_dynamic for w in ctx.args):
        return [block("eval runs code held in a variable, which cannot be checked")]
    return ctx.state.nested(" ".join(w.text for w in ctx.args))


@rule("source", ".")
def source(ctx: Context) -> list[Finding]:
    if not ctx.args:
        return _stdin_code(ctx, "source")
    return _script(ctx, ctx.args[0], "source")


@rule("alias")
def alias(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for w in ctx.args:
        if "=" in w.text:
            out += [f for f in ctx.state.nested_lenient(w.text.split("=", 1)[1]) if f.level == "block"]
    return out


@rule("trap")
def trap(ctx: Context) -> list[Finding]:
    if ctx.args and not ctx.args[0].text.startswith("-"):
        return [f for f in ctx.state.nested_lenient(ctx.args[0].text) if f.level == "block"]
    return []
