"""How-to answers built from this machine's documentation: which command, which options, and where it says so.

"How do I see which process is using port 80?" is answered by retrieval, not
by the model:

1. **What is asked.** The question's concepts (``cortex.packages.search``),
   minus the values it names: a port, a path, a size, a service or package
   ("restart nginx", "the ssh service") are arguments to fill in, not words
   to match.
2. **Which program.** The concepts are matched against the NAME lines of
   every manual page (installed here, or in Debian's archive with the package
   that ships it) and against the options, sub-commands, examples and usage
   lines of the installed pages (:mod:`cortex.ask.docs`). A page scores by how
   much of the question its NAME line, or its NAME line and one of its
   entries, covers (IDF-weighted), then bm25, then whether it is installed and
   how widely its package is used.
3. **Which invocation.** The entry that covers most: an example as written,
   a sub-command or the options whose descriptions cover what the NAME line
   does not, their placeholders (``UNIT``, ``FILE``, ``USER``...) filled from
   the question's values.
4. **Checks.** Every command goes through the validator; a blocked one is
   never suggested. A program that is not installed is shown with its
   package. Each suggestion carries its source (``ss(8)``).

When nothing covers the question well enough, the answer says so instead of
guessing.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field

from cortex.ask.docs import DocHit, DocStore
from cortex.meanwhile import Meanwhile
from cortex.packages.index import ManualHit, PackageIndex, fts_query, on_path
from cortex.packages.search import Query, build_query, covers, stem, text_keys, weigh
from cortex.packages.vocabulary import STOP_WORDS

# Words that ask for a command but say nothing about which one.
ASKING = frozenset(
    {"command", "commands", "cmd", "way", "ways", "easiest", "quickly", "quick", "properly", "correctly", "terminal",
     "shell", "bash", "cli", "know", "tell", "possible", "anyone", "guys", "hi", "hello", "thanks", "pls", "hey"}
)  # fmt: skip
GROUNDED = 0.5  # the least share of the question a suggestion must cover in words...
MEANT = 0.55  # ...or how close in meaning its NAME line or entry must be (cosine, all-MiniLM-L6-v2)
SEMANTIC = 1.0  # closeness in meaning against share of words covered, when an entry is chosen
WEIGHTS = {
    "share": 4.3, "name_share": 2.0, "bm25": 2.1, "fills": 2.8, "name_sim": 10.4, "package_sim": 1.4, "entry_sim": 8.9,
    "installed": 3.2, "popularity": 0.5,
}  # fmt: skip
NEAREST = 40  # pages taken by closeness in meaning alone
VALUED_MEANT = 0.3
OPTION_MEANT = 0.65  # an option this close to the question is added even when it covers no new word (0.45 added noise)
ALSO = 0.85  # other programs are suggested when they score this close to the best
# Below this score the best suggestion is shown as the closest match, not as the way: of the 334 answers of the
# dev set and blind sets A-F, the 63 below it were right 5 times; of set G's 39, 1 of 15 (docs/ARCHITECTURE.md).
SURE = 16.0
NOT_SURE = "Not sure; the closest match:"
NOTHING = (
    "Nothing in this machine's manual pages or Debian's package index answers that; a larger model may know"
    " (cortex model list shows them, cortex model pull NAME fetches one)."
)
BLOCKED = "The closest match is blocked here ({}), so it is not shown."  # the validator's reasons
ALLOWED = "Further off:"  # what follows a blocked best match
QUOTED = re.compile(r"[\"'“‘`]([\w.+-]{2,})[\"'”’`]")  # a value an option's text lists: "ed25519", "yesterday"
KIND_ORDER = {"example": 3, "command": 2, "option": 1, "usage": 0}  # at equal cover, the more complete entry
PLACEHOLDERS = {
    "unit": ("UNIT", "SERVICE", "UNITS", "PATTERN", "NAME"),
    "user": ("USER", "LOGIN", "USERNAME"),  # not NEW_LOGIN (usermod -l): the name an account is to get
    "group": ("GROUP", "GROUPS", "GROUPNAME"),
    "port": ("PORT",),
    "pid": ("PID", "PIDS", "PROCESS_ID"),
    "signal": ("SIGNAL", "SIG"),
    "path": ("FILE", "PATH", "DIR", "DIRECTORY", "FILENAME", "ARCHIVE", "DEVICE", "MOUNTPOINT", "FILES"),
    "host": ("HOST", "HOSTNAME", "DESTINATION", "ADDRESS"),
    "package": ("PACKAGE", "PACKAGES", "PKG", "PACKAGE-NAME", "PACKAGE_NAME"),
}
NAMES = frozenset(
    {
        "NAME",
        "PATTERN",
        "PROCESS",
        "PROCESS_NAME",
        "PROGRAM",
        "COMMAND",
        "PACKAGE",
        "PACKAGES",
        "PKG",
        "HOST",
        "HOSTNAME",
        "DOMAIN",
        "DESTINATION",
        "SERVER",
        "TARGET",
    }
)  # fmt: skip  placeholders a name the question gives can fill
KNOWN_PLACEHOLDERS = frozenset(
    {*(n for names in PLACEHOLDERS.values() for n in names), *NAMES} - {"COMMAND", "PROGRAM", "PATH"}
)  # what a lower-case synopsis word stands for (a literal "command" or "path" is often a sub-command)
ACTIONS = frozenset({"COMMAND", "OBJECT", "ACTION", "OPERATION", "SUBCOMMAND"})  # a usage's open action
VALUE_SHAPES = {  # values an example uses that the question's own replace
    "path": r"(?<![\w/.~=@-])/[\w.@%+-]+(?:/[\w.@%+*-]*)*",
    "number": r"(?<![\w.:/-])\d{2,}(?![\w.:/])",
}
NEGATION = re.compile(r"\b(?:don'?t|do not|doesn'?t|does not|never)\s+((?:need|want|have)\s+to\s+)?(\w+)", re.I)
# What a text says it does not do: "--ignore-hold: Ignore package holds", "-M: Do not create the user's home
# directory". The scope runs to the end of the clause, at most twelve words. A question may say it so too, or
# as what something is to be kept from ("prevent linux-image-amd64 from being upgraded").
NOT_DOING = re.compile(
    r"\b(?:not|no|never|without|ignor(?:e|es|ed|ing)|don'?t|doesn'?t|cannot)\b((?:[\s-]+[^\s,;:.()\[\]-]+){1,12})", re.I
)
KEPT_FROM = re.compile(r"\b(?:prevent|stop|keep|block|avoid)\w*\s+(?:\S+\s+){0,3}?from\s+(?:being\s+)?(\w+)", re.I)
OWNED = "account|password|passwd|home|shell|crontab|groups?|processes|files|quota|login|uid|sessions?|mailbox"
NOT_VALUES = STOP_WORDS | {"systemd", "account", "accounts", "primary", "every"}  # "the user when ..." names no one


@dataclass(frozen=True)
class Suggestion:
    """One grounded way to do what was asked."""

    command: str  # what to type, e.g. "journalctl -u ssh"
    program: str
    cite: str  # "journalctl(1)"
    package: str
    installed: bool
    summary: str  # the page's NAME line description
    detail: str  # the option or example text the command comes from ("" for the NAME line alone)
    score: float
    verdict: str = "allow"
    caution: str = ""  # what the validator says it changes, when it would ask before running it ("stops processes")

    def line(self) -> str:
        """The suggestion as one fact: the command, its source, what it does, and what to mind before typing it."""
        what = _sentence(self.detail or self.summary).replace("`", "'")  # man pages quote `like this'
        careful = f" Careful: {self.caution.rstrip('.')}." if self.caution else ""
        return f"`{self.command}` ({self.source()}): {what}{careful}"

    def source(self) -> str:
        """Where the suggestion comes from, for the answer: the page, and the package when not installed."""
        if self.installed:
            return self.cite
        return f"{self.cite}, package {self.package}, not installed: sudo apt install {self.package}"


@dataclass
class HowTo:
    question: str
    suggestions: list[Suggestion] = field(default_factory=list)
    blocked: str = ""  # why the validator blocks the best match, when it does ("puts an account into sudo...")

    @property
    def grounded(self) -> bool:
        return bool(self.suggestions)

    @property
    def sure(self) -> bool:
        """Whether the best suggestion scores as right answers do (``SURE``); a model's proposal, which this
        machine verified, scores 0 and counts as sure."""
        return bool(self.suggestions) and not 0 < self.suggestions[0].score < SURE

    def text(self) -> str:
        """The answer's grounded part: the commands, each with what it does and its source; a weak best match
        says it is one, and a blocked one why it is not shown."""
        blocked = [BLOCKED.format(self.blocked.rstrip("."))] if self.blocked else []
        if not self.suggestions:
            return blocked[0] if blocked else NOTHING
        first = ALLOWED if self.blocked else "Use" if self.sure else NOT_SURE
        return "\n".join(
            [*blocked, *(f"{first if n == 0 else 'Or'} {s.line()}" for n, s in enumerate(self.suggestions))]
        )


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    first = re.split(r"(?<=[a-z0-9)])\.\s", text, maxsplit=1)[0].rstrip(".")
    if len(first) > 160:
        first = first[:157].rsplit(" ", 1)[0] + "..."
    return first + "."


# Values ------------------------------------------------------------------------------------------------------


@dataclass
class Values:
    """What the question names, by the kind of placeholder it fills, and the words that named them."""

    by_kind: dict[str, str] = field(default_factory=dict)
    words: set[str] = field(default_factory=set)
    asked: set[str] = field(default_factory=set)  # every word of the question, for values an option lists
    entities: list[str] = field(default_factory=list)  # package names and names with digits or dots it says
    shaped: dict[str, list[str]] = field(default_factory=dict)  # its paths and numbers, for examples' own
    said: list[str] = field(default_factory=list)  # its words in order, for values that follow an option's name

    def listed(self, text: str) -> str | None:
        """A value the question names that an option's description lists in quotes: "ed25519" for
        ``ssh-keygen -t`` ("The possible values are "dsa", "ecdsa", ... "ed25519"")."""
        for value in QUOTED.findall(text):
            if value.lower() in self.asked:
                return value
        return None

    def by_name(self, tag: str, text: str) -> tuple[str, str] | None:
        """An option the question names, by its long name or its argument's, with its value: "since yesterday"
        -> ("--since", "yesterday") for ``-S, --since=, -U, --until=``, "max depth 1" -> ("--max-depth", "1"),
        "the last 50 lines" -> ("--lines", "50"), "with comment admin@web01" -> ("-C", "admin@web01") for
        ``-C comment``; for an option that takes a value. The value must look like one (digits, a path, an
        address) or be one the option's text lists ("yesterday"), so "a home dir" gives ``--home`` nothing."""
        low = self._low
        bare = tag.lower()
        if not any(w in bare for w in low if len(w) >= 3):  # most options: no word of the question in them
            return None
        names = [
            (flag, flag.lstrip("-"))
            for flag in re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]{2,})(?:=|\s+\[?<?[A-Za-z])", tag)
        ]
        names += re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)[\s=]+\[?<?([A-Za-z][A-Za-z_-]{2,})\b", tag)  # -C comment
        for flag, name in names:
            name = name.lower().replace("_", "").replace("-", "")
            for i in range(len(low)):
                n = next((n for n in (1, 2, 3) if "".join(low[i : i + n]) == name), 0)
                if not n:
                    continue
                after = self.said[i + n] if i + n < len(low) else ""
                if after and (
                    re.search(r"[\d/@:]", after) or after.lower() in {v.lower() for v in QUOTED.findall(text)}
                ):
                    return flag, after
                if i and re.fullmatch(r"\d+", low[i - 1]):
                    return flag, low[i - 1]
        return None

    @functools.cached_property
    def _low(self) -> list[str]:
        return [w.lower() for w in self.said]

    def fill(self, placeholder: str, program: str = "") -> str | None:
        name = placeholder.rstrip(",;").strip("[]<>").split("|")[0].strip(".").upper()  # [PATTERN...|PID...], UNIT...,
        for kind, names in PLACEHOLDERS.items():
            if name in names and kind in self.by_kind:
                return self.by_kind[kind]
        if name in NAMES:  # "kill every rsync process": a name the question gives that the command does not
            said = set(re.split(r"[-_\s]+", program.lower()))  # already say ("list-units" for "units")
            names = [e for e in self.entities if e.lower() not in said] if program else []
            return min(names, key=lambda e: not re.search(r"[\d./]", e), default=None)  # "db1" before "check"
        if name.isalpha() and name.isupper():  # TIMEZONE, ZONE: a value shaped like none of the words around it
            return next((e for e in self.entities if "/" in e or re.fullmatch(r"[\d.:/]+", e)), None)
        return None


def values(question: str, index: PackageIndex) -> Values:
    """The ports, paths, sizes, services, users and groups a question names."""
    q = question.strip().rstrip("?")
    found = Values(asked=set(re.findall(r"[\w.+-]+", q.lower())), said=[w.strip(".,;!?'\"") for w in q.split()])

    def take(kind: str, value: str) -> None:
        if value.lower() not in NOT_VALUES and kind not in found.by_kind:
            found.by_kind[kind] = value
            found.words.update({value.lower(), *re.findall(r"[a-z0-9]+", value.lower())})  # "www-data" and its parts

    if m := re.search(r"\bport\s+(\d{1,5})\b", q, re.I):
        take("port", m.group(1))
    for m in re.finditer(r"(?<![\w/.~])(~?/[^\s,;'\"]*)", q):
        take("path", m.group(1).rstrip("."))
    if m := re.search(r"\b(\d+(?:\.\d+)?)\s*([kmgt])i?b\b", q, re.I):
        found.words.update({m.group(0).lower().replace(" ", ""), m.group(1)})
    for pattern in (
        r"\b([a-z0-9][\w@-]*)\.(?:service|socket|timer|target|mount|path)\b",  # "myapp.service": the unit's name
        r"\b([a-z0-9][a-z0-9@._-]*)\s+(?:service|daemon|unit)\b",
        r"\b(?:service|unit)\s+([a-z0-9][\w@.-]*)",
    ):
        if m := re.search(pattern, q, re.I):
            take("unit", m.group(1))
            found.words.add(m.group(0).lower())  # "myapp.service" is the value, not a concept to cover
    for m in re.finditer(r"\b(?:user|account|login)\s+([a-z_][a-z0-9_-]*)", q, re.I):  # not "account of"
        take("user", m.group(1))
    if m := re.search(rf"\b([a-z_][a-z0-9_-]*)['’]s\s+({OWNED})\b", q, re.I):  # "lock bob's account"
        take("user", m.group(1))
    if m := re.search(r"\b(?:pid|process)\s+(\d+)\b", q, re.I):
        take("pid", m.group(1))
    if m := re.search(r"\bsig(?:hup|int|quit|kill|term|usr1|usr2|stop|cont|alrm|chld|winch)\b", q, re.I):
        take("signal", m.group(0).upper())
    for word in re.findall(r"(?<![\w.@/-])[a-z_][a-z0-9_-]*(?![\w.@/-])", q.lower()):  # "chown ... to www-data",
        if word in people_accounts() or (word in accounts() and re.search(rf"\b{word}\s+user\b", q.lower())):
            take("user", word)  # "the postgres user": an account of this machine
    joins = re.search(  # "add alice to the sudo group", "remove bob from group web-admins"
        r"\b(?:add|put|remove|delete|drop)\s+(?:user\s+)?([a-z_][a-z0-9_-]*)\s+(?:to|in|into|from)\s+(?:the\s+)?"
        r"(?:(?:supplementary\s+)?group\s+([a-z_][a-z0-9_-]*)|([a-z_][a-z0-9_-]*)\s+group\b)",
        q,
        re.I,
    )
    if joins:
        take("user", joins.group(1))
        take("group", joins.group(2) or joins.group(3))
    if m := re.search(r"\b([a-z_][a-z0-9_-]*)\s+group\b", q, re.I):
        take("group", m.group(1))
    for word in re.findall(r"[a-z][a-z0-9.+-]*[a-z0-9]", q.lower()):  # "restart nginx": a package with a service
        if word in found.words or len(word) < 3:
            continue
        pkg = index.get(word)
        if pkg is not None and (pkg.service or pkg.units) and "unit" not in found.by_kind:
            take("unit", pkg.service.removesuffix(".service") if pkg.service else word)
        elif pkg is not None and "package" not in found.by_kind and re.search(r"\bpackage\b", q, re.I):
            take("package", word)
    for kind, pattern in VALUE_SHAPES.items():  # a port is a port: not the PID or count an example shows
        found.shaped[kind] = [v.rstrip(".") for v in re.findall(pattern, q) if v != found.by_kind.get("port")]
    for word in re.findall(r"(?<![/\w])[\w][\w.@/-]*[\w]", q):
        low = word.lower()
        size = re.fullmatch(r"\d+(\.\d+)?[kmgt]?i?b?", low)
        if low in NOT_VALUES or size or not re.search(r"[a-z]|[./:]\d", low) or low in found.entities:
            continue
        if re.search(r"\d|\.|/", low) or index.names_software(low):
            found.entities.append(word)
    return found


@functools.cache
def accounts() -> dict[str, int]:
    """This machine's accounts and their uids (the user values a question or an example may name)."""
    import pwd

    return {p.pw_name: p.pw_uid for p in pwd.getpwall()}


@functools.cache
def people_accounts() -> frozenset[str]:
    """The accounts whose name alone says it is one: root, people's (uid 1000 and up), and names no word has
    (``www-data``, ``_apt``); not ``backup``, ``mail`` or ``list``, which a question uses as words."""
    return frozenset(n for n, uid in accounts().items() if uid == 0 or 1000 <= uid < 65534 or re.search(r"[-_]", n))


# Retrieval and scoring ---------------------------------------------------------------------------------------


def question_query(question: str, index: PackageIndex, named: Values, store: DocStore | None) -> Query:
    """The concepts of a question, without the asking words and the values it names, each weighted by how
    rare it is in the documentation (NAME lines and installed pages' entries): "see" and "much" are
    everywhere there, "memory" is not."""
    query = build_query(question, join=True)
    unwanted = named.words | ASKING | negated(question)
    keep = [i for i, g in enumerate(query.groups) if g[0] not in unwanted]
    query.groups = [query.groups[i] for i in keep]
    query.words = [w for w in query.words if w not in unwanted]
    query.terms = list(dict.fromkeys(t for g in query.groups for t in g))
    query.unwanted = without(question, query)
    total = index.manual_count() + (store.count() if store else 0)

    def counts(fts: str) -> int:
        return index.manual_count(fts) + (store.count(fts) if store else 0)

    return weigh(query, index, counts, total)


def negated(question: str) -> set[str]:
    """The words a question says not to do: "lock the account, don't delete it" asks for no deletion, and
    "doesnt need to survive reboot" for no persistence."""
    out: set[str] = set()
    for m in NEGATION.finditer(question):
        out.update({m.group(2).lower(), m.group(0).split()[0].lower().replace("'", "")})
    return out


def respelt(question: str, query: Query, index: PackageIndex, store: DocStore | None) -> str:
    """The question with its misspelt words put right: "jounral" -> "journal", "wich" -> "which", "temporarly" ->
    "temporarily". A word is misspelt when neither the documentation nor the embedder's vocabulary (BERT's
    English words) has it, and swapping two neighbouring letters or adding one after the first makes a word both
    have; the one the documentation has most wins. Other edits are not tried: a changed letter would make
    "hogging" "logging", a letter before the first "oops" "loops"."""
    from cortex.packages import semantic

    unknown = [g[0] for g, f in zip(query.groups, query.frequencies, strict=True) if not f and g[0].isalpha()]
    unknown = [w for w in unknown if len(w) >= 4]
    if not unknown or not semantic.available(index.vectors.models_dir):
        return question
    english = semantic.vocabulary(index.vectors.models_dir).vocab.words
    for word in unknown:
        if word in english:
            continue
        edits = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1)}
        edits |= {word[:i] + c + word[i:] for i in range(1, len(word) + 1) for c in "abcdefghijklmnopqrstuvwxyz"}
        found = {e: index.manual_count(fts_query([e])) + (store.count(fts_query([e])) if store else 0)
                 for e in edits & english}  # fmt: skip
        if found and max(found.values()):
            best = max(found, key=lambda e: found[e])
            question = re.sub(rf"\b{word}\b", best, question, flags=re.I)
    return question


def without(question: str, query: Query) -> set[int]:
    """The concepts a question asks to be without: "no home dir", "prevent X from being upgraded"."""
    keys = text_keys(" ".join(m.group(1) for p in (NOT_DOING, KEPT_FROM) for m in p.finditer(question)))
    return {i for i, group in enumerate(query.groups) if any(covers(t, keys) for t in group)}


def _covered(query: Query, text: str) -> set[int]:
    return _coverage(query, text)[0]


def _coverage(query: Query, text: str) -> tuple[set[int], set[int]]:
    """The concepts a text covers, and those its first sentence names only as what it does not do
    ("--ignore-hold: Ignore package holds" for "hold a package"), which it contradicts unless that is what the
    question asks to be without ("-M: Do not create the user's home directory" for "no home dir"). Later
    sentences qualify ("reload: ... reload their configuration. ..., not the unit configuration file")."""
    if not _starts(tuple(map(tuple, query.groups))).search(text.lower()):
        return set(), set()  # most of a page's entries: no word of theirs can match, and stemming them is the cost
    keys = text_keys(text)
    covered = {i for i, group in enumerate(query.groups) if any(covers(t, keys) for t in group)}
    if not covered:
        return covered, set()
    gist = re.split(r"[.;](?:\s|$)", text, maxsplit=1)[0]
    scopes = [m.group(1) for m in NOT_DOING.finditer(gist)]
    if not scopes:
        return covered, set()
    undone = text_keys(" ".join(scopes))
    done = text_keys(NOT_DOING.sub(" ", gist))
    denied = {
        i
        for i in covered
        if any(covers(t, undone) for t in query.groups[i]) and not any(covers(t, done) for t in query.groups[i])
    }
    if denied & query.unwanted:
        return covered, set()
    return covered - denied, denied


@functools.lru_cache(maxsize=64)
def _starts(groups: tuple[tuple[str, ...], ...]) -> re.Pattern[str]:
    """A word a concept matches starts with the concept word's stem or its first five letters
    (``cortex.packages.search.word_keys``): a text with no word starting so covers none."""
    starts = {s for group in groups for term in group for w in re.findall(r"[a-z0-9]+", term) for s in (stem(w), w[:5])}
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(sorted(map(re.escape, starts), key=len, reverse=True)) + ")")


def _share(query: Query, covered: set[int]) -> float:
    total = sum(query.weights)
    return sum(query.weights[i] for i in covered) / total if total else 0.0


@dataclass
class _Page:
    """One manual page's evidence: its NAME line and, for an installed page, its entries."""

    manual: ManualHit
    name_sim: float = 0.0  # how close in meaning the question is to the NAME line
    package_sim: float = 0.0  # ...and to its package's summary ("Tools to test the reachability of network hosts")
    sims: dict[int, float] = field(default_factory=dict)  # {entry row: the same for each entry}
    source: _Entries | None = None  # where its entries are read

    @functools.cached_property
    def entries(self) -> list[DocHit]:
        """Its entries, then its usage lines; read when an invocation is composed for it, which most candidate
        pages never are (their score bound rules them out first)."""
        return self.source.of(self) if self.source is not None else []


@dataclass
class _Entries:
    """The installed pages' entries in the store; those the question's words found keep their bm25 relevance."""

    store: DocStore
    found: dict[int, DocHit]

    def of(self, page: _Page) -> list[DocHit]:
        entries = [self.found.get(hit.row, hit) for hit in self.store.entries(list(page.sims)) if hit is not None]
        key = (page.manual.page, page.manual.section)
        usage = [DocHit(*key, "usage", line, "", (), 0.0) for line in self.store.synopsis(*key)] if entries else []
        return entries + usage


def program_of(manual: ManualHit) -> tuple[str, bool]:
    """What to type for a page, and whether it is installed: ``ip-address(8)`` documents ``ip address`` and
    ``git-commit(1)`` ``git commit``, sub-commands of a program."""
    if on_path(manual.page):
        return manual.page, True
    head, sep, rest = manual.page.partition("-")
    if sep and rest and on_path(head):
        return f"{head} {rest}", True
    return manual.page, False


def _flag(tag: str) -> tuple[str, str]:
    """The flag to type and its placeholder: ``-u, --unit=UNIT|PATTERN`` -> ("-u", "UNIT")."""
    m = re.match(r"([-+]{1,2}[A-Za-z0-9?][\w-]*)(?:[\s=]\[?<?([A-Za-z][\w-]*)>?\]?)?", tag)
    if not m:
        return "", ""
    flag, placeholder = m.group(1), m.group(2) or ""
    if not placeholder:
        long = re.search(r"--[\w-]+[\s=]\[?<?([A-Za-z][\w-]*)", tag)
        placeholder = long.group(1) if long else ""
    if placeholder and not (placeholder.isupper() or placeholder.islower()):
        placeholder = ""
    return flag, placeholder


def _fill(words: list[str], named: Values) -> list[str]:
    """A usage's words with each placeholder (``FILE``, ``<file>``, ``[UNIT]``) filled from the question where it
    names one; the program and literal words stay."""
    if not words:
        return []
    out = [words[0]]
    for word in words[1:]:
        if not _placeholder(word):
            out.append(word)
        else:  # filled, or shown as a placeholder: "killall NAME", not "killall name"
            out.append(named.fill(word, " ".join(out)) or (word.upper() if word.islower() else word))
    return out


def _placeholder(word: str) -> bool:
    """``FILE``, ``<file>``, or a lower-case word a synopsis uses for one (``killall name``, ``adduser user``)."""
    bare = word.strip("[]<>.")
    known = bare.upper() in KNOWN_PLACEHOLDERS
    return bool(bare) and (bare.isupper() or known or (word.startswith("<") and word.rstrip(".").endswith(">")))


def _usage(line: str) -> str:
    """A SYNOPSIS line without its optional parts: ``adduser [options] user group`` -> ``adduser user group``;
    "" for a grammar rather than a command (``apt-get {update | upgrade | ...}``, ``OBJECT := {...}``) or one
    whose action is left open (``dpkg-query command``, ``systemctl COMMAND``: the options chosen say it)."""
    previous = None
    while previous != line:
        previous, line = line, re.sub(r"\[[^\[\]]*\]", "", line)
    words = line.replace("...", "").split()
    if re.search(r"[{}|]|:=", line) or any(w.strip("<>").upper() in ACTIONS for w in words[1:]):
        return ""
    return " ".join(words)


def _option_place(line: str, flags: list[str]) -> int | None:
    """How many of a synopsis line's words (:func:`_usage`'s) come before the options ``flags``: 1 for
    ``usermod [options] LOGIN``, ``grep [OPTION...] PATTERNS [FILE...]`` or ``-L`` in ``mkswap [-L label] device``;
    None when the line has no place for them (``find [-H] [-L] [starting-point...] [expression]``: ``-mtime`` is
    part of the expression, after the paths)."""
    for m in re.finditer(r"\[\s*([^\[\]]*)\]", line):
        group = m.group(1)
        generic = re.match(r"options?\b|option\.\.\.", group, re.I)
        names = set(re.findall(r"(?<![\w-])--?[\w-]+", group)) if group.startswith("-") else set()
        if generic or names & set(flags):
            return max(1, len(_usage(line[: m.start()]).split()))
    return None


def _adapt(example: str, named: Values, places: dict[str, str] | None = None) -> str:
    """An example with its own values replaced by those the question names, kind for kind, in order:
    ``date --date='@2147483647'`` for "timestamp 1700000000" -> ``date --date='@1700000000'``; an option's
    argument by the value its placeholder stands for (``places``, from the page's options: ``-u apache`` ->
    ``-u myapp`` for "the logs of myapp.service"); a file name by the question's of the same extension
    (``unzip -l file.zip`` -> ``unzip -l archive.zip``); a port named by its service (``fuser telnet/tcp``)."""
    head, _, rest = example.partition(" ")
    for kind, pattern in VALUE_SHAPES.items():
        mine = iter(named.shaped.get(kind, ()))
        rest = re.sub(pattern, lambda m, mine=mine: next(mine, m.group(0)), rest)
        rest = _without_surplus(rest, pattern, named.shaped.get(kind, []))
    if user := named.by_kind.get("user"):  # "chown -hR root /u": an account the example names is its user
        rest = " ".join(user if w in people_accounts() else w for w in rest.split(" "))
    if port := named.by_kind.get("port"):  # "fuser telnet/tcp": a port by its service's name, and its protocol
        rest = re.sub(r"(?<![\w/.-])[a-z][\w-]*/(tcp|udp)\b", rf"{port}/\1", rest)
    words = rest.split(" ")
    for i, word in enumerate(words):
        flag, eq, _ = word.partition("=")
        placeholder = (places or {}).get(flag)
        if placeholder and (eq or (i + 1 < len(words) and not words[i + 1].startswith("-"))):
            value = named.fill(placeholder, head)
            if value and value not in words:
                words[i if eq else i + 1] = f"{flag}={value}" if eq else value
        elif m := re.fullmatch(r"([\w-]+)\.([a-z][a-z0-9]{0,4}(?:\.[a-z][a-z0-9]{0,4})?)", word):
            same = [e for e in named.entities if e.lower().endswith(f".{m.group(2)}") and e != word]
            if same and same[0] not in words:
                words[i] = same[0]
    return f"{head} {' '.join(words)}".strip()


def _without_surplus(command: str, pattern: str, mine: list[str]) -> str:
    """An example's list of values of one shape, once the question's took its first places, without the
    example's own after them: ``kill 4321 543 2341 3453`` for "process 4321" is ``kill 4321``, not four PIDs;
    and without the options after them that name more of the example's own (``renice +1 987 -u daemon root -p
    32`` for "pid 4711" is ``renice +1 4711``, not also every process of daemon, root and 32)."""
    own, tail = _own_part(command)
    out: list[str] = []
    taken = False  # the run of such values so far holds one of the question's
    placed = 0  # words up to the question's last value
    for word in own.split(" "):
        if not re.fullmatch(pattern, word):
            taken = False
        elif word in mine:
            taken = True
            placed = len(out) + 1
        elif taken:
            continue
        out.append(word)
    rest = out[placed:]
    if placed and rest and rest[0].startswith("-") and any(re.fullmatch(pattern, w) for w in rest):
        out = out[:placed]
    return " ".join([*out, tail]) if tail else " ".join(out)


def _foreign_units(command: str, named: Values) -> bool:
    """Whether a command still names units the question did not, when it names one: the example
    ``journalctl _SYSTEMD_UNIT=avahi-daemon.service + _SYSTEMD_UNIT=dbus.service`` is about those two, not
    about postgresql.service."""
    unit = named.by_kind.get("unit")
    units = re.findall(r"([\w@.-]+)\.(?:service|socket|timer|target|mount|path)\b", command)
    return bool(unit) and any(u != unit for u in units)


def _retold(example: str, command: str, text: str) -> str:
    """An example's description for the command adapted from it: with the values the command took in its
    place ("in or below the directory /tmp" -> "/var/backups/db"), or none (the page's NAME line is shown) when
    it names what the command no longer has (renice's "PIDs 987 and 32, plus all processes owned by the users
    daemon and root" for ``renice +1 4711``)."""
    if command == example:
        return text
    import difflib

    old, new = example.split(), command.split()
    for op, i, j, k, m in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        gone = old[i:j] if op == "delete" or (op == "replace" and j - i != m - k) else []
        pairs = zip(old[i:j], new[k:m], strict=True) if op == "replace" and j - i == m - k else ()
        for word in gone:
            if not word.startswith("-") and re.search(rf"(?<![\w/-]){re.escape(word)}(?![\w/-])", text):
                return ""
        for was, now in pairs:
            text = re.sub(rf"(?<![\w/-]){re.escape(was)}(?![\w/-])", lambda _, now=now: now, text)
    return text


def _places(entries: list[DocHit]) -> dict[str, str]:
    """Each flag of a page's options and the placeholder of its argument: ``-u, --unit=UNIT|PATTERN`` ->
    {"-u": "UNIT", "--unit": "UNIT"}."""
    places: dict[str, str] = {}
    for e in entries:
        if e.kind == "option" and e.placeholders:
            for flag in re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)", e.tag):
                places.setdefault(flag, e.placeholders[0])
    return places


def _slot_values(entries: list[DocHit], program: str, command: str, named: Values) -> list[str]:
    """The values the question names that ``command`` lacks and the page's synopsis has a place for:
    ``passwd [options] [LOGIN]`` takes "dave" for "force user dave to change password" (``passwd -e dave``)."""
    said = set(command.split())
    out: list[str] = []
    for e in entries:
        words = e.tag.split()
        if e.kind != "usage" or not words or words[0] != program.split()[0]:
            continue
        for word in words[1:]:
            bare = word.strip("[]<>.").upper()
            kind = next((k for k, names in PLACEHOLDERS.items() if bare in names), None)
            value = named.by_kind.get(kind or "")
            if value and value not in said and value not in out:
                out.append(value)
    return out


def _invocation(page: _Page, program: str, query: Query, named: Values, name_cover: set[int]):
    """(command line, the text it comes from, concepts covered, how close in meaning it is) for one page: the
    entry that covers most of the question and is closest to it, with the options that add what it lacks."""
    best: tuple[float, int, float] = (_share(query, name_cover), -1, 0.0)
    choice: tuple[str, str, set[int], float] = (program, "", name_cover, 0.0)
    usage = ""  # the synopsis line the command comes from, if it does
    example = ""  # ...or the example
    options = []
    places = _places(page.entries)
    for e in page.entries:
        sim = page.sims.get(e.row, 0.0)
        covered, against = _coverage(query, f"{e.tag} {e.text}")
        cover = name_cover | covered
        if e.kind == "option":
            if not against:  # not "--no-create-home" for "a user with a home directory", however close in meaning
                options.append((e, cover - name_cover, sim))
            continue
        if e.kind == "example":
            command = _adapt(e.tag, named, places)
            if not _runs(command, program) or _foreign_units(command, named):
                continue  # a udev rule, a config line, a heading: not something to type; or about other units
        elif e.kind == "command":
            words = [w.strip(". ") for w in e.tag.split()[:2]]
            if words[1:] and words[1].startswith("[") and named.fill(words[1], f"{program} {words[0]}") is None:
                words = words[:1]  # "list-timers [PATTERN...]": an optional argument only when the question names it
            command = " ".join([program, *_fill(words, named)]).replace("[", "").replace("]", "")
        else:  # usage
            command = " ".join(_fill(_usage(e.tag).split(), named))
            if not command or not _runs(command, program):
                continue
        rank = (_share(query, cover) + SEMANTIC * sim, KIND_ORDER[e.kind], e.relevance)
        if rank > best:
            best, choice = rank, (command, e.text if e.kind != "usage" else "", cover, sim)
            usage = e.tag if e.kind == "usage" else ""
            example = e.tag if e.kind == "example" else ""
    if example:  # told once, for the entry chosen
        choice = (choice[0], _retold(example, choice[0], choice[1]), *choice[2:])
    # Options: those that cover what nothing else did, say what was asked, or take a value the question names;
    # at most two.
    chosen: list[tuple[str, str, str]] = []
    cover = set(choice[2])
    base, closest = choice[0], choice[3]
    valued = []
    # tail's "--pid=PID: terminate after PID dies" is not for "terminate pid 777": it shows PID, unfilled
    pids = "pid" not in named.by_kind or _acts_on_pids([e.tag for e in page.entries if e.kind == "usage"])
    for e, gain, sim in options:
        flag, placeholder = _flag(e.tag)
        fills = placeholder and (pids or placeholder.upper() not in PLACEHOLDERS["pid"])
        value = (named.fill(placeholder, program) or named.listed(e.text)) if fills else None
        said = value is None and (fills or not placeholder) and (by_name := named.by_name(e.tag, e.text)) is not None
        if said:
            flag, value = by_name  # the flag as the question says it: "--since yesterday", not "-S"
        valued.append((e, gain, sim, flag, placeholder, value, said))
    # Those taking a value the question names first, then by what they add.
    valued.sort(key=lambda o: (o[5] is None, -len(o[1]) - SEMANTIC * o[2], -o[0].relevance))
    used = set(base.split())
    for e, gain, sim, flag, placeholder, value, said in valued:
        if value in used:
            value, said = None, False  # a value the question names fills one place
        meant = said or sim >= max(OPTION_MEANT, closest)  # named with its value, or as close as the entry
        if not flag or _has(base, flag) or (not gain - cover and not meant and (value is None or sim < VALUED_MEANT)):
            continue
        used.add(value or "")
        chosen.append((flag, value or (placeholder.upper() if placeholder else ""), e.text))
        cover |= gain
        closest = max(closest, sim)
        if len(chosen) == 2:
            break
    # The options go to this page's program: before a pipe or a line's continuation in an example
    # ("find ... -print | xargs rm"), not after the next program's words.
    head, tail = _own_part(base)
    argv = [head]
    if chosen:  # where the synopsis puts options, else after the line's own words
        flags = [word for flag, value, _ in chosen for word in ((flag, value) if value else (flag,))]
        words = head.split(" ")
        lines = [usage] if usage else [e.tag for e in page.entries if e.kind == "usage" and _runs(e.tag, program)]
        names = [flag for flag, _, _ in chosen]
        place = next((at for line in lines if (at := _option_place(line, names)) is not None), None)
        at = len(words) if place is None else min(place, len(words))
        argv = [" ".join(words[:at]), *flags, *words[at:]]
    if base == program:  # the NAME line and options alone: the synopsis' place for what the question names
        argv += _slot_values(page.entries, program, " ".join(argv), named)
    command = " ".join([*argv, tail]) if tail else " ".join(argv)
    if chosen:
        detail = "; ".join(f"{flag}: {_sentence(text)}" for flag, _, text in chosen)
        return command, (f"{choice[1]} " if choice[1] else "") + detail, cover, closest
    return (command, *choice[1:])


def _acts_on_pids(synopsis: list[str]) -> bool:
    """Whether a program's options that take a PID act on that process: its synopsis takes a PID
    (``kill [options] <pid>``, ``strace ... -p pid``) or only options (``ps [options]``), or it has none. When
    it takes something else (``tail [OPTION]... [FILE]...``, ``pgrep [options] pattern``), a PID option is a
    condition on what it does to that (``tail --pid``: stop when the process dies; ``pgrep --ns``: processes
    in the same namespaces)."""
    if not synopsis:
        return True
    for line in synopsis:
        words = [w.strip("[]<>{}.,|") for w in line.split()[1:]]
        operands = [w for w in words if w and w[0] not in "-+" and not re.fullmatch(r"options?", w, re.I)]
        if not operands or any(w.upper() in PLACEHOLDERS["pid"] for w in words):
            return True
    return False


def _has(command: str, flag: str) -> bool:
    """Whether a command line already gives ``flag``, alone or in a cluster of short ones (``-R`` in ``-hR``)."""
    if re.fullmatch(r"-[A-Za-z0-9]", flag):
        return any(re.fullmatch(rf"-[A-Za-z0-9]*{flag[1]}[A-Za-z0-9]*", w) for w in command.split())
    return any(w == flag or w.startswith(f"{flag}=") for w in command.split())


def _own_part(command: str) -> tuple[str, str]:
    """A command line split where its first program's words end: ``find . -print | xargs rm`` ->
    ("find . -print", "| xargs rm"); ("ls -l", "") when one program has them all."""
    m = re.search(r"\s(?:\||\|\||&&|;|\\)(?:\s|$)", command)
    return (command[: m.start()], command[m.start() + 1 :]) if m else (command, "")


def _runs(command: str, program: str) -> bool:
    """Whether an example's line starts with a program (this page's, or one on the PATH), after ``sudo``,
    a prompt or variable assignments."""
    words = command.lstrip("$# ").split()
    while words and (words[0] == "sudo" or re.match(r"[A-Za-z_]\w*=", words[0])):
        words = words[1:]
    return bool(words) and (words[0] == program.split()[0] or on_path(words[0]))


def _entry_queries(query: Query) -> list[str]:
    """FTS queries for entries: every concept, and every pair of concepts (the precise entries rank there)."""
    groups = [fts_query(g) for g in query.groups if fts_query(g)]
    out = [" OR ".join(groups)] if groups else []
    out += [f"({a}) AND ({b})" for a, b in itertools.combinations(groups, 2)]
    return out


def suggest(question: str, index: PackageIndex, store: DocStore | None = None, limit: int = 3) -> HowTo:
    """The grounded commands for a how-to ``question``, best first (none when nothing covers it)."""
    from cortex.safety.validator import UNPARSEABLE, validate

    named = values(question, index)
    query = question_query(question, index, named, store)
    if (spelt := respelt(question, query, index, store)) != question:
        question = spelt
        named = values(question, index)
        query = question_query(question, index, named, store)
    result = HowTo(question)
    if not query.groups:
        return result
    with Meanwhile(_word_hits, query, index, store) as by_words:  # SQLite and numpy leave the lock to each other
        vector = index.vectors.encode(question)
        near = _near_hits(index, store, vector)
        words = by_words.result()
    pages = _candidates(words, near, index, store, vector)
    if not pages:
        return result
    scored = [(score(f), f.grounded, f) for f in features(pages, query, named, index)]
    scored.sort(key=lambda s: -s[0])
    top = scored[0][0]
    seen: set[str] = set()
    for value, grounded, f in scored:
        if not grounded or value < ALSO * top or f.program in seen:
            continue
        checked = validate(f.command)
        if checked.verdict == "block":
            unsafe = not checked.reasons[0].startswith(UNPARSEABLE)  # a line composed amiss is no safety matter
            if unsafe and not result.suggestions and not result.blocked:  # the best match: say why it is not there
                result.blocked = "; ".join(checked.reasons)
            continue
        seen.add(f.program)
        m = f.manual
        caution = "; ".join(checked.reasons) if checked.verdict == "confirm" else ""
        result.suggestions.append(
            Suggestion(
                f.command,
                f.program,
                m.cite,
                m.package,
                f.installed,
                m.description,
                f.detail,
                value,
                checked.verdict,
                caution,
            )
        )
        if len(result.suggestions) == limit:
            break
    return result


@dataclass
class Features:
    """Why a page may answer a question, and the command it would answer with."""

    manual: ManualHit
    program: str
    installed: bool
    command: str
    detail: str
    signals: dict[str, float]
    grounded: bool


def features(pages: dict[tuple[str, str], _Page], query: Query, named: Values, index: PackageIndex) -> list[Features]:
    """Each candidate page's signals (the names of ``WEIGHTS``) and its best invocation, for the pages that can
    still be suggested. Composing an invocation is most of the time a question takes, so pages are taken by an
    upper bound of their score (:func:`_upper_bound`) and composed only while it reaches ``ALSO`` times the best
    score found: a page below that could not be suggested, so the answer is the same."""
    best_name = max((p.manual.relevance for p in pages.values()), default=1.0) or 1.0
    popularity = index.popularity_of({p.manual.package for p in pages.values()})
    known = []
    for page in pages.values():
        program, name_cover, signals = _page_signals(page, query, popularity, best_name)
        known.append((_upper_bound(page, signals, named), page, program, name_cover, signals))
    known.sort(key=lambda k: -k[0])
    out: list[Features] = []
    top = -math.inf
    for bound, page, program, name_cover, signals in known:
        if bound < ALSO * top:
            break
        out.append(_compose(page, program, name_cover, signals, query, named))
        top = max(top, score(out[-1]))
    return out


def _page_signals(
    page: _Page, query: Query, popularity: dict[str, int], best_name: float
) -> tuple[str, set[int], dict[str, float]]:
    """What to type for a page, the concepts its NAME line covers, and the signals known before an invocation is
    composed."""
    m = page.manual
    program, installed = program_of(m)
    name_cover = _covered(query, f"{' '.join(m.names)} {program} {m.description}")
    signals = {
        "name_share": _share(query, name_cover),  # of the question's concepts, by IDF, the NAME line covers
        "bm25": m.relevance / best_name,
        "name_sim": page.name_sim,
        "package_sim": page.package_sim,  # how close the question is to its package's summary
        "installed": float(installed),
        "popularity": min(math.log1p(popularity.get(m.package, 0)), 5.0),
    }
    return program, name_cover, signals


def _upper_bound(page: _Page, signals: dict[str, float], named: Values) -> float:
    """The most a page can score: its known signals, and those of its invocation at their most (all of the
    question covered, every named value filled, as close as its closest entry). The weights are positive."""
    most = {"share": 1.0, "fills": len(named.by_kind), "entry_sim": max(page.sims.values(), default=0.0)}
    return score_of({**signals, **most})


def _compose(
    page: _Page, program: str, name_cover: set[int], signals: dict[str, float], query: Query, named: Values
) -> Features:
    """A page's best invocation and all its signals."""
    command, detail, covered, entry_sim = _invocation(page, program, query, named, name_cover)
    signals = {
        **signals,
        "share": _share(query, covered),  # the same for the NAME line and the chosen entry
        "fills": sum(1 for value in named.by_kind.values() if value in command.split()),
        "entry_sim": entry_sim,
    }
    grounded = signals["share"] >= GROUNDED or max(page.name_sim, entry_sim) >= MEANT
    return Features(page.manual, program, bool(signals["installed"]), command, detail, signals, grounded)


def score(f: Features) -> float:
    return score_of(f.signals)


def score_of(signals: dict[str, float]) -> float:
    return sum(WEIGHTS[name] * value for name, value in signals.items())


@dataclass
class _WordHits:
    """What shares the question's words: NAME lines, and entries of installed pages by their row."""

    manuals: list[ManualHit]
    entries: dict[int, DocHit]


@dataclass
class _NearHits:
    """What is closest to the question in meaning: NAME lines, packages' summaries, installed pages' entries
    (none without the question's vector)."""

    manuals: list[tuple[ManualHit, float]] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    entries: list[tuple[DocHit, float]] = field(default_factory=list)


def _word_hits(query: Query, index: PackageIndex, store: DocStore | None) -> _WordHits:
    """Full-text search alone, which needs no vector: it runs while the question's vector is made and scanned."""
    entries: dict[int, DocHit] = {}
    for n, fts in enumerate(_entry_queries(query) if store is not None else []):
        for hit in store.search(fts, limit=200 if n == 0 else 30):
            entries.setdefault(hit.row, hit)
    return _WordHits(index.search_manuals(query.terms, limit=300, per_package=4), entries)


def _near_hits(index: PackageIndex, store: DocStore | None, vector) -> _NearHits:
    """The scans of ~200 MB of vectors (numpy's, or the vector worker's on the other core)."""
    if vector is None:
        return _NearHits()
    return _NearHits(
        index.nearest_manuals(vector, NEAREST),
        [name for name, _ in index.nearest_packages(vector, NEAREST // 2)],
        store.nearest(vector, 8 * NEAREST) if store is not None else [],
    )


def _candidates(
    words: _WordHits, near: _NearHits, index: PackageIndex, store: DocStore | None, vector
) -> dict[tuple[str, str], _Page]:
    """The pages that may answer: NAME lines and installed pages' entries that share the question's words or
    are close to it in meaning, each with how close it and each of its entries are."""
    pages: dict[tuple[str, str], _Page] = {}
    for manual in words.manuals:
        _add_page(pages, manual)
    for manual, sim in near.manuals:
        _add_page(pages, manual).name_sim = sim
    if vector is not None:
        for manual in index.manuals_of(near.packages, per_package=3):
            _add_page(pages, manual)
    if store is not None:
        _add_entries(pages, words.entries, near.entries, index, store, vector)
    if vector is not None:
        missing = [p for p in pages.values() if not p.name_sim]
        for page, sim in zip(missing, index.vectors.similarity(vector, "manuals", [p.manual.row for p in missing]),
                             strict=True):  # fmt: skip
            page.name_sim = 0.0 if math.isnan(sim) else float(sim)
        sims = index.package_similarity(vector, {p.manual.package for p in pages.values()})
        for page in pages.values():
            page.package_sim = sims.get(page.manual.package, 0.0)
    return pages


def _add_page(pages: dict[tuple[str, str], _Page], manual: ManualHit) -> _Page:
    """The page for ``manual``'s name and section; the installed one wins over an archive namesake
    (systemctl(1) of systemd, not of the systemd-less "systemctl" package)."""
    key = (manual.page, manual.section)
    if key not in pages or (manual.local and not pages[key].manual.local):
        pages[key] = _Page(manual, name_sim=pages[key].name_sim if key in pages else 0.0)
    return pages[key]


def _add_entries(
    pages: dict[tuple[str, str], _Page],
    by_words: dict[int, DocHit],
    nearest: list[tuple[DocHit, float]],
    index: PackageIndex,
    store: DocStore,
    vector,
) -> None:
    """The installed pages whose entries share the question's words (``by_words``) or meaning (``nearest``),
    with how close each of their entries is (the entries themselves are read when needed: :attr:`_Page.entries`)."""
    hits = dict(by_words)
    if nearest:  # the closest entries, but not boilerplate ("--version: display version information")
        texts: set[str] = set()
        per_page: Counter[tuple[str, str]] = Counter()
        for hit, _ in nearest:
            key = (hit.page, hit.section)
            if hit.text not in texts and per_page[key] < 2:
                hits.setdefault(hit.row, hit)
                per_page[key] += 1
            texts.add(hit.text)
    wanted = {(h.page, h.section) for h in hits.values()} | set(pages)  # and installed namesakes of archive pages
    for manual in index.installed_manuals(wanted - {k for k, p in pages.items() if p.manual.local}).values():
        _add_page(pages, manual)
    rows = store.entry_rows([key for key, page in pages.items() if page.manual.local])
    sims = store.similarity(vector, [row for row, _, _ in rows]) if vector is not None else [0.0] * len(rows)
    source = _Entries(store, hits)
    for (row, *key), sim in zip(rows, sims, strict=True):
        page = pages[tuple(key)]
        page.sims[row] = 0.0 if math.isnan(sim) else sim
        page.source = source


def commands_in(text: str) -> list[str]:
    """The programs an answer names in backticks (what the grounding rule is checked on)."""
    out = []
    for span in re.findall(r"`([^`]+)`", text):
        try:
            words = shlex.split(span)
        except ValueError:
            words = span.split()
        if words:
            out.append(words[1] if words[0] == "sudo" and len(words) > 1 else words[0])
    return out
