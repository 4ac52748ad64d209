"""Downloads, uploads and raw connections: reverse shells, exfiltration, download-then-run."""

from __future__ import annotations

import posixpath
import re

from cortex.safety.protected import is_secret, normalize
from cortex.safety.rules import Context, block, confirm, rule, word
from cortex.safety.rules.writes import Content, copies, write_target
from cortex.safety.verdict import Finding
from cortex.safety.wrappers import SHELLS

NETCATS = ("nc", "ncat", "netcat", "nc.traditional", "nc.openbsd", "pwncat")
NETWORK_SINKS = frozenset({*NETCATS, "socat", "telnet", "curl", "wget", "ssh", "scp", "openssl", "sftp", "ftp"})


def _secret_findings(ctx: Context, paths: list[str], what: str) -> list[Finding]:
    return [block(f"{what} sends {p}, a secret file, over the network", "critical") for p in paths if is_secret(p)]


def _track_download(ctx: Context, text: str | None) -> None:
    if text and text != "-":
        ctx.state.downloads.add(ctx.key(text))


def _url_name(url: str) -> str:
    return posixpath.basename(re.sub(r"[?#].*$", "", url)) or "index.html"


def _option(ctx: Context, *names: str) -> str | None:
    """The value of '--opt VALUE', '--opt=VALUE' or '-P VALUE', or None."""
    for i, w in enumerate(ctx.args):
        opt, eq, value = w.text.partition("=")
        if opt in names and (eq or i + 1 < len(ctx.args)):
            return value if eq else ctx.args[i + 1].text
    return None


def _saved(ctx: Context, urls: list[str], directory: str | None, what: str) -> list[Finding]:
    """Files a download saves under their URL's name (curl -O, wget), in ``directory`` when one is given."""
    out: list[Finding] = []
    for url in urls:
        name = posixpath.join(directory, _url_name(url)) if directory else _url_name(url)
        out += write_target(ctx, word(name), "overwrite", Content("download", url), what)
        _track_download(ctx, name)
    return out


@rule("curl")
def curl(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    args = ctx.args
    uploads: list[str] = []
    writes = False
    urls = [w.text for w in args if re.match(r"^[a-z]+://", w.text)]
    directory = _option(ctx, "--output-dir")
    for i, w in enumerate(args):
        t = w.text
        nxt = args[i + 1] if i + 1 < len(args) else None
        if t in ("-o", "--output") and nxt is not None:
            writes = True
            downloaded = Content("download", " ".join(urls) or "the network")
            dest = word(posixpath.join(directory, nxt.text)) if directory else nxt
            out += write_target(ctx, dest, "overwrite", downloaded, "curl -o")
            _track_download(ctx, dest.text)
        elif t in ("-O", "--remote-name", "--remote-name-all") or re.fullmatch(r"-[a-zA-Z]*O[a-zA-Z]*", t):
            writes = True
            out += _saved(ctx, urls, directory, "curl -O")
        elif t in ("-T", "--upload-file") and nxt is not None:
            uploads.append(nxt.text)
        elif t in ("-d", "--data", "--data-binary", "--data-urlencode", "-F", "--form", "--json") and nxt is not None:
            uploads += [m for m in re.findall(r"@([^;,\s]+)", nxt.text)]
    out += _secret_findings(ctx, [p for u in uploads if (p := normalize(u, ctx.cmd.cwd))], "curl")
    for r in ctx.cmd.redirects:
        if r.writes and r.target is not None:
            _track_download(ctx, r.target.text)
    if out:
        return out
    if uploads:
        return [confirm("uploads data over the network")]
    return [confirm("downloads a file")] if writes else []


DIRECTORY_OPTIONS = {"wget": ("-P", "--directory-prefix"), "aria2c": ("-d", "--dir"), "axel": ()}


@rule(*DIRECTORY_OPTIONS)
def wget(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    args = ctx.args
    to_stdout = False
    urls = [w.text for w in args if re.match(r"^[a-z]+://", w.text)]
    for i, w in enumerate(args):
        t = w.text
        value = t.split("=", 1)[1] if "=" in t and t.startswith("--") else None
        nxt = args[i + 1].text if i + 1 < len(args) else None
        if t in ("-O", "--output-document") or t.startswith("--output-document=") or re.fullmatch(r"-\w*O", t):
            target = value or nxt
            if target == "-":
                to_stdout = True
            elif target:
                downloaded = Content("download", " ".join(urls) or "the network")
                dest = args[i + 1] if value is None else word(target)
                out += write_target(ctx, dest, "overwrite", downloaded, "wget -O")
                _track_download(ctx, target)
        elif t.startswith("--post-file") or t.startswith("--body-file"):
            target = value or nxt or ""
            out += _secret_findings(ctx, [p for p in [normalize(target, ctx.cmd.cwd)] if p], "wget")
    if not to_stdout and not any(w.text.startswith(("-O", "--output-document")) for w in args):
        out += _saved(ctx, urls, _option(ctx, *DIRECTORY_OPTIONS[ctx.inv.name]), ctx.inv.name)
    return out or ([] if to_stdout else [confirm("downloads a file")])


@rule(*NETCATS)
def netcat(ctx: Context) -> list[Finding]:
    for w in ctx.args:
        t = w.text
        if t in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or t.startswith(("--exec=", "--sh-exec=")):
            return [block(f"{ctx.inv.name} {t} connects a program to the network: a reverse or bind shell", "critical")]
        if re.fullmatch(r"-[a-zA-Z]*[ec]", t) and t not in ("-c",):
            return [block(f"{ctx.inv.name} {t} connects a program to the network: a reverse or bind shell", "critical")]
    out = _stdin_secrets(ctx)
    return out or [confirm(f"{ctx.inv.name} opens a raw network connection")]


def _stdin_secrets(ctx: Context) -> list[Finding]:
    paths = [normalize(r.target.text, ctx.cmd.cwd) for r in ctx.cmd.redirects if r.op == "<" and r.target]
    return _secret_findings(ctx, [p for p in paths if p], ctx.inv.name)


@rule("socat")
def socat(ctx: Context) -> list[Finding]:
    for w in ctx.args:
        if re.match(r"^(exec|system):", w.text, re.I) or re.search(r"[,!]\s*(exec|system):", w.text, re.I):
            return [block("socat connects a program to the network: a reverse or bind shell", "critical")]
    return [confirm("socat relays a network connection")]


@rule("telnet", "ftp", "sftp", "openssl")
def raw_client(ctx: Context) -> list[Finding]:
    if ctx.inv.name == "openssl" and ctx.args and ctx.args[0].text not in ("s_client", "s_server"):
        return [] if ctx.args[0].text in ("x509", "version", "list", "dgst", "rand", "speed") else [confirm("openssl")]
    return _stdin_secrets(ctx) or [confirm(f"{ctx.inv.name} opens a network connection")]


@rule("zmodload")
def zmodload(ctx: Context) -> list[Finding]:
    if any(w.text.startswith(("zsh/net/tcp", "zsh/net/socket")) for w in ctx.args):
        return [block("zsh loads raw network sockets: a reverse-shell pattern", "critical")]
    return []


@rule("xterm")
def xterm(ctx: Context) -> list[Finding]:
    if any(w.text == "-display" for w in ctx.args):
        return [block("xterm -display opens a shell on a remote X server: a reverse shell", "critical")]
    return [confirm("opens a terminal")]


@rule("scp")
def scp(ctx: Context) -> list[Finding]:
    words = [w for w in ctx.args if not w.text.startswith("-")]
    if len(words) >= 2 and ":" not in words[-1].text:
        found = copies(ctx, words[:-1], words[-1], "scp", remote=True)
        if any(f.level == "block" for f in found):
            return found
    if len(words) >= 2 and ":" in words[-1].text:
        sources = [normalize(w.text, ctx.cmd.cwd) for w in words[:-1]]
        found = _secret_findings(ctx, [p for p in sources if p], "scp")
        if found:
            return found
    return [confirm("copies files over the network")]


def exfiltration(ctx: Context) -> list[Finding]:
    """A secret file read by one pipeline stage and sent away by a later one."""
    if not any(c.argv and c.argv[0].rsplit("/", 1)[-1] in NETWORK_SINKS for c in ctx.cmd.downstream):
        return []
    paths = [normalize(w.text, ctx.cmd.cwd) for w in ctx.args]
    paths += [normalize(r.target.text, ctx.cmd.cwd) for r in ctx.cmd.redirects if r.op == "<" and r.target]
    return _secret_findings(ctx, [p for p in paths if p], "the pipeline")


def shell_over_network(ctx: Context) -> list[Finding]:
    """A shell, or code that starts one, whose input or output is a raw network connection."""
    relays = (*NETCATS, "socat", "telnet", "openssl")
    if not any(c.argv and c.argv[0].rsplit("/", 1)[-1] in relays for c in ctx.cmd.upstream + ctx.cmd.downstream):
        return []
    text = " ".join(w.text for w in ctx.args)
    if ctx.inv.name in SHELLS or re.search(r"/bin/\w*sh\b|\bsh -i|pty\.spawn|cmd\.exe", text):
        return [block("connects a shell to a raw network connection: a reverse shell", "critical")]
    return []
