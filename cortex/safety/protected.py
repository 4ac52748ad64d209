"""Which paths, devices and units a command must not destroy, rewrite or hand away.

Paths are judged lexically (no filesystem access), so the verdict for a command
is the same on every machine. ``~`` and ``$HOME`` stand for ``/home/~``: a home
root like any other ``/home/<user>``.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

HOME = "/home/~"
GLOB_CHARS = re.compile(r"[*?\[]")
TEMP_DIRS = frozenset({"/tmp", "/var/tmp", "/dev/shm"})
# Top-level trees where anything below is part of the operating system.
WHOLE_TREES = frozenset(
    {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/usr", "/proc", "/sys", "/dev", "/efi"}
)
# Inside WHOLE_TREES, where local software lives: deeper paths here are the user's.
LOCAL_TREES = ("/usr/local", "/usr/src")
USR_LOCAL_STD = frozenset({"bin", "sbin", "lib", "lib64", "include", "share", "etc", "man", "games", "src", "libexec"})
KNOWN_TOP = frozenset(
    {"bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt", "proc", "root"}
    | {"run", "sbin", "srv", "sys", "tmp", "usr", "var", "snap", "efi", "lost+found"}
)
# Deep paths that are still the system's: deleting them or a parent breaks the machine or its security.
CRITICAL_TREES = (
    "/etc/ssl",
    "/etc/pam.d",
    "/etc/sudoers.d",
    "/etc/security",
    "/etc/systemd",
    "/etc/apt",
    "/var/lib/dpkg",
    "/var/lib/systemd",
    "/home/*/.ssh",
    "/home/*/.gnupg",
    "/root/.ssh",
    "/root/.gnupg",
)
# The package managers' own databases (their caches and downloaded lists below them may go).
PACKAGE_DATABASES = frozenset({"/var/lib/apt", "/var/lib/rpm", "/var/lib/pacman", "/var/lib/snapd"})
# Files whose rewriting hands over the machine: accounts, sudo, package trust, kernel triggers.
WRITE_CRITICAL = (
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/passwd-",
    "/etc/shadow-",
    "/etc/sudoers",
    "/etc/sudoers.d/*",
    "/etc/sudo.conf",
    "/etc/doas.conf",
    "/etc/apt/sources.list",
    "/etc/apt/sources.list.d/*",
    "/etc/apt/trusted.gpg",
    "/etc/apt/trusted.gpg.d/*",
    "/etc/apt/apt.conf.d/*",
    "/etc/apt/apt.conf",
    "/etc/ld.so.preload",
    "/etc/pam.d/*",
    "/etc/security/*",
    "/etc/shells",
    "/etc/login.defs",
    "/etc/nsswitch.conf",
    "/proc/sysrq-trigger",
    "/proc/sys/kernel/*",
    "/root/.ssh/*",
    "/root/.bashrc",
    "/root/.profile",
    "/boot/*",
    "/var/log/wtmp",
    "/var/log/btmp",
    "/var/log/lastlog",
    "/var/log/auth.log",
    "/var/log/secure",
    "/var/log/faillog",
    "/home/*/.bash_history",
    "/root/.bash_history",
)
REMOVE_CRITICAL = (
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/fstab",
    "/etc/pam.d/*",
    "/etc/ssh/sshd_config",
    "/var/lib/dpkg/status",
    "/etc/apt/sources.list",
    "/etc/hostname",
    "/home/*/.bash_history",
    "/root/.bash_history",
    "/var/log/wtmp",
    "/var/log/btmp",
    "/var/log/lastlog",
    "/var/log/auth.log",
    "/var/log/secure",
)
# A user's files that a login or interactive shell, or the desktop session, runs as commands.
STARTUP_NAMES = (".bashrc", ".profile", ".bash_profile", ".bash_login", ".bash_logout", ".zshrc", ".zprofile")
STARTUP_NAMES += (".zshenv", ".zlogin", ".xprofile", ".xsession", ".xinitrc", ".ssh/rc", ".config/autostart/*")
STARTUP_NAMES += (".bash_aliases", ".zlogout", ".kshrc", ".mkshrc", ".cshrc", ".tcshrc", ".login", ".xsessionrc")
STARTUP_NAMES += (".config/fish/config.fish", ".config/fish/conf.d/*", ".config/fish/functions/*")
STARTUP_FILES = tuple(f"{home}/{name}" for home in ("/home/*", "/root") for name in STARTUP_NAMES)
# Files run later as commands: by cron, by a login or interactive shell, at login or boot.
RUN_LATER = (
    "/etc/crontab",
    "/etc/cron.d/*",
    "/etc/cron.hourly/*",
    "/etc/cron.daily/*",
    "/etc/cron.weekly/*",
    "/etc/cron.monthly/*",
    "/var/spool/cron/*",
    "/var/spool/cron/crontabs/*",
    "/etc/profile",
    "/etc/profile.d/*",
    "/etc/bash.bashrc",
    "/etc/zsh/*",
    "/etc/rc.local",
    "/etc/update-motd.d/*",
    "/etc/xdg/autostart/*",
    "/etc/network/if-up.d/*",
    "/etc/NetworkManager/dispatcher.d/*",
    *STARTUP_FILES,
)
# Files the machine needs to boot, mount, resolve names or log in, with the shape of one of their lines:
# emptying one, or filling it with text of another shape, is as bad as deleting it.
NEEDED_FORMATS = {
    "/etc/fstab": re.compile(r"\S+\s+\S+\s+\S+.*"),
    "/etc/crypttab": re.compile(r"\S+\s+\S+.*"),
    "/etc/hosts": re.compile(r"\S+\s+\S+.*"),
    "/etc/resolv.conf": re.compile(r"(nameserver|search|domain|options|sortlist)\s+\S.*"),
    "/etc/hostname": re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*"),
    "/etc/machine-id": re.compile(r"[0-9a-f]{32}"),
    "/etc/ssh/sshd_config": re.compile(r"\S+\s+\S.*"),
    "/etc/ssh/sshd_config.d/*": re.compile(r"\S+\s+\S.*"),
    "/etc/default/grub": re.compile(r"[A-Z_]+=.*"),
    "/etc/network/interfaces": re.compile(r"\S.*"),
    "/etc/netplan/*": re.compile(r"\S.*"),
    "/etc/ld.so.conf": re.compile(r"\S.*"),
    "/etc/inittab": re.compile(r"\S.*"),
}
# Settings that open a service to attack, by the files that hold them: setting (its words, any case) -> what it
# gives away.
SSHD_WEAK = {
    "permitrootlogin yes": "root logins over ssh with a password",
    "passwordauthentication yes": "password guessing over ssh",
    "permitemptypasswords yes": "ssh logins without a password",
    "strictmodes no": "ssh keys that any user may have planted (world-writable authorized_keys)",
}
WEAK_SETTINGS = {"/etc/ssh/sshd_config": SSHD_WEAK, "/etc/ssh/sshd_config.d/*": SSHD_WEAK}
# Files that reveal secrets when read or sent away.
SECRET_FILES = (
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_*_key",
    "/home/*/.ssh/id_*",
    "/root/.ssh/id_*",
    "/home/*/.ssh",
    "/root/.ssh",
    "/etc/ssh",
    "/home/*/.aws/credentials",
    "/root/.aws/credentials",
    "/home/*/.kube/config",
    "/root/.kube/config",
    "/home/*/.netrc",
    "/home/*/.gnupg/*",
)
# Devices that are harmless to write to.
SAFE_DEVICES = ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty*", "/dev/fd/*")
SAFE_DEVICES += ("/dev/pts/*", "/dev/random", "/dev/urandom", "/dev/shm/*", "/dev/console", "/dev/full")


# Units without which the machine cannot be reached, logged into, see what happens on it, or defend itself:
# name -> what is lost.
CRITICAL_UNITS = {
    "ssh": "remote logins",
    "sshd": "remote logins",
    "networking": "the network",
    "NetworkManager": "the network",
    "systemd-networkd": "the network",
    "dbus": "the system bus that logind, NetworkManager and systemctl talk over",
    "dbus-broker": "the system bus that logind, NetworkManager and systemctl talk over",
    "systemd-journald": "the system log",
    "systemd-journald-dev-log": "the system log",
    "systemd-logind": "logins and sessions",
    "getty@": "console logins",
    "serial-getty@": "serial console logins",
    "apparmor": "AppArmor's confinement of services (its profiles are unloaded)",
    "auditd": "the audit log of logins, sudo and file access",
    "fail2ban": "the bans on hosts that guess passwords",
    "ufw": "the firewall",
    "firewalld": "the firewall",
    "nftables": "the firewall's rules, loaded at boot",
}


def lost_unit(unit: str) -> str | None:
    """What the machine loses without ``unit`` ('ssh.service', 'getty@tty1', 'ssh*'), or None."""
    name = re.sub(r"\.(service|socket)$", "", unit)
    name = name.split("@", 1)[0] + "@" if "@" in name else name
    hit = next((u for u in CRITICAL_UNITS if fnmatch.fnmatchcase(u, name)), None)
    return CRITICAL_UNITS[hit] if hit else None


def normalize(text: str, cwd: str | None = None) -> str | None:
    """An absolute, lexically normalized path, or None when it depends on an unknown directory."""
    if not text:
        return None
    if text == "~" or text.startswith("~/"):
        text = HOME + text[1:]
    elif text.startswith("~"):
        user, _, rest = text[1:].partition("/")
        text = ("/root" if user == "root" else f"/home/{user}") + ("/" + rest if rest else "")
    if not text.startswith("/"):
        if cwd is None:
            return None
        text = f"{cwd}/{text}"
    path = posixpath.normpath(text)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return path


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _matches(path: str, patterns: tuple[str, ...] | frozenset[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _inside(path: str, tree: str) -> bool:
    """``path`` is ``tree`` or below it; ``tree`` may hold ``*`` for one component."""
    depth = len(_parts(tree))
    return len(_parts(path)) >= depth and fnmatch.fnmatchcase("/" + "/".join(_parts(path)[:depth]), tree)


def is_home_root(path: str) -> bool:
    parts = _parts(path)
    return path in ("/home", "/root") or (len(parts) == 2 and parts[0] == "home")


def is_system_file(path: str) -> bool:
    """A path in a tree owned wholly by the OS (``/usr/bin/x``, ``/boot/vmlinuz``), not under /usr/local."""
    parts = _parts(path)
    if not parts or "/" + parts[0] not in WHOLE_TREES:
        return False
    return not any(_inside(path, t) and path != t for t in LOCAL_TREES)


def is_protected(path: str) -> bool:
    """Recursively deleting, moving, or re-owning ``path`` would damage the system or a home root."""
    parts = _parts(path)
    depth = len(parts)
    if depth == 0 or is_home_root(path) or depth == 1:
        return True
    top = "/" + parts[0]
    if any(_inside(path, t) or _inside(t.replace("*", "x"), path) for t in CRITICAL_TREES):
        return True
    if _matches(path, WRITE_CRITICAL) or path in PACKAGE_DATABASES:
        return True
    if top in WHOLE_TREES:
        if _inside(path, "/usr/local"):
            return depth == 2 or (depth == 3 and parts[2] in USR_LOCAL_STD)
        if _inside(path, "/usr/src"):
            return depth == 2
        return True
    if top in ("/etc", "/var", "/media", "/snap"):
        return depth == 2 and path not in TEMP_DIRS
    return False


VAR_SYSTEM = frozenset({"/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/mail", "/var/backups", "/var/run"})


def is_system_tree(path: str) -> bool:
    """Changing the owner or mode of everything under ``path`` breaks the OS or a home (``/var/www`` does not)."""
    parts = [p for p in path.replace("*", "").split("/") if p]
    if not parts or path.rstrip("/*") in VAR_SYSTEM or is_home_root(path.rstrip("/*") or "/"):
        return True
    if len(parts) == 1:
        return parts[0] in KNOWN_TOP or path.endswith("*")
    if is_system_file(path.rstrip("/*")):
        return True
    return any(_inside(path, t) or _inside(t.replace("*", "x"), path) for t in CRITICAL_TREES)


# Places for software installed by hand, and the user's own: unpacking an archive there is how it gets installed.
INSTALL_PLACES = frozenset({"/opt", "/srv", "/usr/local", "/mnt", "/media", "/home", "/root", *TEMP_DIRS})


def is_os_tree(path: str) -> bool:
    """Unpacking an archive as root into ``path`` may overwrite the operating system's own files ('/', '/usr',
    '/etc', '/var/lib'); '/opt', '/usr/local/go', a home or /tmp may not."""
    return is_system_tree(path) and not any(_inside(path, t) for t in INSTALL_PLACES)


def is_glob(text: str) -> bool:
    return bool(GLOB_CHARS.search(text))


def protected_target(path: str) -> bool:
    """Like :func:`is_protected` for a path that may hold globs (``/usr/*``, ``~/*``, ``/var/log/*.gz``)."""
    parts = _parts(path)
    for i, part in enumerate(parts):
        if not is_glob(part):
            continue
        prefix = "/" + "/".join(parts[:i])
        if i + 1 < len(parts):  # /home/*/.cache: judge a representative /home/x/.cache
            return protected_target("/".join([prefix.rstrip("/"), "x", *parts[i + 1 :]]))
        if prefix in TEMP_DIRS:
            return False
        whole = not re.search(r"[A-Za-z0-9_-]", part)  # '*', '.*', '*.*': every entry
        if whole:
            return is_protected(prefix)
        return prefix == "/" or prefix == "/etc" or is_system_file(prefix) or prefix in WHOLE_TREES
    return is_protected(path)


def is_write_critical(path: str) -> bool:
    return _matches(path, WRITE_CRITICAL)


def masked_unit(path: str) -> str | None:
    """What is lost when the unit file at ``path`` becomes /dev/null (a mask by hand), or None."""
    if not path.startswith(("/etc/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/")):
        return None
    return lost_unit(path.rsplit("/", 1)[-1])


def anyone_can_plant(path: str) -> bool:
    """A program any local user could have put there or swapped: in a world-writable directory, or hidden
    (a dot name: how a dropped payload keeps out of sight)."""
    return any(_inside(path, t) for t in TEMP_DIRS) or path.rsplit("/", 1)[-1].startswith(".")


def runs_later(path: str) -> bool:
    return _matches(path, RUN_LATER)


def is_startup_file(path: str) -> bool:
    """A user's own shell or session startup file: their setup, which no package restores."""
    return _matches(path, STARTUP_FILES)


def needed_format(path: str) -> re.Pattern[str] | None:
    """The shape of a line of a file the machine needs, or None when ``path`` is not one of them."""
    return next((fmt for pattern, fmt in NEEDED_FORMATS.items() if fnmatch.fnmatchcase(path, pattern)), None)


def weakened(path: str, text: str) -> str | None:
    """What a line of ``text`` written into ``path`` gives away ('PermitRootLogin yes' in sshd_config), or None."""
    weak = next((w for pattern, w in WEAK_SETTINGS.items() if fnmatch.fnmatchcase(path, pattern)), {})
    lines = (" ".join(line.split()).lower() for line in text.splitlines())
    return next((weak[line] for line in lines if line in weak), None)


def is_remove_critical(path: str) -> bool:
    """Removing this one file breaks logins, sudo, booting or the package database."""
    return _matches(path, REMOVE_CRITICAL) or (is_system_file(path) and not path.startswith(("/proc/", "/dev/")))


def is_secret(path: str) -> bool:
    return _matches(path, SECRET_FILES)


def is_image_file(path: str) -> bool:
    """A file in a home or temporary directory that may be a disk image: not a device, not one of the user's
    keys, startup files or history, and not the home or temporary directory itself."""
    mine = _inside(path, "/home/*") or _inside(path, "/root") or any(_inside(path, t) for t in TEMP_DIRS)
    return mine and not (protected_target(path) or is_secret(path) or runs_later(path) or is_raw_device(path))


def is_raw_device(path: str) -> bool:
    """A device node whose writing destroys data or the running kernel (``/dev/sda``, ``/dev/mem``)."""
    if not path.startswith("/dev/") or path.startswith(("/dev/tcp/", "/dev/udp/")):
        return False
    return not _matches(path, SAFE_DEVICES)
