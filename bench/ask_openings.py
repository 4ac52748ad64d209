"""How the model's explanation in ``cortex ask`` begins, and for how many tokens the rules hold its first word.

``bench/llm_first_token.py`` times the first explanation character of a few questions; this counts, over many
answers and without timing, what decides it: for each question (by default the bench's, ``eval/ask.tsv``'s
and ``eval/howto_dev.tsv``'s) the answer is built as ``cortex ask`` builds it and the model's tokens are
recorded as llama-server streams them (a fixed seed, so variants compare answer for answer). Printed per
question: the model's first token, the tokens that came after it before the rules (``cortex.ask.explanation``)
printed anything ("held"; "dropped" when they printed nothing), and the start of what the model wrote. One
held token costs one token's generation (8-10 ms on 2 cores) against a direct first token of 13-32 ms,
so the 1.3x goal needs the first word printed as it comes.

``--prefill`` ends the messages with an assistant message holding the lead, which llama-server continues
(its default since llama.cpp PR #13174; it streams the prefill back first, removed here). Measured: no
explanation, a copy of the prompt's last line, or a request the context no longer holds (docs/ARCHITECTURE.md,
"No assistant prefill").

Run: .venv/bin/python bench/ask_openings.py [--prefill] [--limit N] [--question Q]... [FILE ...]
The model is the llama-server at ``LLAMA_CPP_BASE_URL`` (``cortex llm start``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from llm_first_token import QUESTIONS

from cortex.ask.answer import answer
from cortex.config import load_config
from cortex.packages.index import open_index
from cortex.providers import Messages, Options, Provider, ProviderError, Response, get_provider

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "eval" / "ask.tsv", ROOT / "eval" / "howto_dev.tsv"]
SEED = 7


class Recording(Provider):
    """The llama_cpp provider with a fixed seed, noting each token as it streams (and, with ``prefill``, the
    lead given as the start of the assistant's message)."""

    def __init__(self, inner: Provider, prefill: bool):
        self.inner, self.prefill, self.name, self.model = inner, prefill, inner.name, inner.model
        self.capabilities = inner.capabilities
        self.tokens: list[str] = []

    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        self.tokens = []
        options.extra = {**options.extra, "seed": SEED}
        # build_messages ends the user message with "Answer: LEAD" (the lead may span lines) and one instruction
        _, answered, lead = messages[-1]["content"].partition("\nAnswer: ")
        echoed = lead.rsplit("\n", 1)[0] if self.prefill and answered else ""
        if echoed:
            messages = [*messages, {"role": "assistant", "content": echoed}]
        for token in self.inner.execute(messages, options, response):
            cut = min(len(echoed), len(token))
            echoed, token = echoed[cut:], token[cut:]
            if token:
                self.tokens.append(token)
                yield token


def questions(files: list[Path]) -> list[str]:
    out = list(QUESTIONS)
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            q = line.partition("\t")[0].strip()
            if q and not line.startswith("#") and q not in out:
                out.append(q)
    return out


def opening(question: str, config, provider: Recording, index) -> tuple[str, int | None, str]:
    """The model's first token, the tokens held after it (None: nothing printed), and what it wrote."""
    result = answer(question, config, provider=provider, index=index)
    held = None
    for chunk in result.response:  # the rules take one token at a time, so this is when the first word came
        if held is None and chunk.strip():
            held = len(provider.tokens) - 1
    return (provider.tokens or [""])[0], held, "".join(provider.tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=FILES)
    parser.add_argument("--question", action="append", help="repeatable; instead of the files' questions")
    parser.add_argument("--prefill", action="store_true", help="end the messages with the lead as the assistant's")
    parser.add_argument("--limit", type=int, help="the first N questions only")
    args = parser.parse_args()
    config = load_config()
    provider = Recording(get_provider("llama_cpp", config), args.prefill)
    index = open_index(config)
    held_counts, firsts = Counter(), Counter()
    for question in (args.question or questions(args.files))[: args.limit]:
        try:
            first, held, text = opening(question, config, provider, index)
        except ProviderError as e:  # a prefill the context budget did not count: "exceeds the context size"
            held_counts["failed"] += 1
            print(f"{question[:50]:50} failed: {e}", flush=True)
            continue
        held_counts["dropped" if held is None else min(held, 4)] += 1
        firsts[first.strip()] += 1
        shown = "dropped" if held is None else f"held {held}"
        print(f"{question[:50]:50} {first!r:12} {shown:8} {text[:90]!r}", flush=True)
    order = [0, 1, 2, 3, 4, "dropped", "failed"]
    print(
        "first word held: "
        + ", ".join(f"{'4+' if k == 4 else k}: {held_counts[k]}" for k in order if held_counts[k])
        + f" (of {sum(held_counts.values())}); first tokens: "
        + ", ".join(f"{w!r} {n}" for w, n in firsts.most_common(6))
    )


if __name__ == "__main__":
    main()
