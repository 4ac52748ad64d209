"""Grounded ``cortex ask``: facts first, computed in Python; the model only explains.

* **The lead.** When the facts answer the question outright (how much memory,
  how many CPUs, which OS or kernel, is X installed or running, what is X),
  :func:`lead_sentence` writes the answer's first sentence from them. The CLI
  prints it before the model's stream, so the answer cannot contradict them.
* **How-to answers.** When the facts do not lead, the question is taken as a
  how-to: :mod:`cortex.ask.howto` finds the commands in this machine's manual
  pages and Debian's index, and they lead, each with its source. When nothing
  grounds one, the lead says so in one line; the model never picks a command.
  A question that says none of the words a lead needs (:func:`cortex.ask.questions.could_lead`) is
  a how-to before any fact is read, so its facts' commands (``dpkg-query``,
  ``man -f``) run in another thread while the commands are searched.
* **The model's explanation** streams word by word through
  :mod:`cortex.ask.explanation`, which never prints what repeats the lead,
  contradicts any fact given to it, or names a command that is neither on this
  machine nor among the grounded suggestions.
* **The context.** The facts that fit ``Config.llm_ctx`` (about four characters
  a token for SmolLM2's tokenizer, room left for the answer) go into the user
  message. The system prompt is one constant string, byte for byte the same on
  every ask, so llama-server's prompt cache serves its prefix every time.
  The messages end with the user's, for every provider: given the lead as the
  start of its own reply (a prefill), the bundled model ends its turn or copies
  the prompt, and not every provider takes one (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cortex.ask.explanation import grounded_stream
from cortex.ask.facts import Fact, gather, gib
from cortex.ask.howto import HowTo
from cortex.ask.questions import ASKS, could_lead
from cortex.meanwhile import Meanwhile
from cortex.packages.index import PackageIndex, PackageIndexError, open_index
from cortex.providers import Options, Provider, Response, get_provider

SYSTEM_PROMPT = (
    "You are Cortex, an assistant on the user's Linux machine. "
    "The facts in the message are true for this machine; never contradict them. "
    "If an answer is given, explain it briefly. Reply in at most three short sentences."
)
CHARS_PER_TOKEN = 4  # SmolLM2's tokenizer on English and shell text
TEMPLATE_TOKENS = 24  # chat-template markers around the two messages
ANSWER_TOKENS = 128  # room kept for the model's explanation
SCAFFOLD_TOKENS = 24  # "Facts about this machine:", "Question:", "Answer:" and the closing instruction


@dataclass
class AskResult:
    """A grounded answer: print ``lead`` first, then stream ``response``."""

    question: str
    lead: str
    response: Response
    facts: list[Fact] = field(default_factory=list)
    howto: HowTo | None = None

    def text(self) -> str:
        """The whole answer (waits for the model): the lead, then the explanation."""
        explanation = self.response.text().strip()
        return f"{self.lead} {explanation}".strip() if self.lead else explanation

    def to_dict(self) -> dict[str, Any]:
        """The ``cortex ask --json`` document (DESIGN section 3), plus the lead and the facts used."""
        answer = self.text()
        return {
            "question": self.question,
            "answer": answer,
            "lead": self.lead,
            "facts": [f.text for f in self.facts],
            "commands": [
                {
                    "command": s.command,
                    "source": s.cite,
                    "package": s.package,
                    "installed": s.installed,
                    "verdict": s.verdict,
                    "caution": s.caution,
                }
                for s in (self.howto.suggestions if self.howto else [])
            ],
            "weak_match": bool(self.howto and self.howto.grounded and not self.howto.sure),  # "Not sure; ..."
            "blocked": (self.howto.blocked or None) if self.howto else None,  # why the best match is not shown
            **{k: v for k, v in self.response.stats().items() if k != "first_token_ms"},
        }


def tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def fit_facts(facts: list[Fact], budget_tokens: int) -> list[Fact]:
    """The facts, most relevant first, that fit ``budget_tokens``; a fact that does not fit is cut, not dropped,
    when it is the first one."""
    out: list[Fact] = []
    left = budget_tokens
    for fact in facts:
        cost = tokens(fact.text) + 1  # the "- " and newline
        if cost <= left:
            out.append(fact)
            left -= cost
        elif not out and left > 8:
            out.append(
                Fact(fact.topic, fact.text[: (left - 1) * CHARS_PER_TOKEN - 3] + "...", fact.data, fact.priority)
            )
            left = 0
    return out


def _first(facts: list[Fact], topic: str) -> Fact | None:
    return next((f for f in facts if f.topic == topic), None)


def _subject(question: str, facts: list[Fact]) -> Fact | None:
    """The package or command fact the question is about: the first one whose name the question says."""
    for fact in facts:
        if fact.topic in ("package", "command"):
            return fact
    return None


def lead_sentence(question: str, facts: list[Fact]) -> str:
    """The answer's first sentence when the facts answer ``question`` outright, else ""."""
    q = question.lower()
    package = _first(facts, "package")
    if ASKS["version"].search(q) and package is not None and package.data["installed"]:
        return f"{package.data['name']} {package.data['version']} is installed on this machine."
    if ASKS["installed"].search(q):
        if package is not None:
            d = package.data
            if d["installed"]:
                return f"Yes, {d['name']} {d['version']} is installed on this machine."
            return f"No, {d['name']} is not installed on this machine."
        m = re.search(r"\bis\s+([a-z0-9][a-z0-9+.\-]*)\s+installed", q)
        if m:
            return f"No, {m.group(1)} is not installed on this machine (apt knows no package of that name)."
    service = _first(facts, "service")
    if service is not None and ASKS["running"].search(q):
        state, unit = service.data["state"], service.data["unit"]
        if state == "not installed":
            return f"No, {unit} is not running: it is not installed on this machine."
        if state == "unknown":
            return f"{unit} is installed, but systemd is not running here, so its service state cannot be checked."
        return f"{'Yes' if state == 'active' else 'No'}, {unit} is {state}."
    memory = _first(facts, "memory")
    if memory is not None and ASKS["amount"].search(q) and "disk" not in q:
        d = memory.data
        return f"This machine has {gib(d['total'])} of memory, {gib(d['available'])} of it available now."
    cpu = _first(facts, "cpu")
    if cpu is not None and ASKS["count"].search(q):
        d = cpu.data
        return f"This machine has {d['count']} CPUs ({d['physical']} physical cores)."
    disk = _first(facts, "disk")
    if disk is not None and ASKS["room"].search(q):
        d = disk.data
        return f"The filesystem {d['mount']} has {gib(d['free'])} free of {gib(d['total'])}."
    kernel = _first(facts, "kernel")
    if kernel is not None:
        return f"The running kernel is Linux {kernel.data['release']}."
    arch = _first(facts, "arch")
    if arch is not None:
        deb = f" (Debian architecture {arch.data['debian']})" if arch.data["debian"] else ""
        return f"This machine's architecture is {arch.data['machine']}{deb}."
    os_fact = _first(facts, "os")
    if os_fact is not None and os_fact.priority == 0:
        return f"This machine runs {os_fact.data['name']}."
    subject = _subject(question, facts)
    comparing = re.search(r"\b(difference|differences|compare|versus|vs)\b", q)
    if subject is not None and not comparing and ASKS["meaning"].search(q):
        d = subject.data
        if subject.topic == "command":
            return f"{d['name']} is a command: {d['summary']}."
        state = "installed" if d["installed"] else "not installed"
        return f"{d['name']} is a Debian package ({state}): {d['summary']}."
    return ""


def build_messages(question: str, facts: list[Fact], lead: str) -> list[dict[str, str]]:
    """The system prompt (constant) and a user message with the facts, the question and the lead."""
    lines = ["Facts about this machine:", *(f"- {f.text}" for f in facts), "", f"Question: {question.strip()}"]
    if lead:
        lines.append(f"Answer: {lead}")
        lines.append("Add one short sentence that explains this answer.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def answer(
    question: str,
    config: Any = None,
    provider: Provider | None = None,
    index: PackageIndex | None = None,
    max_tokens: int = ANSWER_TOKENS,
) -> AskResult:
    """Gather the facts, compute the lead, and start the model's explanation (streamed as it is iterated)."""
    if config is None:
        from cortex.config import load_config

        config = load_config()
    if index is None:
        try:
            index = open_index(config)
        except PackageIndexError:
            index = None  # package facts then come from dpkg-query and apt-cache alone
    howto = None
    provider = provider or get_provider(config=config)
    if index is not None and not could_lead(question):  # a how-to: its facts are read meanwhile
        with Meanwhile(gather, question, index) as gathering:
            howto = suggest_commands(question, config, index, provider)
            facts = gathering.result()
    else:
        facts = gather(question, index=index)
    lead = lead_sentence(question, facts)
    if not lead and index is not None:
        howto = howto if howto is not None else suggest_commands(question, config, index, provider)
        if howto.grounded or _subject(question, facts) is None:  # a subject's facts still let the model explain
            lead = howto.text()
        facts = [*(Fact("howto", s.line(), {"command": s.command}, 0) for s in howto.suggestions), *facts]
    fixed = TEMPLATE_TOKENS + tokens(SYSTEM_PROMPT) + tokens(question) + tokens(lead) + SCAFFOLD_TOKENS
    room = max(config.llm_ctx - fixed, 0)
    # The answer gets what it asked for, but never more than half of what the context has left.
    max_tokens = max(min(max_tokens, config["llm.max_tokens_per_request"], room // 2), 1)
    used = fit_facts(facts, room - max_tokens)
    options = Options(max_tokens=max_tokens, temperature=0.2)
    response = provider.prompt(build_messages(question, used, lead), options)
    truths = [lead, *(f.text for f in used)] if lead else [f.text for f in used]
    allowed = {s.program.split()[0] for s in howto.suggestions} if howto else set()
    response.pipe(lambda chunks: grounded_stream(chunks, lead, truths, allowed))
    return AskResult(question=question, lead=lead, response=response, facts=used, howto=howto)


def suggest_commands(question: str, config: Any, index: PackageIndex, provider: Provider | None = None) -> HowTo:
    """The grounded commands for a how-to question, from this machine's documentation (kept in step with
    dpkg's status), after those a model larger than the bundled one proposes and this machine verifies
    (:mod:`cortex.ask.proposals`)."""
    from cortex.ask.docs import open_store
    from cortex.ask.howto import suggest
    from cortex.ask.proposals import propose, proposes, with_proposals

    found = suggest(question, index, open_store(config, index))
    if provider is not None and proposes(provider, config):
        return with_proposals(found, propose(question, provider, index))
    return found
