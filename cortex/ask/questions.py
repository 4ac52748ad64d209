"""What a question asks, from its words alone: the topics of facts it touches, and whether the facts may
answer it outright. Light on purpose: ``cortex ask`` decides with it, before its heavy imports, whether the
question is a how-to that will need the vector worker (:mod:`cortex.packages.vector_worker`)."""

from __future__ import annotations

import re

TOPICS: dict[str, re.Pattern[str]] = {
    "memory": re.compile(r"\b(memory|ram|swap)\b"),
    "cpu": re.compile(r"\b(cpus?|cores?|processors?|threads)\b"),
    "os": re.compile(r"\b(os|operating system|distro|distribution|debian|ubuntu|release|linux version)\b"),
    "kernel": re.compile(r"\bkernel\b"),
    "arch": re.compile(r"\b(arch|architecture|32.bit|64.bit)\b"),
    "disk": re.compile(r"\b(disk|disks|storage|filesystems?|partitions?|space|mounted)\b"),
    "service": re.compile(r"\b(running|active|service|started|enabled|up)\b"),
}
# What a question must say for the facts to answer it outright (lead_sentence), besides the topics whose fact
# alone leads (LEADING_TOPICS): a question that says none of them is a how-to before any fact is read.
ASKS = {
    "version": re.compile(r"\bversion\b"),
    "installed": re.compile(r"\binstalled\b"),
    "running": re.compile(r"\b(running|active|started|up)\b"),
    "amount": re.compile(r"\b(how much|amount|total|size)\b"),
    "count": re.compile(r"\b(how many|number|count)\b"),
    "room": re.compile(r"\b(free|space|left|available|full|used)\b"),
    "meaning": re.compile(r"\b(what|explain|describe)\b"),
}
LEADING_TOPICS = ("kernel", "arch", "os")


def could_lead(question: str) -> bool:
    """Whether the facts may answer ``question`` outright: False means :func:`cortex.ask.answer.lead_sentence` is
    "" whatever they are (every one of its sentences needs one of ``ASKS`` or a fact of ``LEADING_TOPICS`` the
    question names)."""
    q = question.lower()
    return any(p.search(q) for p in ASKS.values()) or any(TOPICS[t].search(q) for t in LEADING_TOPICS)
