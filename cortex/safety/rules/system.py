"""Processes, services, accounts and the shell's own memory."""

from __future__ import annotations

import re

from cortex.safety.protected import lost_unit
from cortex.safety.rules import Context, State, block, confirm, names, rule, split_options, word
from cortex.safety.rules.writes import planted, printed
from cortex.safety.verdict import Finding
from cortex.safety.wrappers import unwrap

INIT_NAMES = frozenset({"init", "systemd", "1"})
LOOKUP = re.compile(r"\b(?:pidof|pgrep)\s+(?:-\S+\s+)*([\w.@-]+)")  # the process a $(pidof NAME) names


# process name (as pkill sees it, 15 characters at most) -> its unit, when the two differ
CRITICAL_PROCESSES = {"systemd-journal": "systemd-journald", "systemd-network": "systemd-networkd"}
CRITICAL_PROCESSES |= {"dbus-daemon": "dbus", "agetty": "getty@tty1"}
HARMLESS_SIGNALS = names("HUP USR1 USR2 0 CONT WINCH 1 10 12")


@rule("kill")
def kill(ctx: Context) -> list[Finding]:
    args = [w.text for w in ctx.args]
    signal, pids, i = "TERM", [], 0
    if args and args[0] in ("-l", "-L", "--list", "--table"):
        return []
    while i < len(args):
        a = args[i]
        if a == "--":
            pids += args[i + 1 :]
            break
        if a in ("-s", "-n", "--signal") and i + 1 < len(args):
            signal, i = args[i + 1], i + 2
            continue
        if a.startswith("-") and not pids and signal == "TERM" and i == 0:
            signal = a[1:]
        else:
            pids.append(a)
        i += 1
    if signal in ("0",):
        return []
    looked_up = [m.group(1) for w in ctx.args for m in LOOKUP.finditer(w.raw)]
    if signal.upper().removeprefix("SIG") not in HARMLESS_SIGNALS:
        lost = [(n, what) for n in looked_up if (what := lost_unit(CRITICAL_PROCESSES.get(n, n)))]
        if lost:
            return [block(f"kill stops {n}, which takes away {what}", "critical") for n, what in lost]
    if any(re.search(r"\b(pidof|pgrep)\b.*\b(systemd|init)\b", p) for p in (w.raw for w in ctx.args)):
        return [block("kill signals init/systemd (PID 1): the whole system goes down", "critical")]
    if "1" in pids:
        return [block("kill signals PID 1 (init): the whole system goes down", "critical")]
    if "-1" in pids:
        return [block("kill -1 signals every process you can reach", "critical")]
    if any(p.startswith("-") for p in pids):
        return [confirm("signals a whole process group", "high")]
    return [confirm("stops processes")]


@rule("killall5")
def killall5(ctx: Context) -> list[Finding]:
    return [block("killall5 kills every process on the machine", "critical")]


def _option_value(ctx: Context, options: tuple[str, ...]) -> str | None:
    return next((ctx.args[i + 1].text for i, w in enumerate(ctx.args[:-1]) if w.text in options), None)


@rule("pkill", "killall", "skill", "slay")
def pkill(ctx: Context) -> list[Finding]:
    _, operands = split_options(ctx.args, frozenset({"-u", "-U", "-g", "-G", "-P", "-s", "-t", "--signal", "-n"}))
    names = {w.text for w in operands}
    if names & INIT_NAMES or (ctx.inv.name == "pkill" and any(w.text in ("-1",) for w in ctx.args[1:2])):
        return [block("kills init/systemd: the whole system goes down", "critical")]
    given = (w.text[1:].removeprefix("SIG") for w in ctx.args if re.fullmatch(r"-([A-Z][A-Z0-9+]*|\d+)", w.text))
    signal = next(given, "TERM")
    signal = _option_value(ctx, ("-s", "--signal")) or signal
    lost = [(n, what) for n in sorted(names) if (what := lost_unit(CRITICAL_PROCESSES.get(n, n)))]
    if lost and signal.upper().removeprefix("SIG") not in HARMLESS_SIGNALS:
        return [block(f"{ctx.inv.name} kills {n}, which takes away {what}", "critical") for n, what in lost]
    users = [ctx.args[i + 1].text for i, w in enumerate(ctx.args[:-1]) if w.text in ("-u", "-U")]
    if not operands and users:
        if "root" in users or "0" in users:
            return [block("kills every process of root: the system goes down", "critical")]
        return [confirm("kills every process of a user", "high")]
    return [confirm("stops processes by name")]


# Run states that stop the network, ssh and every service, leaving only a root shell on the console:
# the name systemctl or init gives it -> what it is.
UNREACHABLE_STATES = {
    "rescue": "rescue mode",
    "emergency": "emergency mode",
    "runlevel1": "single-user mode",
    "1": "single-user mode",
    "s": "single-user mode",
    "single": "single-user mode",
}


def _unreachable(state: str, how: str) -> list[Finding]:
    name = re.sub(r"\.target$", "", state).lower()
    if name not in UNREACHABLE_STATES:
        return []
    what = UNREACHABLE_STATES[name]
    return [block(f"{how} puts the machine in {what}: network and ssh stop, only the console is left", "critical")]


@rule("shutdown", "reboot", "poweroff", "halt", "init", "telinit")
def power(ctx: Context) -> list[Finding]:
    if ctx.inv.name in ("init", "telinit") and not ctx.args:
        return [confirm("talks to init")]
    if ctx.inv.name in ("init", "telinit") and (alone := _unreachable(ctx.args[0].text, ctx.inv.name)):
        return alone
    return [confirm(f"{ctx.inv.name} stops or restarts the machine", "high")]


SYSTEMCTL_READ = names(
    "status show cat list-units list-unit-files list-timers list-sockets list-dependencies list-jobs is-active "
    "is-enabled is-failed is-system-running get-default help --version --failed"
)
# systemctl's options that take a value apart ("--host web1 restart nginx" restarts nginx), from systemctl(1)
SYSTEMCTL_VALUED = names(
    "-t --type -p --property -n --lines -H --host -M --machine -s --signal -o --output --root --image --state"
    " --kill-whom --job-mode --preset-mode --what --timestamp --message --boot-loader-entry --boot-loader-menu"
    " --reboot-argument --check-inhibitors --legend -P --drop-in --image-policy --kill-value"
)
SYSTEMCTL_POWER = names("poweroff reboot halt kexec emergency rescue isolate suspend hibernate")


UNIT_LOSS_VERBS = {"stop": "stopping", "mask": "masking", "disable": "disabling", "kill": "killing"}
UNIT_RESTORE_VERBS = names("start restart reload-or-restart enable unmask")


def unit_loss(ctx: Context, verb: str, units: list[str]) -> list[Finding]:
    """Stopping, masking or disabling a critical unit cuts the admin off, now or at the next boot, unless the
    same line starts it again ('systemctl stop ssh.socket && systemctl start ssh.service'): the line's state
    keeps what is lost, and :func:`lost_units` judges it once the whole line is read."""
    doing = UNIT_LOSS_VERBS.get(verb)
    touched = [(u, lost) for u in units if (lost := lost_unit(u))]
    for u, lost in touched:
        if doing:
            ctx.state.units[lost] = f"{doing} {u} takes away {lost}"
        elif verb in UNIT_RESTORE_VERBS:
            ctx.state.units[lost] = None
    return [confirm(f"{doing or verb} {u} affects {lost}", "high") for u, lost in touched]


def lost_units(state: State) -> list[Finding]:
    return [block(reason, "critical") for reason in state.units.values() if reason]


@rule("systemctl")
def systemctl(ctx: Context) -> list[Finding]:
    _, operands = split_options(ctx.args, SYSTEMCTL_VALUED)
    verb = operands[0].text if operands else "list-units"
    if verb in SYSTEMCTL_READ:
        return []
    target = operands[1].text if verb == "isolate" and operands[1:] else verb
    if alone := _unreachable(target, f"systemctl {verb}"):
        return alone
    if verb in SYSTEMCTL_POWER:
        return [confirm(f"systemctl {verb} changes the machine's power or run state", "high")]
    units = [w.text for w in operands[1:]]
    if "--user" not in {w.text for w in ctx.args} and (lost := unit_loss(ctx, verb, units)):
        return lost
    if verb in ("stop", "mask", "disable", "kill") and any(u.startswith(("systemd-", "dbus", "init")) for u in units):
        return [confirm(f"systemctl {verb} of a core system service", "high")]
    return [confirm(f"systemctl {verb} changes services")]


@rule("service", "invoke-rc.d", "update-rc.d", "chkconfig")
def service(ctx: Context) -> list[Finding]:
    """SysV spellings: 'service UNIT stop', 'update-rc.d UNIT disable', 'chkconfig UNIT off'."""
    operands = [w.text for w in ctx.args if not w.text.startswith("-")]
    if len(operands) < 2:
        return [] if operands[:1] in ([], ["--status-all"]) else [confirm(f"{ctx.inv.name} changes services")]
    verb = {"remove": "disable", "off": "disable", "force-stop": "stop"}.get(operands[1], operands[1])
    if verb in ("status", "list"):
        return []
    return unit_loss(ctx, verb, operands[:1]) or [confirm(f"{ctx.inv.name} {operands[1]} changes services")]


@rule("journalctl")
def journalctl(ctx: Context) -> list[Finding]:
    if any(w.text.startswith(("--vacuum", "--rotate", "--flush", "--relinquish")) for w in ctx.args):
        return [confirm("deletes or rotates the system journal")]
    return []


@rule("crontab")
def crontab(ctx: Context) -> list[Finding]:
    flags, files = split_options(ctx.args, frozenset({"-u"}))
    if "-r" in flags:
        return [block("crontab -r deletes every scheduled job without asking")]
    if "-l" in flags:
        return []
    key = ctx.key(files[0].text) if files else None
    if key in ctx.state.written:  # 'echo JOB > f; crontab f'
        text = ctx.state.written[key]
        if text is None:
            return [block(f"crontab installs {files[0].text}, written earlier in this command from unseen output")]
        return planted(ctx, text, cron=True)
    return [confirm("replaces the scheduled jobs")]


@rule("history")
def history(ctx: Context) -> list[Finding]:
    flags, _ = split_options(ctx.args)
    if flags & {"-c", "-d", "-w"} and not (flags == {"-w"} and ctx.args[-1].text != "/dev/null"):
        return [block("history -c/-d erases the shell history: a step of hiding what was done")]
    return []


@rule("unset")
def unset(ctx: Context) -> list[Finding]:
    if any(w.text.startswith("HIST") for w in ctx.args):
        return [block("stops the shell history from being kept: a step of hiding what was done")]
    return []


@rule("export", "declare", "typeset", "local", "readonly")
def export(ctx: Context) -> list[Finding]:
    for w in ctx.args:
        name, _, value = w.text.partition("=")
        if name in ("HISTFILE", "HISTSIZE", "HISTFILESIZE") and value in ("/dev/null", "0", ""):
            return [block("stops the shell history from being kept: a step of hiding what was done")]
        if name in ("LD_PRELOAD", "LD_LIBRARY_PATH", "PATH") and value.startswith("/tmp"):
            return [confirm(f"points {name} at /tmp, where anyone can place files", "high")]
    return []


# Groups whose members are root, or read what only root should (logs, password hashes, raw disks, memory).
PRIVILEGED_GROUPS = {
    "sudo": "runs anything as root",
    "wheel": "runs anything as root",
    "admin": "runs anything as root",
    "root": "owns root's files",
    "0": "owns root's files",
    "adm": "reads every system log, auth.log included",
    "shadow": "reads the password hashes",
    "disk": "reads and writes the raw disks",
    "kmem": "reads the kernel's memory",
}
# Root in practice, and joined by the tools' own documented setup ('usermod -aG docker $USER'): confirmed.
ROOT_EQUIVALENT_GROUPS = names("docker lxd incus libvirt")
# program -> (short options, long options) whose value is a comma-separated list of groups joined
GROUP_OPTIONS = {
    "usermod": ("Gg", ("--groups", "--gid")),
    "useradd": ("Gg", ("--groups", "--gid")),
    "adduser": ("", ("--ingroup", "--gid")),
}


def _option_values(texts: list[str], letters: str, longs: tuple[str, ...]) -> list[str]:
    """Values of an option given as '-G x', '-Gx', '-aG x' (the letter ends a cluster) or '--groups[=]x'."""
    out: list[str] = []
    for i, t in enumerate(texts):
        nxt = texts[i + 1] if i + 1 < len(texts) else ""
        if t.startswith("--"):
            opt, eq, value = t.partition("=")
            if opt in longs:
                out.append(value if eq else nxt)
        elif t.startswith("-") and letters:
            for k, c in enumerate(t[1:], 1):
                if c in letters:
                    out.append(t[k + 1 :] or nxt)
                    break
    return out


def joined_groups(ctx: Context) -> list[str]:
    """The groups an account is put into: usermod/useradd -G/-g, gpasswd -a/-M, adduser/addgroup USER GROUP."""
    name, texts = ctx.inv.name, [w.text for w in ctx.args]
    operands = [t for t in texts if not t.startswith("-")]
    if name in GROUP_OPTIONS:
        values = _option_values(texts, *GROUP_OPTIONS[name])
        if name == "adduser" and len(operands) == 2 and not values:
            values = operands[1:]  # adduser USER GROUP
        return [g for v in values for g in v.split(",") if g]
    if name == "addgroup" and len(operands) == 2:
        return operands[1:]
    if name == "gpasswd" and _option_values(texts, "aM", ("--add", "--members")) and operands:
        return operands[-1:]
    return []


def privilege_grant(ctx: Context) -> list[Finding]:
    """Membership of a root group is root: granted by hand (visudo, like a sudoers line), never by a generated step."""
    out: list[Finding] = []
    for group in joined_groups(ctx):
        if group in PRIVILEGED_GROUPS:
            why = PRIVILEGED_GROUPS[group]
            out.append(block(f"{ctx.inv.name} puts an account into the group {group}, which {why}", "critical"))
        elif group in ROOT_EQUIVALENT_GROUPS:
            out.append(
                confirm(f"{ctx.inv.name} puts an account into {group}, whose members are root in practice", "high")
            )
    return out


@rule("passwd", "chpasswd", "usermod", "useradd", "adduser", "addgroup", "userdel", "deluser", "groupmod", "gpasswd")
@rule("chage")
def accounts(ctx: Context) -> list[Finding]:
    return privilege_grant(ctx) + _account_change(ctx)


# userdel/deluser options that delete the account's files: its home, mail spool, or every file it owns.
REMOVES_FILES = frozenset({"-r", "--remove", "--remove-home", "--remove-all-files"})


def _account_change(ctx: Context) -> list[Finding]:
    name, texts = ctx.inv.name, [w.text for w in ctx.args]
    if name == "passwd" and ("-d" in texts or "--delete" in texts):
        return [block("passwd -d removes a password: anyone may log in as that user")]
    if name in ("usermod", "useradd") and "-o" in texts and any(re.fullmatch(r"0+", t) for t in texts):
        return [block(f"{name} -o -u 0 creates a second root account", "critical")]
    if name in ("usermod", "useradd") and any(t in ("-u", "--uid") for t in texts):
        uid = texts[texts.index("-u" if "-u" in texts else "--uid") + 1 :][:1]
        if uid == ["0"]:
            return [block(f"{name} gives an account UID 0 (root)", "critical")]
    if name in ("usermod", "useradd") and any(t in ("-p", "--password") for t in texts):
        i = texts.index("-p" if "-p" in texts else "--password")
        if i + 1 < len(texts) and texts[i + 1] in ("", "''", '""'):
            return [block(f"{name} sets an empty password")]
    if name == "chpasswd":
        fed = [w.text for c in ctx.cmd.upstream if c.argv[:1] in (["echo"], ["printf"]) for w in c.words[1:]]
        if any(re.search(r"(^|\n)[^:\s]+:(\s|$)", t) for t in fed):
            return [block("chpasswd sets an empty password")]
    if name in ("userdel", "deluser") and "root" in texts:
        return [block("deletes the root account", "critical")]
    flags, _ = split_options(ctx.args)
    if name in ("userdel", "deluser") and flags & REMOVES_FILES and "--backup" not in flags:
        return [block(f"{name} deletes the account's home and files with it, like rm -rf of the home", "critical")]
    return [confirm(f"{name} changes user accounts", "high" if name in ("usermod", "gpasswd") else "medium")]


@rule("visudo", "vipw", "vigr")
def visudo(ctx: Context) -> list[Finding]:
    if ctx.cmd.piped_in:
        return [block(f"feeds text into {ctx.inv.name}, which rewrites sudo or account files")]
    return [confirm(f"{ctx.inv.name} edits account or sudo rules (with a syntax check)", "high")]


@rule("setcap")
def setcap(ctx: Context) -> list[Finding]:
    powerful = ("cap_setuid", "cap_setgid", "cap_sys_admin", "cap_dac_override", "cap_sys_ptrace", "cap_sys_module")
    powerful += ("cap_dac_read_search", "cap_chown", "cap_fowner", "all")
    if any(any(c in w.text.lower() for c in powerful) for w in ctx.args) and not any(w.text == "-r" for w in ctx.args):
        return [block("setcap gives a program root powers (a capability like cap_setuid): a way to become root")]
    return [confirm("setcap changes a program's capabilities", "high")]


@rule("setenforce", "aa-disable", "aa-teardown", "sysctl", "modprobe", "insmod", "rmmod", "kexec")
def kernel(ctx: Context) -> list[Finding]:
    if ctx.inv.name == "aa-teardown":
        return [block("aa-teardown unloads every AppArmor profile: no service is confined any more")]
    if ctx.inv.name == "sysctl" and not any(w.text == "-w" or "=" in w.text or w.text == "-p" for w in ctx.args):
        return []
    return [confirm(f"{ctx.inv.name} changes kernel or security settings", "high")]


@rule("docker", "podman")
def docker(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    verb = texts[0] if texts else ""
    if verb in ("ps", "images", "logs", "inspect", "version", "info", "stats", "top", "search", "history"):
        return []
    for i, t in enumerate(texts):
        value = t.split("=", 1)[1] if t.startswith(("--volume=", "-v=", "--mount=")) else None
        if value is None and t in ("-v", "--volume") and i + 1 < len(texts):
            value = texts[i + 1]
        if value is not None and re.match(r"^(source=|src=)?/:|^/,|^type=bind,(source|src)=/,", value):
            return [block("mounts the host's / into a container: root on the host without a password", "critical")]
        source = value.split(":", 1)[0].removeprefix("source=").removeprefix("src=") if value else ""
        if value and re.fullmatch(r"/(etc|usr|boot|root|bin|sbin|lib|lib64|var|dev)/?", source) and ":ro" not in value:
            return [block(f"mounts the host's {source} writable into a container: root on the host", "critical")]
    if "--privileged" in texts or any(t in ("--pid=host", "--net=host", "--network=host") for t in texts):
        return [confirm("runs a privileged container", "high")]
    if verb in ("system", "volume", "image", "container") and "prune" in texts:
        return [confirm("deletes containers, images or volumes", "high")]
    return [confirm(f"{ctx.inv.name} {verb} changes containers")]


def _crontab_downstream(ctx: Context) -> bool:
    """'echo "* * * * * job" | crontab -': the text becomes the user's crontab."""
    for c in ctx.cmd.downstream:
        inv = unwrap(c.words)
        if inv.name == "crontab" and not any(w.text in ("-l", "-r", "-e") for w in inv.args):
            return True
    return False


@rule("echo", "printf")
def echo(ctx: Context) -> list[Finding]:
    """Text piped into crontab runs later: checked as a command now (text written to files: rules.writes)."""
    text = printed(ctx.cmd)
    if text is None or not _crontab_downstream(ctx):
        return []
    return planted(ctx, text, cron=True)


@rule("set")
def set_(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    if any(t == "+o" for t in texts) and "history" in texts:
        return [block("stops the shell history from being kept: a step of hiding what was done")]
    return []


@rule("at", "batch")
def at(ctx: Context) -> list[Finding]:
    """'at' runs the commands it reads later, through a shell: check them now."""
    if any(w.text in ("-l", "-r", "-d", "-c") for w in ctx.args) or ctx.inv.name == "atq":
        return []
    fed = [c for c in ctx.cmd.upstream if c.argv[:1] in (["echo"], ["printf"])]
    if ctx.cmd.piped_in and len(fed) != len(ctx.cmd.upstream):
        return [block(f"{ctx.inv.name} schedules commands produced at run time, which cannot be checked")]
    out = [f for c in fed for w in c.words[1:] for f in ctx.state.nested_lenient(w.text) if f.level == "block"]
    return out or [confirm(f"{ctx.inv.name} schedules commands to run later")]


@rule("vi", "vim", "nvim", "ex", "view", "vimdiff")
def editor(ctx: Context) -> list[Finding]:
    """Editors given ':!command' on the command line run it through a shell."""
    out: list[Finding] = []
    for i, w in enumerate(ctx.args):
        text = w.text if w.text.startswith("+") else (w.text if i and ctx.args[i - 1].text == "-c" else "")
        m = re.search(r"^[+:]*\s*!(.*)$", text.lstrip("+:"))
        if text and m:
            out += [f for f in ctx.state.nested(m.group(1)) if f.level == "block"]
    return out or [confirm(f"{ctx.inv.name} edits files")]


# GNU parallel's options that take a value apart (parallel(1))
PARALLEL_VALUED = names(
    "-j --jobs -P --max-procs -S --sshlogin --joblog --results --res -a --arg-file --delay --timeout --retries -N"
    " -n --max-args --colsep -C -d --delimiter -I -E --tmpdir --workdir --wd --basefile --bf -L --max-lines"
    " --memfree --load --tag-string --tagstring"
)


@rule("parallel")
def parallel(ctx: Context) -> list[Finding]:
    """GNU parallel runs its command once per argument after ':::' ({} marks where the argument goes)."""
    texts = [w.text for w in ctx.args]
    if ":::" not in texts:
        return [confirm("parallel runs a command for each line of its input")]
    cut = texts.index(":::")
    start = 0  # parallel's own options come first; the command keeps its own ("rm -rf {}")
    while start < cut and texts[start].startswith("-"):
        start += 2 if texts[start] in PARALLEL_VALUED else 1
    command = list(ctx.args[start:cut])
    out: list[Finding] = []
    for arg in ctx.args[cut + 1 :]:
        if arg.text in (":::", "::::"):
            continue
        words = [word(w.text.replace("{}", arg.text)) if "{}" in w.text else w for w in command]
        if not any("{}" in w.text for w in command):
            words.append(arg)
        out += ctx.state.check_words(words, ctx.cmd) if words else []
    return out or [confirm("parallel runs commands")]
