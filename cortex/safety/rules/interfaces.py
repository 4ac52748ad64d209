"""Network interfaces: taking the machine's link down cuts it off, and the admin's ssh session with it.

Only the loopback interface may go down without the machine going dark; every other interface,
connection, route or radio may be the one the admin reaches the machine through. Like a stopped unit
(:mod:`cortex.safety.rules.system`), what goes down is kept in the line's state: the line is blocked once it
is read whole unless it brings the same thing up again ('ip link set eth0 down && ip link set eth0 up').
"""

from __future__ import annotations

from cortex.safety.rules import Context, confirm, rule
from cortex.safety.verdict import Finding

LOOPBACK = "lo"
# nmcli object (by its first letter) -> its verbs that take something down, and those that bring it back.
NMCLI_DOWN = {"n": {"off"}, "r": {"off"}, "d": {"disconnect", "down"}, "c": {"down"}}
NMCLI_UP = {"n": {"on"}, "r": {"on"}, "d": {"connect", "up"}, "c": {"up"}}
NMCLI_LOST = {"n": "the network", "r": "the radios", "d": "the link {}", "c": "the connection {}"}


def _spells(word: str, full: str) -> bool:
    """'l', 'li' and 'link' all name ip's 'link': a prefix of the full name."""
    return bool(word) and full.startswith(word)


def _goes(ctx: Context, lost: str, down: bool, how: str) -> list[Finding]:
    """Record ``lost`` going down (or coming back) for the whole line to judge."""
    if LOOPBACK in lost.split():
        return [confirm(f"{how} changes the loopback interface")]
    why = f"{how} takes away {lost}: the machine drops off the network, and a remote admin"
    ctx.state.units[lost] = why if down else None
    return [confirm(f"{how} {'takes down' if down else 'brings up'} {lost}", "high")]


@rule("ip")
def ip(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args if not w.text.startswith("-")]
    obj, verb = [*texts, "", ""][:2]
    names = [t for t in texts[2:] if t not in ("dev", "down", "up")]
    device = names[0] if names else "every interface"
    if _spells(obj, "link") and _spells(verb, "set") and {"down", "up"} & set(texts):
        return _goes(ctx, f"the link {device}", "down" in texts, f"ip link set {device}")
    if _spells(obj, "address") and _spells(verb, "flush"):
        return _goes(ctx, f"the addresses of {device}", True, "ip address flush")
    if _spells(obj, "route") and "default" in texts and (_spells(verb, "delete") or _spells(verb, "add")):
        return _goes(ctx, "the default route", _spells(verb, "delete"), f"ip route {verb} default")
    if _spells(obj, "route") and _spells(verb, "flush") and "cache" not in texts:
        return _goes(ctx, "the routes", True, "ip route flush")
    if _spells(verb, "show") or _spells(verb, "list") or not verb:
        return []
    return [confirm("ip changes the network configuration")]


@rule("ifconfig")
def ifconfig(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    if {"down", "up"} & set(texts):
        return _goes(ctx, f"the link {texts[0]}", "down" in texts, f"ifconfig {texts[0]}")
    return [confirm("ifconfig changes an interface")] if len(texts) > 1 else []


@rule("ifdown", "ifup", "networkctl")
def ifupdown(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    verb = texts[0] if ctx.inv.name == "networkctl" and texts else ctx.inv.name[2:]
    if verb not in ("down", "up"):
        return [] if verb in ("list", "status", "lldp", "label") else [confirm(f"{ctx.inv.name} changes the network")]
    named = [t for t in texts if not t.startswith("-") and t != verb]
    lost = f"the link {' '.join(named)}" if named else "every interface"
    return _goes(ctx, lost, verb == "down", ctx.inv.name)


@rule("nmcli")
def nmcli(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args if not w.text.startswith("-")]
    obj = texts[0][:1] if texts else ""
    verbs = set(texts[1:])
    if obj in NMCLI_LOST and not (obj == "r" and texts[1:2] == ["wwan"]) and verbs & (NMCLI_DOWN[obj] | NMCLI_UP[obj]):
        named = [t for t in texts[2:] if t not in ("id", "uuid", "all", "wifi", *NMCLI_DOWN[obj], *NMCLI_UP[obj])]
        lost = NMCLI_LOST[obj].format(" ".join(named) or "every interface")
        return _goes(ctx, lost, bool(verbs & NMCLI_DOWN[obj]), f"nmcli {' '.join(texts[:2])}")
    reads = len(texts) < 2 or texts[1] in ("show", "list", "status")
    return [] if reads else [confirm("nmcli changes the network")]
