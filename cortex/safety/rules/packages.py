"""Package managers: unsigned sources, forced removals, essential packages and kernels."""

from __future__ import annotations

import fnmatch
import re

from cortex.safety.rules import Context, block, confirm, names, rule, split_options, word
from cortex.safety.shell import Word
from cortex.safety.verdict import Finding

# Debian 'Essential: yes' and 'Priority: required', plus what boots, logs in and installs packages.
ESSENTIAL = names("""
    apt base-files base-passwd bash bsdutils coreutils dash debconf debianutils diffutils dpkg e2fsprogs findutils
    grep gzip hostname init-system-helpers libc-bin libc6 libpam-modules libpam-modules-bin libpam-runtime
    libpam0g login mawk mount ncurses-base ncurses-bin passwd perl-base sed sensible-utils sysvinit-utils tar
    tzdata util-linux systemd systemd-sysv init udev libsystemd0 libudev1 sudo gpgv debian-archive-keyring
    ubuntu-keyring libselinux1 zlib1g libgcc-s1 libstdc++6 libcrypt1 libtinfo6 libacl1 libattr1 libaudit1
    libblkid1 libmount1 libuuid1 libzstd1 liblzma5 libbz2-1.0 libpcre2-8-0 libcap2 libdb5.3 libgmp10
    libseccomp2 libssl3 python3 python3-minimal libpython3-stdlib adduser procps kmod initramfs-tools dbus
    grub-pc grub-efi-amd64 grub-efi-amd64-signed grub-common grub2-common shim-signed linux-base
    ca-certificates glibc glibc-common rpm yum dnf pacman filesystem openssh-server
    """)
KERNELS = ("linux-image*", "linux-generic*", "linux-signed*", "linux-modules*", "linux", "linux-lts", "kernel*")
PROTECTED_PATTERNS = (*ESSENTIAL, *KERNELS, "grub*", "libc6*", "systemd*")
UNAUTHENTICATED = (
    "--allow-unauthenticated",
    "--allow-insecure-repositories",
    "--force-yes",
    "--no-gpg-checks",
    "--nogpgcheck",
    "--nosignature",
    "--nodigest",
    "--dangerous",
    "--force-bad-verify",
    "--no-check-certificate",
)
FORCED_REMOVAL = ("--allow-remove-essential", "--force-remove-essential", "--force-all", "--force-depends")
FORCED_REMOVAL += ("--nodeps", "--force-remove-reinstreq")
REMOVE_VERBS = frozenset({"remove", "purge", "autoremove", "autopurge", "erase", "uninstall", "-r", "-P", "-R"})
REMOVE_VERBS |= frozenset({"--remove", "--purge", "-e", "-Rdd", "-Rns", "-Rs", "-Rc"})


def _protected_package(name: str) -> bool:
    name = name.split("=", 1)[0].split(":", 1)[0].rstrip("+-").lstrip("^").rstrip("$").replace(".*", "*")
    if any(c in name for c in "*?["):  # a pattern: protected when it may match an essential package or kernel
        return any(fnmatch.fnmatchcase(e, name) for e in ESSENTIAL) or _protected_package(re.sub(r"[*?]", "x", name))
    return any(fnmatch.fnmatchcase(name, p) for p in PROTECTED_PATTERNS)


def _package_findings(ctx: Context, packages: list[Word], removing: bool) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    out: list[Finding] = []
    for t in texts:
        if t.startswith(UNAUTHENTICATED) or ("AllowUnauthenticated" in t and "true" in t.lower()):
            out.append(block(f"{t} installs packages whose signatures are not checked", "critical"))
    if any(t.startswith(("--force-all", "--force-overwrite-all")) for t in texts):
        out.append(block("--force-all lets the package manager break the system without stopping"))
    if not removing:
        return out
    if any(t.startswith(FORCED_REMOVAL) for t in texts):
        out.append(block(f"forced removal ({', '.join(t for t in texts if t.startswith(FORCED_REMOVAL))})"))
    for w in packages:
        if w.substituted and any(_protected_package(k) for k in w.raw.replace("'", " ").replace('"', " ").split()):
            out.append(block(f"removes packages chosen at run time, among them essential ones ({w.raw})"))
        elif w.substituted:
            out.append(confirm(f"removes packages chosen at run time ({w.raw})", "high"))
        for alt in w.alts:
            if _protected_package(alt):
                out.append(block(f"removes {alt}, an essential package or kernel: the system may not boot", "critical"))
    return out


@rule("apt", "apt-get", "aptitude", "yum", "dnf", "zypper", "pacman", "snap", "flatpak", "microdnf", "apk")
def apt(ctx: Context) -> list[Finding]:
    with_value = frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release", "--root"})
    _, operands = split_options(ctx.args, with_value)
    verb = operands[0].text if operands else ""
    pacman_remove = ctx.inv.name == "pacman" and any(w.text.startswith("-R") for w in ctx.args)
    removing = verb in REMOVE_VERBS or pacman_remove
    options = [ctx.args[i + 1].text for i, w in enumerate(ctx.args[:-1]) if w.text in ("-o", "--option")]
    out = _package_findings(ctx, operands[1:] if not pacman_remove else operands, removing)
    if any("AllowUnauthenticated" in o or "AllowInsecureRepositories" in o for o in options):
        out.append(block("an apt option turns off signature checks", "critical"))
    if out:
        return out
    if verb in ("list", "search", "show", "policy", "depends", "rdepends", "showpkg", "madison", "info", "find"):
        return []
    if verb in ("full-upgrade", "dist-upgrade") or removing:
        return [confirm(f"{ctx.inv.name} {verb} removes or replaces packages", "high")]
    return [confirm(f"{ctx.inv.name} {verb or ''} changes installed packages".replace("  ", " "))]


@rule("apt-cache", "dpkg-query", "apt-file", "apt-rdepends", "debsums")
def apt_read(ctx: Context) -> list[Finding]:
    return []


@rule("dpkg", "rpm")
def dpkg(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    read_flags = {"-l", "-L", "-s", "-S", "-c", "-I", "-q", "-qa", "-qi", "-ql", "-qf", "--list", "--listfiles"}
    read_flags |= {"--status", "--search", "--contents", "--info", "--get-selections", "--print-architecture"}
    removing = bool(set(texts) & REMOVE_VERBS) or any(t.startswith(("-r", "-P", "-e")) and len(t) <= 3 for t in texts)
    packages = [w for w in ctx.args if not w.text.startswith("-")]
    out = _package_findings(ctx, packages, removing)
    if out:
        return out
    if set(texts) & read_flags and not removing:
        return []
    return [confirm(f"{ctx.inv.name} changes installed packages", "high" if removing else "medium")]


@rule("apt-key")
def apt_key(ctx: Context) -> list[Finding]:
    _, operands = split_options(ctx.args, frozenset({"--keyring"}))
    verb = operands[0].text if operands else ""
    if verb in ("add", "adv"):
        return [block(f"apt-key {verb} trusts a key for every repository (deprecated and unsafe)", "high")]
    return [] if verb in ("list", "finger", "export") else [confirm("changes apt's trusted keys", "high")]


@rule("add-apt-repository", "apt-add-repository")
def add_repo(ctx: Context) -> list[Finding]:
    return [confirm("adds a package source: its packages will be trusted", "high")]


@rule("pip", "pip3", "pipx", "npm", "yarn", "pnpm", "gem", "cargo", "go", "conda", "mamba", "uv")
def language_packages(ctx: Context) -> list[Finding]:
    _, operands = split_options(ctx.args, frozenset({"-r", "-i", "--index-url", "--prefix", "-e", "-C"}))
    verb = operands[0].text if operands else ""
    if verb in ("list", "show", "freeze", "search", "ls", "view", "outdated", "check", "info", "version", "env"):
        return []
    if any(w.text == "--break-system-packages" for w in ctx.args):
        return [confirm(f"{ctx.inv.name} {verb} into the system's Python, which apt owns", "high")]
    return [confirm(f"{ctx.inv.name} {verb} changes installed software")]


@rule("gpg", "gpg2")
def gpg(ctx: Context) -> list[Finding]:
    """Keys written into apt's global keyrings are trusted for every repository."""
    from cortex.safety.rules.writes import UNKNOWN, write_target

    args = ctx.args
    targets = [args[i + 1] for i, w in enumerate(args[:-1]) if w.text in ("-o", "--output", "--keyring")]
    targets += [word(w.text.split("=", 1)[1]) for w in args if w.text.startswith(("--output=", "--keyring="))]
    out = [f for t in targets for f in write_target(ctx, t, "replace", UNKNOWN, "gpg")]
    return out or ([confirm("gpg writes a key file")] if targets else [])
