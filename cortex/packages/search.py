"""From a plain-language request to ranked real packages, with no model.

1. **Concepts.** The request's words minus stop words; each word, or each
   phrase the intent table knows ("file manager", "back up"), is one concept
   with its expansions: what people say mapped to the words Debian's
   descriptions and debtags use ("record my screen" -> "screencast"). The table
   is about kinds of request, not about particular packages. Each concept is
   weighted by its IDF in the index, so "dns" matters more than "server".
2. **Retrieve.** FTS5 (bm25, the name weighted highest): an OR-query of every
   term, an AND-query of every concept (relaxed, most generic concept first,
   until something matches), the mainstream programs among the matches, and
   for "-dev" requests the ``lib<word>*-dev`` names.
3. **Rank.** Mostly *coverage*: the IDF-weighted share of concepts the
   package's name or summary states (its debtags or long description count
   less). Then bm25, the request phrase in the summary, a request word that is
   the name (only when the rest of the request fits too), popularity (reverse
   Depends/Recommends/Suggests, priority, the mainstream list and the default
   pick of each kind in popular.py; scaled by coverage, so a popular package
   never wins on fame alone), terminal or graphical programs when asked,
   metapackages when a whole desktop or suite is asked for; penalties for
   parts of packages (``-dev``, ``-doc``, libraries, language bindings,
   transitional dummies) unless the request asks for them, and for clients
   when it asks for a server.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cortex.packages.index import Hit, ManualHit, Package, PackageIndex, fts_query, tag_words
from cortex.packages.vocabulary import (
    DEFAULTS,
    ECOSYSTEM_PREFIXES,
    GRAPHICAL_WORDS,
    INTENTS,
    LIBRARY_PREFIXES,
    PART_SECTIONS,
    PART_SUFFIXES,
    PLUGIN_WORDS,
    POPULAR,
    SERVER_TAGS,
    SERVER_WORDS,
    STOP_WORDS,
    SUITE_WORDS,
    TERMINAL_WORDS,
    WANTS_DEV,
    WANTS_DOC,
)

CROSS = re.compile(r"(?<=-)(?:cross|armel|armhf|arm64|i386|mips\w*|ppc64\w*|powerpc|s390x|riscv64|hppa|m68k|sh4|x32)\b")


@dataclass
class Query:
    """The words of a request and the search terms they expand to."""

    words: list[str]
    terms: list[str]
    request: str = ""  # lower-cased, as typed
    groups: list[list[str]] = field(default_factory=list)  # one concept a group: a word and its expansions
    frequencies: list[int] = field(default_factory=list)  # how many programs mention each group
    weights: list[float] = field(default_factory=list)  # each group's IDF: rare concepts matter more
    expanded: set[str] = field(default_factory=set)  # single words of every term, for name matching
    phrases: list[str] = field(default_factory=list)  # the request's word pairs and their intent phrases
    context: set[str] = field(default_factory=set)  # words of "on my laptop", "for my kids": where, not what
    likeness: set[str] = field(default_factory=set)  # "a matlab alternative", "minecraft-like": the model, not it
    unwanted: set[int] = field(default_factory=set)  # groups the request asks to be without ("no home dir")

    @property
    def wants_dev(self) -> bool:
        return bool(WANTS_DEV & set(self.words))

    @property
    def wants_doc(self) -> bool:
        return bool(WANTS_DOC & set(self.words))

    @property
    def singular(self) -> bool:
        """The request asks for one thing: "a chess game", "an irc client"."""
        return bool(re.match(r"(?:i (?:want|need) )?(?:an?|one)\b", self.request))

    @property
    def wants_server(self) -> bool:
        """Asked of the words as typed: "host" says server but is a stop word, not a concept to match."""
        return bool(SERVER_WORDS & set(re.findall(r"[a-z]+", self.request)))


@dataclass(frozen=True)
class Candidate:
    package: Package
    score: float
    why: tuple[str, ...]  # the signals that counted, for notes and debugging


def content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9][a-z0-9+.\-]*[a-z0-9+]|[a-z0-9]", text.lower())
    return [w for w in words if w not in STOP_WORDS]


# "a matlab alternative", "an alternative to photoshop", "a minecraft-like game", "a clone of tetris": the
# request wants a program like X, so packages named after X (tools for X) are not it.
LIKENESS = (
    re.compile(r"\b([a-z0-9+.]+)(?:-like| alternative| replacement| clone| equivalent)\b"),
    re.compile(r"\b(?:alternative|replacement|clone|equivalent|substitute) (?:to|for|of) ([a-z0-9+.]+)"),
)
LIKENESS_MARKERS = ("like", "alternative", "replacement", "clone", "equivalent", "substitute")

# "on my laptop", "for my kids", "in the lan": where or for whom, not what to install. Such words count less.
CONTEXT = re.compile(
    r"\b(?:on|in|for|at|into|inside) (?:my|our|the|his|her|their|this|a) ([a-z0-9 .+\-]+?)"
    r"(?=$|[,.;]| (?:on|in|for|at|with|from|to|so|and) )"
)
CONTEXT_WEIGHT = 0.5


def build_query(request: str, join: bool = False) -> Query:
    """The request's concepts: each content word with its intent expansions, except that a phrase the intent
    table knows ("file manager", "back up") is one concept, not two words. With ``join``, two words in a row
    may also be one ("time zone" matches "timezone")."""
    likeness = {m.group(1) for pattern in LIKENESS for m in pattern.finditer(request.lower())} - STOP_WORDS
    for marker in LIKENESS_MARKERS:  # "a minecraft-like game" asks for a game, and minecraft is only the model
        request = re.sub(rf"-?\b{marker}\b", " ", request, flags=re.I)
    words = content_words(request)
    lowered = " ".join(re.findall(r"[a-z0-9.+\-]+", request.lower()))
    phrases = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    groups: list[list[str]] = []
    used: set[str] = set()
    for key, expansion in INTENTS.items():
        key_words = key.split()
        if len(key_words) < 2 or not (key in lowered or all(k in words for k in key_words)):
            continue
        if any(k in used for k in key_words if k in words):
            continue  # a word belongs to one phrase only
        groups.append([key, *expansion])
        phrases += [key, *(t for t in expansion if " " in t)]
        used.update(k for k in key_words if k in words)
    for w in words:
        if w in used:
            continue
        parts = w.split("-") if "-" in w else []  # "brute-force" also means "brute" and "force"
        joined = ["".join(parts)] if parts else []  # "SHA-256" is written "SHA256" too, "e-mail" "email"
        groups.append([w, *joined, *INTENTS.get(w, ()), *(t for p in parts for t in INTENTS.get(p, ()))])
    for a, b in itertools.pairwise(words) if join else ():  # "time zone" is also "timezone"
        for group in groups:
            if group[0] in (a, b) and a.isalpha() and b.isalpha():
                group.append(a + b)
    groups = [list(dict.fromkeys(g)) for g in groups]
    terms = list(dict.fromkeys(t for g in groups for t in g))
    expanded = {w for t in terms for w in t.split() if w}
    context = {w for m in CONTEXT.finditer(request.lower()) for w in content_words(m.group(1))}
    return Query(
        words=words,
        terms=terms,
        request=request.strip().lower(),
        groups=groups,
        expanded=expanded,
        phrases=phrases,
        context=context,
        likeness=likeness,
    )


SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "ors", "er", "or", "es", "ed", "s", "e", "ly")


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A crude stem, the same on both sides of a comparison: "recorder", "recording" -> "record"."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:6]


def word_keys(words: list[str]) -> set[str]:
    """What a text's words can be matched by: their stems, and their first five letters (marked with ``~``)."""
    keys = {stem(w) for w in words}
    keys |= {"~" + w[:5] for w in words if len(w) >= 5}
    return keys


def _matches(word: str, keys: set[str]) -> bool:
    return stem(word) in keys or (len(word) >= 5 and "~" + word[:5] in keys)


def covers(term: str, keys: set[str]) -> bool:
    return all(_matches(w, keys) for w in _term_words(term))


@functools.lru_cache(maxsize=1 << 12)
def _term_words(term: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", term))


SECONDARY = 0.6  # a concept only the tags or the long description mention counts this much


def text_keys(text: str) -> set[str]:
    return word_keys(re.findall(r"[a-z0-9]+", text.lower()))


def coverage(pkg: Package, query: Query, pages: Sequence[ManualHit] = ()) -> float:
    """The share of the request's concepts (IDF-weighted) that the package mentions: fully in its name or
    summary, or in the NAME line of one of its manual pages ("add physical volumes to a volume group" is
    vgextend's, in lvm2), ``SECONDARY`` in its debtags or long description only."""
    if not query.groups:
        return 0.0
    weights = query.weights or [1.0] * len(query.groups)
    names = {pkg.name, pkg.source, *(n.removeprefix("lib") for n in (pkg.name, pkg.source) if n.startswith("lib"))}
    text = f"{' '.join(names)} {pkg.summary} {pkg.app_title}".lower()
    primary = word_keys(re.findall(r"[a-z0-9]+", text) + re.findall(r"[a-z]+", " ".join(names)))
    primary |= names | {stem(n) for n in names}
    secondary = text_keys(f"{pkg.description[:400]} {tag_words(pkg.tags)} {pkg.app_keywords}") | primary
    full = {i for i, group in enumerate(query.groups) if any(covers(t, primary) for t in group)}
    part = {i for i, group in enumerate(query.groups) if any(covers(t, secondary) for t in group)} - full
    best = full
    for page in pages:
        keys = text_keys(f"{' '.join(page.names)} {page.description}")
        covered = full | {i for i, group in enumerate(query.groups) if any(covers(t, keys) for t in group)}
        if sum(weights[i] for i in covered) > sum(weights[i] for i in best):
            best = covered
    hit = sum(weights[i] for i in best) + SECONDARY * sum(weights[i] for i in part - best)
    return hit / sum(weights) if sum(weights) else 0.0


def page_cover(page: ManualHit, query: Query) -> float:
    """The share of the request's concepts one NAME line covers by itself ("add physical volumes to a volume
    group" is all of vgextend's)."""
    weights = query.weights or [1.0] * len(query.groups)
    keys = text_keys(f"{' '.join(page.names)} {page.description}")
    hit = sum(w for group, w in zip(query.groups, weights, strict=True) if any(covers(t, keys) for t in group))
    return hit / sum(weights) if sum(weights) else 0.0


def _name_tokens(name: str) -> list[str]:
    """The words of a package name, digits dropped: ``lua5.4`` -> lua, ``python3-dev`` -> python, dev."""
    return re.findall(r"[a-z]+", name)


# The ranking's signals; features are in [0, 1] (popularity 0-5, priority 0-4), penalties are positive marks
# with negative weights. The weights are fitted to request sets by scripts/fit_ranking.py (data/ranking.json).
SIGNALS: dict[str, str] = {
    "relevance": "bm25, relative to the best hit of the search",
    "coverage": "share of the request's concepts (IDF-weighted) the package's text mentions",
    "manual": "bm25 of the package's best manual page NAME line, relative to the best page's",
    "page_coverage": "coverage when the NAME line of one of its manual pages counts as the summary",
    "page_only": "the share of the request's concepts the best NAME line covers by itself",
    "semantic": "cosine of the request and the package's summary or a NAME line, in distilled MiniLM vectors",
    "phrase": "an intent phrase ('domain name', 'screen recorder') appears in the summary",
    "pairs": "share of the request's word pairs found as consecutive words in the summary or a NAME line",
    "named": "a request word is the package's name, and the rest of the request fits it",
    "intent_named": "an intent expansion is the package's name",
    "name_words": "share of the name's words that are specific words of the request",
    "provides": "provides a virtual package the request names",
    "popularity": "log of packages depending on, recommending or suggesting it",
    "popular": "on the list of mainstream programs (popular.py), the stand-in for popcon",
    "default": "the default pick of its kind (popular.py): breaks ties among mainstream programs",
    "priority": "Debian's priority (required 4 ... optional 1)",
    "program": "debtag role::program",
    "curated": "log of how many metapackages (Debian's tasks and blends) depend on or recommend it",
    "gui": "a desktop program (debtags or AppStream)",
    "metapackage": "a metapackage; negative when one program is asked for ('a chess game')",
    "suite": "a metapackage or task, and the request asks for a whole environment ('the xfce desktop')",
    "service": "ships a service and the request asks for a server",
    "client": "the request asks for a server; this is a client or a desktop program that ships none",
    "terminal": "a text-mode or command-line program and the request asks for one",
    "graphical": "an X11/Wayland program and the request asks for a graphical one",
    "part": "a library, -dev, -doc, -data, a binding... not asked for",
    "transitional": "a transitional or dummy package",
    "versioned": "foo-14 when the request does not name a version",
}
WEIGHTS_FILE = Path(__file__).parent / "data" / "ranking.json"
WEIGHTS: dict[str, float] = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
GATED = ("popularity", "popular", "default", "priority", "program", "suite", "curated")
PRIOR_GATE = 0  # priors scale with (coverage / best coverage) ** PRIOR_GATE
DESCRIBED = "@described"  # suffix of a signal scaled by how well one NAME line explains the request
LONG = "@long"  # suffix of a signal scaled by how long the request is (``long_request``)
# A request of LONG_CONCEPTS[0] concepts or fewer is a request for a kind of program, one of LONG_CONCEPTS[1] or
# more a description of what a tool does. Measured on the sets: 90 % of the request rows have at most 4 concepts
# (95 % at most 5), 90 % of the description rows (man-page NAME lines, cheat sheets) at least 4, half of them 7 or
# more. (4, 7) let two request rows of each of two sets go; (5, 8) none.
LONG_CONCEPTS = (5, 8)


def long_request(query: Query) -> float:
    """0 for a short request ("a web server"), 1 for a long description ("show which processes are doing the
    most disk reads and writes"), linear in between: the two want different weights, above all for priors
    (the mainstream program of a kind is the right answer to the first and rarely to the second)."""
    low, high = LONG_CONCEPTS
    return min(1.0, max(0.0, (len(query.groups) - low) / (high - low)))


def _stems(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def pair_share(query: Query, texts: list[str]) -> float:
    """The share of the request's word pairs ("volume group", "name servers") that one of ``texts`` has as
    consecutive words, stems compared: phrase and proximity, which a bag of words cannot see."""
    pairs = {(stem(a), stem(b)) for a, b in itertools.pairwise(query.words) if a not in query.context}
    if not pairs:
        return 0.0
    best = 0
    for text in texts:
        stems = _stems(text)
        best = max(best, len(pairs & set(itertools.pairwise(stems))))
    return best / len(pairs)


@dataclass(frozen=True)
class Evidence:
    """What the searches found for one package: its bm25 relevance (package text, best manual page), each
    relative to the best of its search, and its manual pages."""

    relevance: float = 0.0
    manual: float = 0.0
    pages: tuple[ManualHit, ...] = ()


def features(pkg: Package, evidence: Evidence, query: Query) -> dict[str, float]:
    """The ranking signals of one package the searches found."""
    words, expanded = set(query.words), query.expanded
    name = pkg.name
    summary = pkg.summary.lower()
    f: dict[str, float] = {
        "relevance": evidence.relevance,
        "manual": evidence.manual,
        "coverage": coverage(pkg, query),
        "page_coverage": coverage(pkg, query, evidence.pages) if evidence.pages else 0.0,
        "page_only": max((page_cover(page, query) for page in evidence.pages), default=0.0),
    }
    f["phrase"] = 1.0 if any(p in summary for p in query.phrases) else 0.0
    f["pairs"] = pair_share(query, [summary, *(page.description for page in evidence.pages)])
    if name in words:
        # A request word that is this package's name counts fully only if the rest of the request fits it too:
        # "the zsh shell" is zsh, "record my screen" is not GNU screen.
        others = [w for w in query.words if w != name]
        own = word_keys(re.findall(r"[a-z0-9]+", summary))
        f["named"] = sum(1 for w in others if _matches(w, own)) / len(others) if others else 1.0
    elif query.wants_dev and any(name in (f"lib{w}-dev", f"{w}-dev") for w in words):
        f["named"] = 1.0  # "ssl development headers" names libssl-dev as surely as "install libssl-dev" would
    elif name in expanded:
        f["intent_named"] = 1.0
    tokens = _name_tokens(name)
    specific = {w for g, wt in zip(query.groups, query.weights or [5.0] * len(query.groups), strict=True) if wt > 4.5
                for t in g for w in t.split()}  # fmt: skip
    if tokens and name not in expanded:
        f["name_words"] = sum(1 for t in tokens if t in specific) / len(tokens)
    f["provides"] = 1.0 if any(v in expanded or v in words for v in pkg.provides) else 0.0
    f["popularity"] = min(math.log1p(pkg.rdepends + pkg.mentions), 5.0)
    f["popular"] = 1.0 if name in POPULAR else 0.0
    f["default"] = 1.0 if name in DEFAULTS else 0.0
    f["priority"] = float(pkg.priority_rank)
    f["program"] = 1.0 if "role::program" in pkg.tags else 0.0
    f["curated"] = min(math.log1p(pkg.curated), 3.0)
    f["metapackage"] = 1.0 if pkg.section == "metapackages" else 0.0
    if f["metapackage"] and query.singular and not SUITE_WORDS & words:
        f["metapackage"] = -1.0  # "a chess game" is one program, not Debian's collection of chess games
    if SUITE_WORDS & words and (pkg.section == "metapackages" or name.startswith("task-")):
        f["suite"] = 1.0
    text_mode = any(t in pkg.tags for t in ("interface::commandline", "interface::text-mode"))
    windowed = any(t in pkg.tags for t in ("interface::x11", "interface::graphical"))
    f["gui"] = 1.0 if windowed or (pkg.app and not text_mode) else 0.0
    serves = bool(pkg.service or pkg.units) or any(t in pkg.tags for t in SERVER_TAGS)
    f["service"] = 1.0 if query.wants_server and serves else 0.0
    if query.wants_server and not serves:
        client = windowed or "network::client" in pkg.tags or re.search(r"\bclient\b", summary)
        f["client"] = 1.0 if "server" not in summary and client else 0.0
    if TERMINAL_WORDS & words and "emulator" not in words:  # a desktop-only program is wrong "for the terminal"
        f["terminal"] = 1.0 if text_mode else -1.0 if windowed else 0.0
    if GRAPHICAL_WORDS & words:
        f["graphical"] = 1.0 if windowed else 0.0
    # Parts of packages, libraries and bindings: wanted only when asked for.
    part = 0.0
    is_program = "role::program" in pkg.tags or pkg.app or pkg.section == "metapackages" or name in POPULAR
    if name.startswith("lib") and not query.wants_dev and not is_program:  # libreoffice is no library
        part += 1.0
    if re.search(r"\b(?:extension|plugin|plug-in|add-on|addon)\b", summary) and not PLUGIN_WORDS & words:
        part += 0.5  # "nautilus extension to mass resize images" is part of another program
    if any(x in name for x in query.likeness):
        part += 1.0  # matlab2tikz is a tool for matlab, not an alternative to it
    if CROSS.search(name) and not {"cross", *CROSS.findall(name)} & words:
        part += 1.0  # a cross-compilation variant for another architecture
    if "shared librar" in summary and not query.wants_dev:
        part += 0.5
    asked_section = pkg.section in words or pkg.section.rstrip("s") in words  # "fonts for programming"
    if pkg.section in PART_SECTIONS and not asked_section and not (query.wants_dev and pkg.section == "libdevel"):
        part += 0.75
    if name.endswith(PART_SUFFIXES):
        if name.endswith("-dev") and query.wants_dev:
            part -= 0.5
        elif not (name.endswith("-doc") and query.wants_doc):
            part += 1.0
    for prefix, topic in ECOSYSTEM_PREFIXES.items():
        if name.startswith(prefix) and not {topic, topic + "s", prefix.rstrip("-")} & words:
            part += 1.0
            break
    f["part"] = part
    f["transitional"] = 1.0 if "transitional" in summary or "dummy" in summary else 0.0
    # foo-14, linux-headers-6.1.0-50-amd64: a pinned version, when an unversioned name follows the current one
    version = re.search(r"-(\d+(?:\.\d+)*)$|-(\d+\.\d+[\w.+~]*)(?=-)", name)
    pinned = version and (version.group(1) or version.group(2))
    f["versioned"] = 1.0 if pinned and len(name) > 3 and pinned not in words else 0.0
    return f


def score(f: dict[str, float], weights: dict[str, float] = WEIGHTS) -> tuple[float, tuple[str, ...]]:
    """The no-model ranking score of one package's features, and the signals that counted most."""
    parts = {k: weights.get(k, 0.0) * v for k, v in f.items()}
    why = tuple(k for k, v in sorted(parts.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.5)
    return sum(parts.values()), why


MANUAL_HITS = 100  # the packages of the best-matching manual pages join the candidates
SEMANTIC_HITS = 30  # and those of the texts closest in meaning


def frequency(group: list[str], index: PackageIndex) -> int:
    """How many packages other than libraries and language bindings mention a concept: its generality among the
    programs a request is after."""
    return index.frequency(fts_query(group), LIBRARY_PREFIXES)


def retrieve(query: Query, index: PackageIndex) -> list[Hit]:
    """Hits that match every concept of the query; concepts are dropped, most generic first, until some match."""
    hits = {h.package.name: h for h in index.search(query.terms, limit=200)}
    for h in index.search(query.terms, limit=50, names=POPULAR):  # mainstream programs drowned by variants
        hits.setdefault(h.package.name, h)
    concepts = [(g, f) for g, f in zip(query.groups, query.frequencies, strict=True) if fts_query(g)]
    while concepts:
        strict = index.search_all([fts_query(g) for g, _ in concepts], limit=300)
        for h in strict:
            hits.setdefault(h.package.name, h)
        if len(strict) >= 10 or len(concepts) == 1:
            break
        concepts.remove(max(concepts, key=lambda c: c[1]))
    if query.wants_dev:  # "ssl development headers" -> libssl-dev, "zlib headers" -> zlib1g-dev
        for word in query.words:
            if word not in WANTS_DEV and re.fullmatch(r"[a-z0-9][a-z0-9+.]*", word):
                for h in index.search(query.terms, limit=20, name_like=[f"lib{word}%-dev", f"{word}%-dev"]):
                    hits.setdefault(h.package.name, h)
    return list(hits.values())


def weigh(query: Query, index: PackageIndex, counts: Callable[[str], int] | None = None, total: int = 0) -> Query:
    """Set each concept's frequency and its IDF weight (context words count less): by default among the
    programs of the index, else among ``total`` documents, ``counts(fts)`` of which match a concept."""
    if counts is None:  # programs' texts and manual NAME lines: what the request is matched against
        total = index.count() + index.manual_count()
        query.frequencies = [frequency(g, index) + index.manual_count(fts_query(g)) for g in query.groups]
    else:
        query.frequencies = [counts(fts_query(g)) if fts_query(g) else 0 for g in query.groups]
    total = max(total, 1)
    query.weights = [
        (math.log(total / (1 + f)) + 0.1) * (CONTEXT_WEIGHT if g[0] in query.context else 1)
        for g, f in zip(query.groups, query.frequencies, strict=True)
    ]
    return query


def candidates(request: str, index: PackageIndex) -> list[tuple[Package, dict[str, float]]]:
    """Every package the searches find for ``request``, with its ranking features. Priors (popularity, the
    mainstream lists, priority...) count only as far as the package fits the request as well as the best
    fitting one does: never enough to outvote a clearly better match."""
    query = weigh(build_query(request), index)
    hits = {h.package.name: h for h in retrieve(query, index)}
    pages: dict[str, list[ManualHit]] = {}
    for page in index.search_manuals(query.terms):
        pages.setdefault(page.package, []).append(page)
    by_page = {name: found[0].relevance for name, found in pages.items()}  # best first
    strong = sorted(by_page, key=lambda n: -by_page[n])[:MANUAL_HITS]
    vector = index.vectors.encode(request)  # once per request: about 30 ms
    close = index.nearest(vector, SEMANTIC_HITS)  # what full-text search misses: other words, same meaning
    for name, pkg in index.get_many([n for n in [*strong, *close] if n not in hits]).items():
        hits[name] = Hit(pkg, 0.0)
    if not hits:
        return []
    best = max(h.relevance for h in hits.values()) or 1.0
    best_page = max(by_page.values(), default=0.0) or 1.0
    meaning = index.similarity(vector, hits)
    neutral = sum(meaning.values()) / len(meaning) if meaning else 0.0  # a package without a vector (a library)
    found = []
    for name, h in hits.items():
        evidence = Evidence(h.relevance / best, by_page.get(name, 0.0) / best_page, tuple(pages.get(name, ())))
        f = features(h.package, evidence, query)
        f["semantic"] = meaning.get(name, neutral)
        found.append((h.package, f))
    fit_best = max(f["coverage"] for _, f in found) or 1.0
    # How far one NAME line alone explains the request: high for a description of a command ("add physical
    # volumes to a volume group"), low for a request for a kind of program ("a web server"). Each signal
    # also counts scaled by it, so the weights can differ between the two (scripts/fit_ranking.py).
    described = max(f["page_only"] for _, f in found)
    long = long_request(query)
    for _, f in found:
        fit = f["coverage"] * (f["coverage"] / fit_best) ** PRIOR_GATE
        for k in GATED:
            if k in f:
                f[k] *= fit
        for k in list(f):
            f[k + DESCRIBED] = f[k] * described
            if long:  # (a short request's @long signals are all 0: not written, a plan need not sum them)
                f[k + LONG] = f[k] * long
    return found


def rank(request: str, index: PackageIndex, limit: int = 10, weights: dict[str, float] = WEIGHTS) -> list[Candidate]:
    """The best ``limit`` real packages for ``request``, best first."""
    scored = [Candidate(pkg, *score(f, weights)) for pkg, f in candidates(request, index)]
    return sorted(scored, key=lambda c: -c.score)[:limit]
