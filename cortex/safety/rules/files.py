"""Deleting, moving, overwriting and re-moding files: the system trees, home roots and account files."""

from __future__ import annotations

import posixpath
import re

from cortex.safety.protected import (
    KNOWN_TOP,
    is_glob,
    is_home_root,
    is_os_tree,
    is_raw_device,
    is_remove_critical,
    is_secret,
    is_system_file,
    is_system_tree,
    is_write_critical,
    needed_format,
    normalize,
    protected_target,
)
from cortex.safety.rules import Context, block, confirm, names, rule, split_options, word
from cortex.safety.rules.writes import EMPTY, UNKNOWN, Content, copies, source_content, stdin_content, write_target
from cortex.safety.shell import Word
from cortex.safety.verdict import Finding
from cortex.safety.wrappers import unwrap

SETUID_MODE = re.compile(r"^(0?[2-7][0-7]{3}|.*[ugoa]*[+=][rwxXt]*s.*)$")
WORLD_WRITABLE = re.compile(r"^(0?[0-7]?[0-7][0-7][2367]|.*[oa][+=][rwxXts]*w.*|[+=][rwxXts]*w.*)$")
DANGEROUS_MODE = re.compile(r"^(0?0+|0?[0-7]?0[0-7][0-7]|a?-[rwxX]*x.*|[ugoa]*-[rwx]*x.*)$")


def _unknown_root(w: Word) -> bool:
    """'$DIR/' and '"$DIR"/*' become '/' and '/*' when DIR is empty, as in the famous Steam bug."""
    return w.unknown and bool(re.match(r"^\*+/", w.text))


def _every_entry(path: str) -> bool:
    """'/etc/*', '~/.*': a glob that names every entry of a directory."""
    last = path.rsplit("/", 1)[-1]
    return is_glob(last) and not re.search(r"[A-Za-z0-9_-]", last)


# Programs and libraries whose replacement takes over or breaks every login, sudo or boot.
CORE_PROGRAMS = names(
    "bash sh dash zsh sudo su login passwd init systemd ls cp mv rm cat chmod chown ln mount umount sshd ssh "
    "apt apt-get dpkg python3 perl env grep sed awk tar gzip id whoami ps ld.so ld-linux-x86-64.so.2 libc.so.6 "
    "libpam.so.0 pam_unix.so vmlinuz initrd.img"
)


SYSTEM_DIRS = names("/bin /sbin /lib /lib64 /boot /usr/bin /usr/sbin /usr/lib /usr/lib64 /usr/libexec")
SYSTEM_DIRS |= names("/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib/security /usr/lib/x86_64-linux-gnu/security")


def replaces_core(ctx: Context, sources: list[Word], dest: Word, what: str) -> list[Finding]:
    """Copying over a core program (/bin/bash, /usr/bin/sudo) is a takeover; adding a new tool is not."""
    dest_path = normalize(dest.text, ctx.cmd.cwd)
    if not dest_path or not is_system_file(dest_path):
        return []
    dest_is_dir = dest.text.endswith("/") or dest_path in SYSTEM_DIRS
    replaced = [posixpath.basename(s.text.rstrip("/")) for s in sources] if dest_is_dir else [dest_path]
    replaced = [posixpath.basename(r) for r in replaced]
    hit = [r for r in replaced if r in CORE_PROGRAMS or r.startswith(("vmlinuz", "initrd.img", "libc.so"))]
    return [block(f"{what} replaces the system program {hit[0]} in {dest_path}", "critical")] if hit else []


def removal(ctx: Context, targets: list[Word], recursive: bool, what: str) -> list[Finding]:
    out: list[Finding] = []
    for w in targets:
        if _unknown_root(w):
            out.append(block(f"{what} {w.raw}: if the variable is empty this deletes from / down"))
            continue
        if recursive and ctx.cmd.cwd is None and re.fullmatch(r"(\.\./?)+\*?|\.\*|\.\.?/\.\*", w.text):
            out.append(block(f"{what} {w.text} climbs out of the current directory and deletes what is above it"))
            continue
        for path in ctx.paths(w):
            if path is None:
                continue
            if (recursive or _every_entry(path)) and protected_target(path):
                out.append(block(f"{what} of {path} deletes a system tree or a home directory", "critical"))
            elif is_remove_critical(path) or (recursive and is_write_critical(path)):
                out.append(block(f"{what} of {path}: logins, sudo, booting, packages or the audit trail depend on it"))
            elif path.startswith("/dev/") and is_raw_device(path):
                out.append(block(f"{what} of the device node {path}"))
    return out


GREPS = frozenset({"grep", "egrep", "rg", "ag"})
LISTERS = frozenset({"ls", "find", "locate", "fd", "fdfind", "tree", "du"}) | GREPS


def fed_paths(ctx: Context) -> list[Word]:
    """Paths an upstream command hands to 'xargs': what echo prints, or what lives under what ls/find list."""
    out: list[Word] = []
    for r in ctx.cmd.redirects:  # xargs ... <<< "/etc /usr"
        if r.op == "<<<" and r.target is not None:
            out += [word(t) for t in r.target.text.split()]
    for c in ctx.cmd.upstream:
        inv = unwrap(c.words)
        name = inv.name
        args = [w for w in inv.args if not w.text.startswith("-")]
        if name in ("echo", "printf"):
            out += [word(t) for w in args for t in w.text.replace("\\n", " ").split()]
        elif name in LISTERS:  # what grep or a filtered find lists is some files of the tree, as in find -delete
            some = name in GREPS or any(w.text in FIND_FILTERS for w in inv.args)
            out += [
                word(w.text.rstrip("/") + ("/*.x" if some else "/*")) for w in args if w.text.startswith(("/", "~"))
            ]
    return out


@rule("rm", "unlink", "rmdir")
def rm(ctx: Context) -> list[Finding]:
    flags, targets = split_options(ctx.args)
    if "--no-preserve-root" in flags:
        return [block("rm --no-preserve-root exists only to delete /", "critical")]
    recursive = bool(flags & {"-r", "-R", "--recursive"})
    name = ctx.inv.name
    if ctx.inv.args_from_stdin:
        targets = targets + fed_paths(ctx)
    out = removal(ctx, targets, recursive, f"{name} -r" if recursive else name)
    if ctx.inv.args_from_stdin and recursive:
        out.append(confirm("deletes recursively whatever paths its input names", "high"))
    return out or [confirm(f"deletes files ({', '.join(w.text for w in targets) or 'from its input'})")]


@rule("shred", "wipe", "srm")
def shred(ctx: Context) -> list[Finding]:
    _, targets = split_options(ctx.args, frozenset({"-n", "-s", "--iterations", "--size", "--random-source"}))
    out = removal(ctx, targets, True, "shred")
    for w in targets:
        for path in ctx.paths(w):
            if path and (is_raw_device(path) or is_system_file(path)):
                out.append(block(f"shred overwrites {path} beyond recovery", "critical"))
    return out or [confirm("overwrites files beyond recovery", "high")]


@rule("mv")
def mv(ctx: Context) -> list[Finding]:
    _, operands = split_options(ctx.args, frozenset({"-t", "-S", "--suffix", "--target-directory"}))
    dest_flag = next((w for i, w in enumerate(ctx.args) if ctx.args[i - 1].text in ("-t",) and i), None)
    sources = operands if dest_flag else operands[:-1]
    dest = dest_flag or (operands[-1] if operands else None)
    out = removal(ctx, sources, True, "mv")
    if dest is not None:
        out += copies(ctx, sources, dest, "mv") + replaces_core(ctx, sources, dest, "mv")
    return out or [confirm("moves or renames files")]


@rule("cp", "install", "ln", "link", "rsync")
def copy(ctx: Context) -> list[Finding]:
    with_value = frozenset({"-t", "-m", "-o", "-g", "-S", "--mode", "--owner", "--group", "--target-directory"})
    with_value |= frozenset({"-e", "--rsh", "--exclude", "--include", "--chown", "--chmod", "-f", "--filter"})
    flags, operands = split_options(ctx.args, with_value)
    out: list[Finding] = []
    mode = next((ctx.args[i + 1].text for i, w in enumerate(ctx.args[:-1]) if w.text in ("-m", "--mode")), "")
    if ctx.inv.name == "install" and SETUID_MODE.match(mode):
        out.append(block(f"install -m {mode} creates a setuid/setgid program: a way to become root"))
    directory = next(
        (ctx.args[i + 1] for i, w in enumerate(ctx.args[:-1]) if w.text in ("-t", "--target-directory")), None
    )
    if len(operands) >= 2 or (operands and directory):
        dest = directory or operands[-1]
        sources = operands if directory else operands[:-1]
        dest_path = normalize(dest.text, ctx.cmd.cwd) or ""
        if ctx.inv.name in ("cp", "install"):
            out += replaces_core(ctx, sources, dest, ctx.inv.name)
        for src in sources:
            if any(p and is_secret(p) for p in ctx.paths(src)) and not dest_path.startswith(("/etc/", "/root/")):
                out.append(block(f"copies the secret file {src.text} to {dest.text}, where others may read it"))
        out += copies(ctx, sources, dest, ctx.inv.name, remote=ctx.inv.name == "rsync")
        if ctx.inv.name == "rsync" and flags & {"--delete", "--delete-before", "--delete-after", "--del"}:
            out += removal(ctx, [dest], True, "rsync --delete")
    return out or [confirm(f"{ctx.inv.name} writes files")]


@rule("tee", "sponge")
def tee(ctx: Context) -> list[Finding]:
    flags, files = split_options(ctx.args)
    out: list[Finding] = []
    downloaded = any(c.argv and c.argv[0].rsplit("/", 1)[-1] in ("curl", "wget", "fetch") for c in ctx.cmd.upstream)
    for f in files:
        mode = "append" if flags & {"-a", "--append"} else "overwrite"
        out += write_target(ctx, f, mode, stdin_content(ctx, ctx.cmd), "tee")
        if downloaded:
            ctx.state.downloads.add(ctx.key(f.text))
    return out or ([confirm("writes files")] if files else [])


@rule("truncate")
def truncate(ctx: Context) -> list[Finding]:
    _, files = split_options(ctx.args, frozenset({"-s", "--size", "-r", "--reference"}))
    out: list[Finding] = []
    out += mass_edit(ctx, "truncate")
    for f in files:
        out += write_target(ctx, f, "overwrite", EMPTY, "truncate")
    return out or [confirm("truncates files")]


# in-place editor -> letters of its options that take a value (an 'i' after one of them is part of the value)
IN_PLACE_EDITORS = {"sed": "efl", "perl": "eEMImxCdDFl0"}


def edits_in_place(words: list[Word]) -> bool:
    """'sed -i', 'sed -Ei.bak', 'perl -pi -e': the program rewrites the files it is given."""
    name = words[0].text.rsplit("/", 1)[-1] if words else ""
    stops = IN_PLACE_EDITORS.get(name)
    if stops is None:
        return False
    clusters = [w.text[1:] for w in words[1:] if w.text.startswith("-") and not w.text.startswith("--")]
    return any(w.text.startswith("--in-place") for w in words) or any(
        "i" in re.split(f"[{stops}]", c, maxsplit=1)[0] for c in clusters
    )


def mass_edit(ctx: Context, what: str) -> list[Finding]:
    """Every file of a system tree fed on stdin to an in-place editor ('find / -type f | xargs sed -i')."""
    paths = [p for w in fed_paths(ctx) for p in ctx.paths(w)] if ctx.inv.args_from_stdin else []
    under = [p.rsplit("/", 1)[0] or "/" for p in paths if p and protected_target(p)]
    return [block(f"{what} rewrites the files under {root} that its input lists", "critical") for root in under]


SED_ADD = re.compile(r"(?:^|[;\n])\s*(?:[0-9$]+|/[^/]*/)?(?:,(?:[0-9$]+|/[^/]*/))?\s*[aic]\\?\s*(.+)")
SED_REPLACE = re.compile(r"(?:^|[;\n\s])s(\W)(?:\\.|(?!\1).)*\1((?:\\.|(?!\1).)*)\1")


SED_ADDRESS = r"(?:\d+|\$|/(?:\\.|[^/])*/I?)"
SED_DELETE = re.compile(rf"(?:^|[;\n{{}}])\s*({SED_ADDRESS}(?:\s*,\s*{SED_ADDRESS})?)?\s*!?\s*[dD]\s*(?=$|[;\n}}])")
COMMENT_OR_BLANK = re.compile(r"/\^(\\s\*|\[\[:space:\]\]\*| \*)?(#[^/]*|\$)/")
SED_BLANKING = re.compile(r"(?:^|[;\n\s])s(\W)((?:\\.|(?!\1).)*)\.\*\$?\1\1")  # 's/^UUID.*$//'


def sed_deletes(script: str) -> bool:
    """The script deletes lines ('/UUID/d', '$d') or blanks them ('s/^UUID.*//'), other than comments or
    blank lines."""
    deleted = [m.group(1) or "" for m in SED_DELETE.finditer(script)]
    blanked = [m.group(2) for m in SED_BLANKING.finditer(script)]
    return any(not COMMENT_OR_BLANK.fullmatch(a) for a in deleted) or any("#" not in p for p in blanked)


def sed_text(script: str) -> str:
    """The lines a sed script adds: 'a', 'i' and 'c' text and the replacements of 's' commands."""
    return "\n".join(
        [m.group(1) for m in SED_ADD.finditer(script)] + [m.group(2) for m in SED_REPLACE.finditer(script)]
    )


@rule("sed")
def sed(ctx: Context) -> list[Finding]:
    with_value = frozenset({"-e", "-f", "--expression", "--file", "-l", "--line-length"})
    flags, operands = split_options(ctx.args, with_value)
    if not edits_in_place(ctx.inv.words):
        return []
    has_script = bool(flags & {"-e", "-f", "--expression", "--file"})
    files = operands if has_script else operands[1:]
    scripts = [w for i, w in enumerate(ctx.args) if i and ctx.args[i - 1].text in ("-e", "--expression")]
    script = "\n".join(w.text for w in (scripts if has_script else operands[:1]))
    added = "\n".join(sed_text(part) for part in script.split("\n"))
    out = mass_edit(ctx, "sed -i")
    for f in files:
        needed = [p for p in ctx.paths(f) if p and needed_format(p)]
        if needed and sed_deletes(script):
            out.append(block(f"sed -i deletes lines of {needed[0]}, which the machine needs to boot, mount or log in"))
        out += write_target(ctx, f, "edit", Content("edit", added), "sed -i")
    return out or [confirm("edits files in place")]


@rule("dd")
def dd(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    source = next((word(w.text[3:]) for w in ctx.args if w.text.startswith("if=") and not w.dynamic), None)
    content = source_content(ctx, source) if source else stdin_content(ctx, ctx.cmd)
    for w in ctx.args:
        if w.text.startswith("of="):
            out += write_target(ctx, word(w.text[3:]) if not w.unknown else w, "overwrite", content, "dd")
    return out or [confirm("copies raw data")]


def _opens_up(mode: str, secret: bool) -> bool:
    """A mode that lets others write the file (or read it, for a secret); unknown modes count as opening."""
    if re.fullmatch(r"0?[0-7]{3,4}", mode):
        group, other = int(mode[-2]), int(mode[-1])
        return bool(group & 2 or other & 2 or (secret and other & 4))
    if re.fullmatch(r"[ugoa]*[-=+][rwxX]*(,[ugoa]*[-=+][rwxX]*)*", mode):
        grants = re.findall(r"([ugoa]*)[+=]([rwxX]*)", mode)
        return any(
            ("w" in perms and who != "u") or (secret and "r" in perms and who in ("", "a", "o"))
            for who, perms in grants
        )
    return True


def _mode_findings(ctx: Context, mode: str, targets: list[Word], recursive: bool, what: str) -> list[Finding]:
    out: list[Finding] = []
    if SETUID_MODE.match(mode):
        out.append(block(f"{what} {mode} sets the setuid/setgid bit: a way to become root", "critical"))
    for w in targets:
        if _unknown_root(w):
            out.append(block(f"{what} {w.raw}: if the variable is empty this changes / and below"))
        for path in ctx.paths(w):
            if path is None:
                continue
            if recursive and is_system_tree(path):
                out.append(block(f"{what} -R on {path} changes a whole system tree or home directory", "critical"))
            elif recursive and protected_target(path) and (WORLD_WRITABLE.match(mode) or DANGEROUS_MODE.match(mode)):
                out.append(block(f"{what} -R {mode} on {path} opens or breaks a system directory", "critical"))
            elif path == "/" or path.lstrip("/") in KNOWN_TOP or is_home_root(path):
                out.append(block(f"{what} on {path} changes the mode of a top-level or home directory"))
            elif is_write_critical(path) or (is_remove_critical(path) and path.startswith("/etc")):
                if what != "chmod" or _opens_up(mode, is_secret(path)):
                    out.append(block(f"{what} on {path}, which guards accounts, sudo or package trust"))
            elif is_system_file(path) and (WORLD_WRITABLE.match(mode) or DANGEROUS_MODE.match(mode)):
                out.append(block(f"{what} {mode} on the operating-system file {path}"))
            elif protected_target(path) and WORLD_WRITABLE.match(mode):
                out.append(block(f"{what} {mode} makes the system tree {path} writable by everyone"))
    return out


CHMOD_OPTIONS = names("-R -v -c -f --recursive --verbose --changes --silent --quiet --preserve-root")


@rule("chmod")
def chmod(ctx: Context) -> list[Finding]:
    words = [w for w in ctx.args if w.text != "--"]
    options = [w for w in words if w.text in CHMOD_OPTIONS or re.fullmatch(r"-[Rvcf]+|--reference=.*", w.text)]
    rest = [w for w in words if w not in options]
    if any(w.text.startswith("--reference") for w in options):
        mode, targets = "", rest
    else:
        mode, targets = (rest[0].text, rest[1:]) if rest else ("", [])
    recursive = any(w.text == "--recursive" or re.fullmatch(r"-[vcf]*R[Rvcf]*", w.text) for w in options)
    out = _mode_findings(ctx, mode, targets, recursive, "chmod") + _mode_findings(
        ctx, mode, fed_roots(ctx), True, "chmod"
    )
    return out or [confirm(f"changes file modes ({mode})")]


@rule("chown", "chgrp", "setfacl", "chattr", "chcon")
def chown(ctx: Context) -> list[Finding]:
    flags, operands = split_options(ctx.args, frozenset({"--reference", "-m", "-x", "-M", "-X", "--modify", "-t"}))
    recursive = bool(flags & {"-R", "--recursive"})
    name = ctx.inv.name
    owner = operands[0].text if operands and name in ("chown", "chgrp", "chcon") else ""
    targets = operands[1:] if name in ("chown", "chgrp", "chcon") else operands
    if name == "chattr":
        targets = [w for w in operands if not re.fullmatch(r"[-+=][aAcCdDeiIjPsStTux]+", w.text)]
    out = _mode_findings(ctx, "", targets, recursive, name) if recursive or not owner.startswith("root") else []
    out += _mode_findings(ctx, "", fed_roots(ctx), True, name)
    for w in targets:
        for path in ctx.paths(w):
            if path and is_system_file(path) and name in ("chown", "chgrp") and not owner.startswith("root"):
                out.append(block(f"{name} hands the operating-system file {path} to {owner or 'another owner'}"))
    return out or [confirm(f"{name} changes ownership or attributes")]


FIND_FILTERS = names(
    "-name -iname -path -ipath -regex -iregex -mtime -mmin -atime -amin -ctime -cmin -size -user -group "
    "-newer -empty -perm -links -inum -wholename -iwholename -lname -uid -gid -nouser -nogroup"
)
FIND_EXEC = ("-exec", "-execdir", "-ok", "-okdir")


MODE_CHANGERS = names("chmod chown chgrp chattr setfacl chcon")
OWNER_FILTERS = names("-user -uid -group -gid -nouser -nogroup")


def _every_file(ctx: Context, roots: list[Word], filtered: bool) -> list[str]:
    """Roots under which 'every file find matches' takes in system files or a home directory."""
    out: list[str] = []
    for path in (p for r in roots for p in ctx.paths(r) if p):
        target = path.rstrip("/") + ("/*.x" if filtered else "/*")
        if protected_target(target) or (not filtered and protected_target(path) and path != "/tmp"):
            out.append(path)
    return out


def _rewrites_found(inner: list[Word]) -> bool:
    """The command find runs rewrites the file found ({}): an in-place editor, truncate, tee, or a copy onto it."""
    name = inner[0].text.rsplit("/", 1)[-1]
    if edits_in_place(inner) or name in ("truncate", "tee"):
        return any("{}" in w.text for w in inner[1:])
    if name in ("cp", "mv", "ln", "install", "rsync", "dd"):
        return "{}" in inner[-1].text or any(w.text.startswith("of=") and "{}" in w.text for w in inner)
    return False


def fed_roots(ctx: Context) -> list[Word]:
    """The trees whose every file reaches a command through xargs ('find /etc | xargs chmod 644' -> /etc)."""
    fed = fed_paths(ctx) if ctx.inv.args_from_stdin else []
    return [word(w.text.rsplit("/", 1)[0] or "/") for w in fed if w.text.endswith(("/*", "/*.x"))]


@rule("find")
def find(ctx: Context) -> list[Finding]:
    args = ctx.args
    i = 0
    while (i < len(args) and args[i].text in ("-H", "-L", "-P")) or (i < len(args) and args[i].text.startswith("-O")):
        i += 1
    roots: list[Word] = []
    while i < len(args) and not args[i].text.startswith(("-", "(", "!")) and args[i].text not in ("(", "!"):
        roots.append(args[i])
        i += 1
    roots = roots or [word(".")]
    expr = args[i:]
    filtered = any(w.text in FIND_FILTERS for w in expr)
    out: list[Finding] = []
    execs = [expr[j + 1].text.rsplit("/", 1)[-1] for j, w in enumerate(expr[:-1]) if w.text in FIND_EXEC]
    if any(w.text == "-delete" for w in expr) or set(execs) & {"rm", "unlink", "shred", "rmdir", "srm"}:
        for path in _every_file(ctx, roots, filtered):
            out.append(block(f"find -delete under {path} deletes system files or a home directory", "critical"))
        out = out or [confirm("deletes the files it finds")]
    for j, w in enumerate(expr):
        if w.text in ("-fprint", "-fprintf", "-fls", "-fprint0") and j + 1 < len(expr):
            out += write_target(ctx, expr[j + 1], "overwrite", UNKNOWN, "find " + w.text)
        if w.text not in FIND_EXEC:
            continue
        end = next((k for k in range(j + 1, len(expr)) if expr[k].text in (";", "+")), len(expr))
        inner = expr[j + 1 : end]
        if not inner:
            continue
        if _rewrites_found(inner):
            for path in _every_file(ctx, roots, filtered):
                out.append(block(f"find -exec {inner[0].text} rewrites every file under {path}", "critical"))
        # chmod/chown of every file found is 'chmod -R' of the root, unless the files are one owner's
        owned = any(w.text in OWNER_FILTERS for w in expr) and inner[0].text in ("chown", "chgrp")
        recursive = inner[0].text in MODE_CHANGERS and not owned
        for r in roots:
            rep = r.text.rstrip("/") or "/" if recursive else (r.text.rstrip("/") or "") + "/x"
            words = [word(x.text.replace("{}", rep)) if "{}" in x.text else x for x in inner]
            out += ctx.state.check_words([*words[:1], word("-R"), *words[1:]] if recursive else words, ctx.cmd)
        out = out or [confirm(f"runs {inner[0].text} on every file it finds")]
    return out


@rule("tar")
def tar(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    if any(t.startswith(("--to-command", "--checkpoint-action", "--use-compress-program", "-I")) for t in texts):
        risky = [t for t in texts if "exec" in t or t.startswith(("--to-command", "--use-compress-program", "-I"))]
        if risky and any("exec=" in t or t.startswith("--to-command") for t in risky):
            return [block("tar runs a command from its options (--to-command / --checkpoint-action=exec)")]
    listing = any(re.match(r"^-?[a-zA-Z]*t", t) for t in texts[:1]) or "--list" in texts
    if listing:
        return []
    bundled = bool(texts) and bool(re.match(r"^[a-zA-Z]*x", texts[0]))  # 'tar xzf a.tgz'
    extracts = bundled or any(re.match(r"^-[a-zA-Z]*x", t) or t in ("--extract", "--get") for t in texts)
    dest = next((texts[i + 1] for i, t in enumerate(texts[:-1]) if t in ("-C", "--directory")), None)
    dest = next((t.split("=", 1)[1] for t in texts if t.startswith("--directory=")), dest)
    if extracts:
        return unpacked_into(ctx, dest, "tar")
    return [confirm("packs or unpacks files")]


def unpacked_into(ctx: Context, dest: str | None, what: str) -> list[Finding]:
    """An archive unpacked as root over / or a system tree replaces the OS's own files with whatever it holds."""
    path = normalize(dest, ctx.cmd.cwd) if dest else ctx.cmd.cwd
    if path and is_os_tree(path) and ctx.inv.as_root:
        return [block(f"{what} unpacks an archive as root over {path}, replacing system files with its contents")]
    if path and is_os_tree(path):
        return [confirm(f"{what} unpacks an archive over {path}", "high")]
    return [confirm(f"{what} unpacks files")]


@rule("unzip")
def unzip(ctx: Context) -> list[Finding]:
    flags, _ = split_options(ctx.args, frozenset({"-d", "-x"}))
    if flags & {"-l", "-v", "-t", "-Z", "-z"}:
        return []
    texts = [w.text for w in ctx.args]
    dest = next((texts[i + 1] for i, t in enumerate(texts[:-1]) if t == "-d"), None)
    return unpacked_into(ctx, next((t[2:] for t in texts if t.startswith("-d") and len(t) > 2), dest), "unzip")


@rule("mkfifo", "mknod")
def mknod(ctx: Context) -> list[Finding]:
    return [confirm("creates special files")]
