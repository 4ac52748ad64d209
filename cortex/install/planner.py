"""From a request to a checked plan, grounded in apt's own index.

0. Unicode is folded (NFKC) and a word imitating a package name with look-alike
   letters of other scripts is refused (``cortex.packages.lookalikes``). Words
   the index has never heard of are read as the closest words it knows
   ("instal wireshrk" -> "install wireshark", ``cortex.packages.spelling``).
1. A request that names packages exactly ("install tree and htop") is planned
   from the index alone, no model involved.
2. Otherwise each part of the request ("a web server and a database" has two)
   is matched against the index without a model (``cortex.packages.search``).
3. The model then picks among the few best real candidates only: its answer is
   constrained by a JSON schema whose ``enum`` is their names (llama-server's
   ``response_format``), so it cannot invent a package. A provider that cannot
   follow a schema (Claude) is asked for the same JSON in words, and any answer
   outside the names keeps the ranking's choice. A small model is a weak
   judge, so its pick replaces the ranking's first choice only when the two
   are close (within ``MODEL_MARGIN`` of the top score).
4. Commands are synthesised, never generated: ``apt-get install -y`` for the
   packages, ``systemctl enable --now`` for the services they ship. A request
   whose verb removes named packages (``cortex.install.intent``) plans
   ``apt-get remove -y`` (or ``purge``) of those dpkg says are installed.
5. ``check_plan`` validates every step once and checks its packages against
   apt's index. ``make_plan`` is the one route to a plan: ``cortex install``
   and ``CommandInterpreter`` both call it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from cortex.install.checks import check_plan
from cortex.install.exact import exact_packages, request_words
from cortex.install.intent import IntentError, Part, read_request
from cortex.install.plan import Plan, Step
from cortex.install.removal import installed
from cortex.packages.index import PackageIndex, open_index
from cortex.packages.lookalikes import LookalikeError, check
from cortex.packages.search import Candidate, rank
from cortex.packages.spelling import correct
from cortex.providers import Capability, Options, Provider, ProviderError

log = logging.getLogger(__name__)

CHOICES = 6  # candidates the model sees
# The model may overrule the ranking only among candidates this close to the top (relative). Measured with
# SmolLM2-135M on the three request sets in eval/ (312 requests): with the model's picks, 1 plan fewer was
# right than with the ranking alone at 0.02, 6 fewer at 0.05; at no margin did the model gain any.
MODEL_MARGIN = 0.02
CHOOSER_SYSTEM = (
    "You pick the Debian package that best fulfils a user's request. "
    "Answer with JSON naming exactly one package from the list."
)
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bplus\b|&)\s*")
_DETERMINER = re.compile(r"^(?:a|an|the|some|install|set up|setup|add|get)\b")


# The model, or what builds it: called only when the model must choose (building llama.cpp's client imports
# http.client and ssl, 30 ms that most plans never need).
Chooser = Provider | Callable[[], Provider] | None


class PlanError(RuntimeError):
    """No package fulfils the request; the message says what to try."""


def split_request(request: str, index: PackageIndex | None = None) -> list[str]:
    """The independent parts of a request: "a web server and a database" -> two parts.

    Split only where every part starts like a request of its own: with an article or a verb, or as a list
    of package names does ("install mariadb and phpmyadmin", "zip and unzip files": a part that is one name,
    or one starting with a name after a first part that is one name). So "a tool to search and replace text"
    and "download and extract archives" (extract is a package too) stay whole.
    """
    parts = [p for p in _SPLIT.split(request.strip()) if p]
    if len(parts) < 2:
        return [request]

    def names_only(part: str) -> bool:  # one name: "seccomp filters" is a phrase whose words happen to be names
        words = request_words(part)
        return index is not None and len(words) == 1 and index.names_software(words[0])

    listing = names_only(parts[0])

    def starts_request(part: str) -> bool:
        if _DETERMINER.match(part.lower()) or names_only(part):
            return True
        return listing and index is not None and index.names_software(part.lower().split()[0])

    return parts if all(starts_request(p) for p in parts[1:]) else [request]


def choose(request: str, candidates: list[Candidate], provider: Chooser) -> tuple[Candidate, str]:
    """The candidate to install and why: the ranking's best, or the model's pick when it is close enough."""
    best = candidates[0]
    close = [c for c in candidates[1:CHOICES] if c.score >= best.score - MODEL_MARGIN * abs(best.score)]
    if provider is None or not close:
        return best, "best match in the package index"  # the model could only confirm it: 0.5 s saved
    if not isinstance(provider, Provider):
        provider = provider()
    shown = candidates[:CHOICES]
    names = [c.package.name for c in shown]
    listing = "\n".join(f"- {c.package.name}: {c.package.summary}" for c in shown)
    schema: dict[str, Any] | None = {
        "type": "object",
        "properties": {"package": {"type": "string", "enum": names}},
        "required": ["package"],
    }
    question = "Which package?"
    if Capability.JSON_SCHEMA not in provider.capabilities:  # asked in words; the names are checked below
        schema, question = None, 'Which package? Answer only {"package": "NAME"}.'
    messages = [
        {"role": "system", "content": CHOOSER_SYSTEM},
        {"role": "user", "content": f"Request: {request}\nPackages:\n{listing}\n{question}"},
    ]
    try:
        options = Options(max_tokens=32, temperature=0.0, json_schema=schema, stream=False)
        text = provider.prompt(messages, options).text()
        picked = json.loads(text[text.find("{") : text.rfind("}") + 1]).get("package")  # prose around it is dropped
    except (ProviderError, ValueError, AttributeError) as e:
        log.info("model choice unavailable, keeping the ranking: %s", e)
        return best, "best match in the package index (model unavailable)"
    pick = next((c for c in shown if c.package.name == picked), None)
    if pick is None:
        return best, "best match in the package index (the model named no candidate)"
    if pick is best:
        return best, "best match in the package index, confirmed by the model"
    if pick.score >= best.score - MODEL_MARGIN * abs(best.score):
        return pick, f"chosen by the model among close matches (ranking preferred {best.package.name})"
    return best, f"best match in the package index (the model's {pick.package.name} ranked clearly lower)"


def install_steps(packages: list[str], index: PackageIndex) -> list[Step]:
    """``apt-get install`` for the packages, then enabling each service they ship."""
    steps = [Step(["apt-get", "install", "-y", *packages], why="install " + ", ".join(packages), needs_root=True)]
    for name, pkg in index.get_many(packages).items():
        if pkg.service:
            steps.append(
                Step(
                    ["systemctl", "enable", "--now", pkg.service], why=f"start {name} now and at boot", needs_root=True
                )
            )
    return steps


def remove_steps(part: Part, plan: Plan) -> list[Step]:
    """``apt-get remove`` (or ``purge``) of the part's packages that dpkg says are installed; the rest are noted."""
    present = installed(list(part.names))
    absent = [n for n in part.names if n not in present]
    if absent:
        plan.notes.append(f"not installed, so nothing to remove: {', '.join(absent)}")
    names = [n for n in part.names if n in present]
    if not names:
        return []
    plan.remove += [n for n in names if n not in plan.remove]
    plan.packages += [n for n in names if n not in plan.packages]
    why = "remove " + ", ".join(names) + (" and their configuration files" if part.action == "purge" else "")
    return [Step(["apt-get", part.action, "-y", *names], why=why, needs_root=True)]


def install_packages(request: str, plan: Plan, index: PackageIndex, provider: Chooser) -> list[str]:
    """The packages that fulfil an install request, with the notes saying why each was chosen."""
    exact = exact_packages(request, index)
    if exact:
        plan.notes.append("named exactly: " + ", ".join(exact))
        return exact
    packages: list[str] = []
    parts = split_request(request, index)
    for part in parts:
        # "... and the dig command": a part may name its packages too (a whole request was tried above)
        named = exact_packages(part, index) if len(parts) > 1 else None
        if named:
            packages += [n for n in named if n not in packages]
            plan.notes.append(f"{', '.join(named)} for {part!r}: named exactly")
            continue
        candidates = rank(part, index)
        if not candidates:
            raise PlanError(f"no package in the index matches {part!r}; try other words or 'apt-cache search'")
        picked, why = choose(part, candidates, provider)
        if picked.package.name not in packages:
            packages.append(picked.package.name)
        others = ", ".join([c.package.name for c in candidates if c is not picked][:3])
        plan.notes.append(f"{picked.package.name} for {part!r}: {why}; also considered {others}")
    return packages


def make_plan(request: str, config: Any = None, provider: Chooser = None, index: PackageIndex | None = None) -> Plan:
    """The checked plan for ``request`` (every step validated, every package in apt's index); raises
    PlanError when nothing in the index fits or the request cannot be read safely, PackageIndexError when
    apt's lists are missing."""
    if not request.strip():
        raise PlanError("the request is empty; say what to install, e.g. 'cortex install \"a web server\"'")
    index = index or open_index(config)
    if provider is not None and not isinstance(provider, Provider):
        provider = functools.cache(provider)  # built once, by the first choice that needs the model
    plan = Plan(request=request)
    try:
        folded = check(request, index)
        if folded != request:
            plan.notes.append(f"read {request!r} as {folded!r} (Unicode compatibility forms folded)")
        request, fixes = correct(folded, index)
        if fixes:
            plan.notes.append("read " + ", ".join(f"{typed!r} as {meant!r}" for typed, meant in sorted(fixes.items())))
        parts = read_request(request, index) or [Part("install", request)]
    except (LookalikeError, IntentError) as e:
        raise PlanError(str(e)) from e
    for part in parts:
        if part.action != "install":
            plan.steps += remove_steps(part, plan)
            continue
        packages = install_packages(part.text, plan, index, provider)
        plan.packages += [p for p in packages if p not in plan.packages]
        plan.steps += install_steps(packages, index)
    return check_plan(plan, index=index)
