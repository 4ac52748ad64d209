"""Firewalls: a flushed rule set under a DROP default, or a rule that drops ssh from everywhere, cuts off the
admin's own ssh session.

Each firewall command records what it does to the line's :class:`State`: a
flush, a DROP/REJECT default on incoming (or outgoing) traffic, a rule that
denies ssh from any source, a rule that keeps ssh or established connections
open, ufw being enabled. Which of these the whole line does, in any order,
decides :func:`lockout`.
"""

from __future__ import annotations

import itertools
import re

from cortex.safety.rules import Context, State, block, confirm, rule
from cortex.safety.verdict import Finding

LOCKED_CHAINS = ("INPUT", "OUTPUT")
MATCH_OPTIONS = frozenset({"-p", "-s", "-d", "-i", "-o", "-m", "--protocol", "--source", "--destination"})
SSH_PORT = re.compile(r"^(22|ssh|OpenSSH)(/tcp)?$|(^|[,:])22([,:]|$)", re.I)
SOURCE_OPTIONS = frozenset({"-s", "--source", "--src"})
NFT_SSH_DROP = re.compile(r"dport\s+(\{[^}]*\b(22|ssh)\b[^}]*\}|22\b|ssh\b)[^;]*\b(drop|reject)\b")
NFT_SSH = re.compile(r"dport\s+(\{[^}]*\b(22|ssh)\b[^}]*\}|22\b|ssh\b)[^;]*accept|ct state [^;]*established[^;]*accept")


def _iptables(texts: list[str]) -> set[str]:
    events: set[str] = set()
    table = next((texts[i + 1] for i, t in enumerate(texts[:-1]) if t in ("-t", "--table")), "filter")
    if table != "filter":
        return events
    for i, t in enumerate(texts):
        nxt = texts[i + 1] if i + 1 < len(texts) else ""
        if t in ("-F", "--flush") and (nxt in LOCKED_CHAINS or not nxt or nxt.startswith("-")):
            events.add("flush")
        if t in ("-P", "--policy") and nxt in LOCKED_CHAINS and texts[i + 2 : i + 3] in (["DROP"], ["REJECT"]):
            events.add("drop")
    jump = next((nxt for t, nxt in itertools.pairwise(texts) if t in ("-j", "--jump")), "")
    matches = [t for t in texts if t in MATCH_OPTIONS or t.startswith("--")]
    if jump in ("DROP", "REJECT") and any(c in texts for c in LOCKED_CHAINS) and not matches:
        events.add("drop")  # '-A INPUT -j DROP': a catch-all rule drops like a policy
    accepts = jump == "ACCEPT"
    ports = [n for t, n in itertools.pairwise(texts) if t in ("--dport", "--dports", "--destination-port")]
    anyone = not SOURCE_OPTIONS & set(texts)
    if jump in ("DROP", "REJECT") and "INPUT" in texts and anyone and any(SSH_PORT.search(p) for p in ports):
        events.add("deny-ssh")
    if accepts and (any(SSH_PORT.search(p) for p in ports) or any("ESTABLISHED" in t for t in texts)):
        events.add("ssh")
    return events


def _nft(texts: list[str]) -> set[str]:
    line = " ".join(texts)
    events: set[str] = set()
    if texts[:1] == ["flush"] and (texts[1:2] in (["ruleset"], ["table"]) or "input" in texts[2:]):
        events.add("flush")
    if re.search(r"policy\s+(drop|reject)", line):
        events.add("drop")
    if NFT_SSH.search(line):
        events.add("ssh")
    if NFT_SSH_DROP.search(line) and "saddr" not in line and "input" in texts:
        events.add("deny-ssh")
    return events


def _ufw(texts: list[str]) -> set[str]:
    words = [t for t in texts if not t.startswith("-")]
    verb = words[0] if words else ""
    if verb == "reset":
        return {"flush"}
    if verb == "enable":
        return {"enable"}
    if verb == "default" and words[1:2] in (["deny"], ["reject"]) and words[2:3] in ([], ["incoming"]):
        return {"drop"}
    if verb in ("allow", "limit") and any(SSH_PORT.search(w) for w in words[1:]):
        return {"ssh"}
    anyone = words[1:2] != ["from"] or words[2:3] == ["any"]  # 'deny from 203.0.113.7 ... 22' bans one host
    anyone = anyone and "out" not in words[1:2]  # 'deny out 22' only stops ssh from here to elsewhere
    if verb in ("deny", "reject") and anyone and any(SSH_PORT.search(w) for w in words[1:]):
        return {"deny-ssh"}
    return set()


EVENTS = {"iptables": _iptables, "ip6tables": _iptables, "nft": _nft, "ufw": _ufw}


@rule("iptables", "ip6tables", "nft", "ufw", "firewall-cmd", "iptables-restore")
def firewall(ctx: Context) -> list[Finding]:
    texts = [w.text for w in ctx.args]
    if ctx.inv.name in EVENTS:
        ctx.state.firewall.setdefault(ctx.inv.name, set()).update(EVENTS[ctx.inv.name](texts))
    if ctx.inv.name in ("iptables", "ip6tables") and set(texts) & {"-L", "-S", "--list", "--list-rules"}:
        return []
    if ctx.inv.name == "ufw" and texts[:1] in (["status"], ["app"]):
        return []
    if ctx.inv.name == "nft" and texts[:1] == ["list"]:
        return []
    risky = {"-F", "--flush", "-X", "disable", "flush", "reset", "-P", "--policy"}
    return [confirm(f"{ctx.inv.name} changes the firewall", "high" if set(texts) & risky else "medium")]


def lockout(state: State) -> list[Finding]:
    """A line that flushes a firewall and sets a DROP default, keeping no rule for ssh, drops the admin's own
    session (ufw only once the line enables it again: its reset leaves it off); so does a rule that denies ssh
    from any source, unless the line also keeps ssh open for some ('allow from 10.0.0.0/8 ... deny 22')."""
    out: list[Finding] = []
    for tool, events in state.firewall.items():
        active = tool != "ufw" or "enable" in events
        if {"flush", "drop"} <= events and "ssh" not in events and active:
            out.append(block(f"{tool} flushes its rules and drops by default, with no rule left for ssh", "critical"))
        elif "deny-ssh" in events and "ssh" not in events:
            out.append(block(f"{tool} denies ssh from everywhere: the admin's own session is cut off", "critical"))
    return out
