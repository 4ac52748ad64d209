"""How-to answers: how many name a right command, and how many name a command nothing grounds.

    .venv/bin/python bench/eval_howto.py eval/howto_dev.tsv [more.tsv] [--model | --propose] [-v]

Each line of a set is ``question<TAB>regex`` (Python, case-insensitive): an answer is right when the regex
matches it. Without ``--model`` the answer is the grounded lead alone (``cortex.ask.howto``); with it, the
whole ``cortex ask`` answer with the configured (bundled) model's sentence, as a user sees it; with
``--propose``, the configured model's verified command lines first (:mod:`cortex.ask.proposals`), as with a
model larger than the bundled one. Ungrounded:
a command in backticks that is not on this machine's PATH and not shown with ``apt install`` (the goal is 0).
"Not sure": answers whose best command scores below ``cortex.ask.howto.SURE`` and says it is only the closest
match, with how many of them are right anyway.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

from cortex.ask.answer import answer
from cortex.ask.docs import open_store
from cortex.ask.howto import NOT_SURE, commands_in, suggest
from cortex.ask.proposals import propose, with_proposals
from cortex.config import load_config
from cortex.packages.index import on_path, open_index
from cortex.providers import get_provider


def rows(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            question, _, regex = line.partition("\t")
            out.append((question, regex))
    return out


def ungrounded(text: str) -> list[str]:
    return [name for name in commands_in(text) if not on_path(name) and "apt install" not in text]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--model", action="store_true", help="the whole answer, with the configured model")
    parser.add_argument(
        "--propose", action="store_true", help="the configured model proposes commands first, as a larger one does"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print the misses")
    args = parser.parse_args()
    config = load_config()
    index = open_index(config)
    store = open_store(config, index)
    provider = get_provider(config=config) if args.propose else None
    for path in args.sets:
        right, invented, times, unsure, unsure_right = 0, 0, [], 0, 0
        for question, regex in rows(path):
            start = time.perf_counter()
            if args.model:
                text = answer(question, config, index=index).text()
            elif provider is not None:
                text = with_proposals(suggest(question, index, store), propose(question, provider, index)).text()
            else:
                text = suggest(question, index, store).text()
            times.append(time.perf_counter() - start)
            ok = bool(re.search(regex, text, re.I))
            bad = ungrounded(text)
            weak = text.startswith(NOT_SURE)
            unsure, unsure_right = unsure + weak, unsure_right + (weak and ok)
            right += ok
            invented += bool(bad)
            if args.verbose and (not ok or bad):
                print(f"{'MISS' if not ok else 'UNGROUNDED ' + ' '.join(bad)}: {question}\n    {text[:400]!r}")
        n = len(times)
        print(
            f"{path.name}: right {right}/{n} = {right / n:.1%}; answers naming an ungrounded command {invented};"
            f" not sure {unsure} (right {unsure_right}); median {statistics.median(times) * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
