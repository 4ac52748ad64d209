"""The model's explanation in ``cortex ask``, filtered as it streams: nothing a rule drops is printed, and
nothing printed is taken back.

The rules (what the explanation may not say):

* **echo**: the lead again, inside a sentence, or a whole sentence that is a piece of the lead (15
  characters or more), or a sentence of three words or more already printed; small models like to repeat;
* **doubt**: "lie", "false", "wrong", "not true"... about the facts;
* **contradiction**: "X is installed" (or running, active) where a fact says X is not, or the reverse;
* **amount**: an amount of memory, disk or CPUs that no fact has;
* **ungrounded command**: a command in backticks that is neither on this machine nor among the grounded
  suggestions (:func:`ungrounded`);
* **talk about the conversation**: "The user provides...", "This answer is...", "The user's answer...",
  "As an AI...".

Each rule is a short pattern of words, which may follow up to two lead-in words ("It has 16 GB", "Nginx is
installed", "Run `x`"). A word is printed as soon as no pattern can begin at it (or at a word still held
before it), even while it is still being written, once nothing it may grow into can begin one ("Apt" is
printed as it comes, "Th" waits: "The answer..."). So the look-ahead is the pattern in progress: nothing for
most words, a word or three where one has begun, the lead's length while the model copies the lead, a command
up to its closing backtick. A rule no fact can make hold holds nothing: a claim that something is (not)
installed when no fact says what is (not), an amount when no fact has one. When a
pattern completes, the sentence ends where the pattern began: a sentence whose first word began it is
dropped whole, as when sentences were buffered whole; one whose start was already printed is closed with a
full stop there. Decisions depend on the text alone, never on how it arrived in chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from cortex.ask.howto import commands_in
from cortex.packages.index import on_path

SENTENCE_END = re.compile(r"[.!?\n][\"')\]]*(\s|$)")
WORD = re.compile(r"`[^`]*`?|\w(?:[\w.+'’-]*\w)?")  # a word ("docker.io", "23.5", "isn't") or a command in backticks
JOINERS = re.compile(r"[.+'’-]*")  # what may still join a word to more of it
INSTALLED = re.compile(r"\b(is|are|was|been)\s+(already\s+|now\s+)?(installed|running|active)\b")
NOT_INSTALLED = re.compile(r"(\bnot|n't|\bnever)\s+(\w+\s+)?(installed|running|active)\b")
AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(gib|gb|mib|mb|tib|tb|cpus?|cores?)\b")
UNIT_FAMILY = {"gib": "bytes", "gb": "bytes", "mib": "bytes", "mb": "bytes", "tib": "bytes", "tb": "bytes"}
REPEAT_MIN = 3  # words: a sentence printed whole this long is not printed again (small models loop)
ECHO_MIN = 15  # characters: a shorter piece of the lead ("Nginx.") is not an echo

# Words that may come before a pattern and go with it: "It has [16 GB]", "Nginx [is installed]", "Run [`x`]",
# "The package [htop is an interactive process viewer]".
LEAD_IN = frozenset({
    "it", "this", "that", "these", "those", "they", "you", "we", "i", "he", "she", "there", "here", "its", "their",
    "your", "my", "the", "a", "an", "is", "are", "was", "were", "has", "have", "had", "with", "uses", "use", "run",
    "try", "type", "and", "but", "so", "or", "which", "while", "because", "then", "also", "now", "machine", "system",
    "computer", "server",
    # what the subject is: "The package [htop is ...]" would otherwise be left as "The package." when the echo
    # after it is dropped
    "package", "command", "program", "tool", "utility", "application", "software", "daemon", "service",
})  # fmt: skip
LEAD_INS = 2


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def ungrounded(text: str, allowed: set[str]) -> bool:
    """Whether ``text`` names (in backticks) a command that is neither on this machine nor in ``allowed``,
    the programs the grounded suggestions show with their packages."""
    return any(name not in allowed and not on_path(name) for name in commands_in(text))


def sentence_end(text: str) -> int | None:
    """Where the first complete sentence of ``text`` ends, or None: not inside a quotation or a command in
    backticks (`find . -name x`: the grounding check needs the whole command), and not before a lower-case word
    ('the question "Is X installed?" is ...' goes on)."""
    for m in SENTENCE_END.finditer(text):
        following = text[m.end() :]  # empty: the next word has not arrived yet, so we cannot tell
        before = text[: m.end()]
        if following and not following[0].islower() and before.count('"') % 2 == 0 and before.count("`") % 2 == 0:
            return m.end()
    return None


@dataclass(frozen=True)
class Word:
    raw: str
    start: int
    end: int
    complete: bool  # no more text can change it

    @property
    def low(self) -> str:
        return self.raw.lower()


def words(text: str, final: bool) -> list[Word]:
    out = []
    for m in WORD.finditer(text):
        raw = m.group()
        growing = raw == "`" or not raw.endswith("`") if raw.startswith("`") else JOINERS.fullmatch(text[m.end() :])
        complete = not growing
        out.append(Word(raw, m.start(), m.end(), complete or final))
    return out


class OneOf:
    """A slot for one of a few words."""

    def __init__(self, words: str):
        self.options = frozenset(words.split())

    def fits(self, w: Word) -> bool:
        return w.low in self.options

    def could(self, w: Word) -> bool:
        """Whether the word still being written may become one that fits."""
        return any(o.startswith(w.low) for o in self.options)


class Like:
    """A slot for a word matching ``pattern``; ``start`` matches every beginning of such a word."""

    def __init__(self, pattern: str, start: str):
        self.pattern, self.start = re.compile(pattern), re.compile(start)

    def fits(self, w: Word) -> bool:
        return self.pattern.fullmatch(w.low) is not None

    def could(self, w: Word) -> bool:
        return self.start.fullmatch(w.low) is not None


Slot = tuple[OneOf | Like, bool]  # (the words that fit, may it be left out)
FULL, PARTIAL = "full", "partial"
NEGATIONS = "is are was were do does did has have had wo ca could should would ai"
NEGATION = OneOf(" ".join(["not never", *(f"{w}n{q}t" for w in NEGATIONS.split() for q in "'’")]))
STATE = OneOf("installed running active")
UNIT = OneOf("gib gb mib mb tib tb cpu cpus core cores")
NUMBER = Like(r"\d+(?:\.\d+)?", r"\d[\d.]*")
TALK_VERBS = (
    "provide provides provided ask asks asked asking want wants wanted request requests requested mention "
    "mentions mentioned looking seems explain explains explained give gives gave"
)
TALK: list[list[Slot]] = [
    [(OneOf("this the that my your"), False), (OneOf("answer response question explanation summary"), False)],
    [(OneOf("as"), False), (OneOf("an"), False), (OneOf("ai"), False)],
    [(OneOf("the"), False), (OneOf("user assistant"), False), (OneOf("also is"), True), (OneOf(TALK_VERBS), False)],
    [(OneOf("the this that your"), False), (OneOf("user's user’s assistant's assistant’s"), False),
     (OneOf("answer response question request explanation input message"), False)],
]  # fmt: skip
DOUBT: list[list[Slot]] = [
    [(OneOf("lie lies lying false incorrect wrong mistake mistaken"), False)],
    [(OneOf("not"), False), (OneOf("true"), False)],
]
CLAIM_INSTALLED: list[Slot] = [(OneOf("is are was been"), False), (OneOf("already now"), True), (STATE, False)]
CLAIM_NOT_INSTALLED: list[Slot] = [(NEGATION, False), (Like(r"[^`].*", r"[^`].*"), True), (STATE, False)]
AMOUNTS: list[list[Slot]] = [
    [(NUMBER, False), (UNIT, False)],
    [(Like(r"\d+(?:\.\d+)?(?:gib|gb|mib|mb|tib|tb|cpus?|cores?)", r"\d[\d.]*[a-z]*"), False)],
]


def _slots(slots: list[Slot], ws: list[Word], i: int) -> Iterator[tuple[str, int]]:
    """Every way ``slots`` match the words from ``i``: (FULL, end) or (PARTIAL, -1) when the words ran out
    (or the next one is still growing) before the pattern did."""

    def go(s: int, k: int) -> Iterator[tuple[str, int]]:
        if s == len(slots):
            yield FULL, k
            return
        slot, optional = slots[s]
        if optional:
            yield from go(s + 1, k)
        if k == len(ws) or (not ws[k].complete and slot.could(ws[k])):
            yield PARTIAL, -1
        elif ws[k].complete and slot.fits(ws[k]):
            yield from go(s + 1, k + 1)

    return go(0, i)


class ExplanationFilter:
    """The rules over one explanation, fed its text in chunks of any size (:meth:`feed`, then :meth:`close`)."""

    def __init__(self, lead: str, truths: list[str], allowed: set[str]):
        self.lead_norm = _norm(lead)
        self.lead_words = self.lead_norm.split()
        self.allowed = allowed
        self.truths = [t.lower() for t in truths]
        # A fact's subject may come before a claim about it: "Nginx [is installed]" ("No, nginx is not ...",
        # "Package nginx: ...": nginx).
        subjects = {
            re.sub(r"^((yes|no)\W+)?((command|package|service)\s+)?", "", t).split(" ", 1)[0] for t in self.truths
        }
        subjects = {s.strip(",.:") for s in subjects}
        self.lead_in = LEAD_IN | subjects | {s.split(".")[0] for s in subjects}
        self.known: dict[str, set[str]] = {}
        for truth in self.truths:
            for family, numbers in _amounts(truth).items():
                self.known.setdefault(family, set()).update(numbers)
        # Only the rules some fact can make hold: a rule that never holds for this answer would only hold words.
        claims = (
            (CLAIM_INSTALLED, self._contradicts_installed, any(NOT_INSTALLED.search(t) for t in self.truths)),
            (CLAIM_NOT_INSTALLED, self._contradicts_not_installed, any(map(_installed, self.truths))),
        )
        self.claims = [(slots, contradicts) for slots, contradicts, possible in claims if possible]
        self.amounts = AMOUNTS if self.known else []
        self.buffer = ""  # the sentence being written (and the start of the next, until it is known to end)
        self.shown = 0  # characters of the current sentence printed (or decided)
        self.cut = ""  # "dropped" (the whole current sentence) or "closed" (early, with a full stop)
        self.started = False  # something of the explanation was printed
        self.sentences: list[list[str]] = []  # those printed whole, as words: a sentence again is an echo too

    # What a completed pattern means ------------------------------------------------------------------------

    def _about(self, truth: str, said: str) -> bool:
        subject = truth.split(" ", 1)[0].strip(",.:")
        names = "|".join(re.escape(n) for n in {subject, subject.split(".")[0]} if n)  # docker.io is "docker"
        return truth.startswith(("yes", "no")) or re.search(rf"(?<![\w-])({names})(?![\w-])", said) is not None

    def _contradicts_installed(self, said: str) -> bool:
        return not NOT_INSTALLED.search(said) and any(
            NOT_INSTALLED.search(t) and self._about(t, said) for t in self.truths
        )

    def _contradicts_not_installed(self, said: str) -> bool:
        return any(_installed(t) and self._about(t, said) for t in self.truths)

    def _unknown_amount(self, said: str) -> bool:
        return any(
            self.known.get(family) and not numbers <= self.known[family] for family, numbers in _amounts(said).items()
        )

    def _echo(self, ws: list[Word], i: int, lead: list[str]) -> Iterator[tuple[str, int]]:
        """``lead`` (the lead's words, or a sentence's already printed), word for word (as its letters and
        digits), from word ``i``."""
        at, k = 0, i
        while at < len(lead):
            if k == len(ws):
                yield PARTIAL, -1
                return
            parts = _norm(ws[k].raw).split()
            if not ws[k].complete:  # may it still become the lead's next words?
                n = at + len(parts) - 1
                if parts and n < len(lead) and lead[at:n] == parts[:-1] and lead[n].startswith(parts[-1]):
                    yield PARTIAL, -1
                return
            if not parts or lead[at : at + len(parts)] != parts:
                return
            at, k = at + len(parts), k + 1
        yield FULL, k

    def _offences(self, ws: list[Word], i: int, text: str) -> Iterator[tuple[str, int]]:
        """Every match of a rule's pattern from word ``i`` (FULL only when the rule holds for it)."""
        for lead in (self.lead_words, *self.sentences) if self.lead_words else self.sentences:
            yield from self._echo(ws, i, lead)
        for slots in (*TALK, *DOUBT):
            yield from _slots(slots, ws, i)
        for slots, contradicts in self.claims:
            for kind, end in _slots(slots, ws, i):
                if kind == PARTIAL or contradicts(text[: ws[end - 1].end].lower()):
                    yield kind, end
        for slots in self.amounts:
            for kind, end in _slots(slots, ws, i):
                if kind == PARTIAL or self._unknown_amount(text[ws[i].start : ws[end - 1].end].lower()):
                    yield kind, end
        if i < len(ws) and ws[i].raw.startswith("`"):
            if not ws[i].complete:
                yield PARTIAL, -1
            elif ungrounded(ws[i].raw, self.allowed):
                yield FULL, i + 1

    def _status(self, ws: list[Word], j: int, text: str, final: bool) -> str | None:
        """FULL when a rule's pattern (after up to two lead-in words) begins at word ``j``, PARTIAL while one
        still may (never once the sentence is ``final``), else None. Only when no pattern from ``j`` is still in
        progress is a FULL one taken, so the answer is the same however the text arrived."""
        full = partial = False
        k = j
        while True:
            for kind, _ in self._offences(ws, k, text):
                full, partial = full or kind == FULL, partial or kind == PARTIAL
            if k == len(ws) or k - j == LEAD_INS:
                break
            if not ws[k].complete:  # a lead-in still being written: a pattern may follow it
                partial = partial or any(w.startswith(ws[k].low) for w in self.lead_in)
                break
            if ws[k].low not in self.lead_in:
                break
            k += 1
        if partial and not final:
            return PARTIAL
        return FULL if full else None

    # Feeding text ---------------------------------------------------------------------------------------------

    def feed(self, chunk: str) -> str:
        """What can be printed now that ``chunk`` arrived."""
        self.buffer += chunk
        out = []
        while (end := sentence_end(self.buffer)) is not None:
            out.append(self._advance(self.buffer[:end], final=True))
            self.buffer = self.buffer[end:]
            self.shown, self.cut = 0, ""
        out.append(self._advance(self.buffer, final=False))
        return "".join(out)

    def close(self) -> str:
        """What is left to print once the model has finished."""
        text = self._advance(self.buffer, final=True) if self.buffer.strip() else ""
        self.buffer, self.shown, self.cut = "", 0, ""
        return text

    def _advance(self, text: str, final: bool) -> str:
        """Print what is decided of the sentence ``text`` (``final``: it is whole)."""
        if self.cut:  # dropped, or closed early: only the space before the next sentence is left to print
            return text[len(text.rstrip()) :] if final and self.cut == "closed" else ""
        ws = words(text, final)
        upto = self.shown
        for j in range(next((j for j, w in enumerate(ws) if w.end > self.shown), len(ws)), len(ws)):
            status = self._status(ws, j, text, final)
            if status == PARTIAL:
                break
            if status == FULL:  # a rule holds from word j on
                if j == 0:
                    self.cut = "dropped"
                    return ""
                self.cut = "closed"
                space = text[len(text.rstrip()) :] if final else ""
                return self._emit(text[self.shown : ws[j - 1].end], ws[j - 1].end) + "." + space
            upto = ws[j].end
            if not ws[j].complete:  # nothing it may grow into begins a pattern: what came of it is printed
                break
        said = _norm(text)
        if final:
            if said and len(said) >= ECHO_MIN and said in self.lead_norm:
                return ""  # the whole sentence is a piece of the lead
            if len(said.split()) >= REPEAT_MIN:  # printed whole (a sentence cut short returned above)
                self.sentences.append(said.split())
            return self._emit(text[self.shown :], len(text))
        if self.lead_norm and said in self.lead_norm:
            return ""  # held whole while it is a piece of the lead: it may turn out to be nothing else
        return self._emit(text[self.shown : upto], upto)

    def _emit(self, text: str, shown: int) -> str:
        self.shown = shown
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        return text


def _installed(truth: str) -> bool:
    """Whether a fact says something is installed (or running, active)."""
    return bool((truth.startswith("yes") or INSTALLED.search(truth)) and not NOT_INSTALLED.search(truth))


def _amounts(text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for number, unit in AMOUNT.findall(text.lower()):
        out.setdefault(UNIT_FAMILY.get(unit, "cpus"), set()).add(number)
    return out


def grounded_stream(chunks: Iterator[str], lead: str, truths: list[str], allowed: set[str]) -> Iterator[str]:
    """The model's explanation as it streams, minus what repeats the lead, contradicts it or another fact,
    names a command nothing grounds, or talks about the answer instead of the subject (see the module)."""
    rules = ExplanationFilter(lead, truths, allowed)
    for chunk in chunks:
        if text := rules.feed(chunk):
            yield text
    if text := rules.close():
        yield text
