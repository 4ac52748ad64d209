"""Network interfaces: taking the machine's link down cuts it off, and the admin's ssh session with it.

Only the loopback interface may go down without the machine going dark; every other interface,
connection or radio may be the one the admin reaches the machine through.
"""

from __future__ import annotations

from cortex.safety.rules import Context, block, confirm, rule
from cortex.safety.verdict import Finding

LOOPBACK = "lo"
# nmcli object (by its shortest spelling) -> verbs that take the machine off the network.
NMCLI_OFF = {"n": {"off"}, "r": {"off"}, "d": {"disconnect", "down"}, "c": {"down"}}


def _spells(word: str, full: str) -> bool:
    """'l', 'li' and 'link' all name ip's 'link': a prefix of the full name."""
    return bool(word) and full.startswith(word)


def _cut_off(what: str) -> list[Finding]:
    return [block(f"{what}: the machine drops off the network, and a remote admin with it", "critical")]


@rule("ip")
def ip(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args if not w.text.startswith("-")]
    obj, verb = [*texts, "", ""][:2]
    names = [t for t in texts[2:] if t not in ("dev", "down", "up")]
    device = names[0] if names else ""
    if _spells(obj, "link") and _spells(verb, "set") and "down" in texts and device != LOOPBACK:
        return _cut_off(f"ip link set {device} down takes an interface down")
    if _spells(obj, "address") and _spells(verb, "flush") and device != LOOPBACK:
        return _cut_off(f"ip address flush removes the addresses of {device or 'every interface'}")
    if _spells(verb, "show") or _spells(verb, "list") or not verb:
        return []
    return [confirm("ip changes the network configuration")]


@rule("ifconfig")
def ifconfig(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    if "down" in texts and texts[:1] != [LOOPBACK]:
        return _cut_off(f"ifconfig {texts[0]} down takes an interface down")
    return [confirm("ifconfig changes an interface")] if len(texts) > 1 else []


@rule("ifdown", "networkctl")
def ifdown(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    targets = [t for t in texts if t != "down"] if ctx.inv.name == "networkctl" else texts
    down = ctx.inv.name == "ifdown" or texts[:1] == ["down"]
    if down and targets != [LOOPBACK]:
        named = " ".join(t for t in targets if not t.startswith("-")) or "every interface"
        return _cut_off(f"{ctx.inv.name} takes {named} down")
    return [confirm(f"{ctx.inv.name} changes an interface")] if ctx.inv.name == "ifdown" or texts else []


@rule("nmcli")
def nmcli(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args if not w.text.startswith("-")]
    obj = texts[0][:1] if texts else ""
    if set(texts[1:]) & NMCLI_OFF.get(obj, set()) and not (obj == "r" and texts[1:2] == ["wwan"]):
        return _cut_off(f"nmcli {' '.join(texts)}")
    reads = len(texts) < 2 or texts[1] in ("show", "list", "status")
    return [] if reads else [confirm("nmcli changes the network")]
