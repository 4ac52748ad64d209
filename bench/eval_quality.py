"""Quality of grounded plans and asks with the real bundled model, against no-model / no-facts baselines.

    .venv/bin/python bench/eval_quality.py [--requests FILE] [--ask FILE] [--json] [-v]

Defaults: the project's public sets in ``eval/``; an empty FILE ("") skips that set. The model is the llama-server
at ``LLAMA_CPP_BASE_URL`` (or ``~/.cortex/.env``, default 127.0.0.1:8085);
start one with ``cortex llm start``. Requests: a plan is right when its
packages cover every ``+`` group with one of the group's ``|`` names. Asks: an
answer is consistent when it matches the row's regular expression
(case-insensitive). Baselines from the same run: plans from the ranking alone
(no model), answers from the model alone (no facts, no lead).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from cortex.ask.answer import answer
from cortex.config import load_config
from cortex.install.planner import PlanError, make_plan
from cortex.packages.index import open_index
from cortex.packages.search import rank
from cortex.providers import Options, ProviderError, get_provider

ROOT = Path(__file__).resolve().parent.parent
ASK_TOKENS = 64  # enough for the explanation after a lead; keeps a run of the whole set to minutes


def rows(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            first, _, second = line.partition("\t")
            out.append((first.strip(), second.strip()))
    return out


def plan_ok(packages: list[str], expected: str) -> bool:
    """``a|b+c``: one of a or b, and c. A ``+`` inside a name (``g++``) is not a separator."""
    groups = re.split(r"(?<![+])\+(?=[a-z0-9])", expected)
    return all(any(p in group.split("|") for p in packages) for group in groups)


def top5_ok(request: str, planned: list[str], expected: str, index) -> bool:
    """The right package is planned, or among the ranking's first five candidates (one package asked for)."""
    if plan_ok(planned, expected):
        return True
    if "+" in expected.replace("++", ""):
        return False
    return any(plan_ok([c.package.name], expected) for c in rank(request, index, limit=5))


def plan_or_none(request: str, config, provider, index) -> list[str]:
    try:
        return make_plan(request, config, provider=provider, index=index).packages
    except PlanError:
        return []


def eval_requests(path: Path, config, provider, index, verbose: bool) -> dict:
    right = baseline = top5 = 0
    failures = []
    started = time.monotonic()
    data = rows(path)
    for request, expected in data:
        with_model = plan_or_none(request, config, provider, index)
        ranking = plan_or_none(request, config, None, index)
        right += plan_ok(with_model, expected)
        baseline += plan_ok(ranking, expected)
        top5 += top5_ok(request, with_model, expected, index)
        if not plan_ok(with_model, expected):
            failures.append({"request": request, "got": with_model, "expected": expected})
            if verbose:
                print(f"  miss: {request!r} -> {with_model} (want {expected})", file=sys.stderr)
    n = len(data)
    return {
        "file": str(path),
        "rows": n,
        "accuracy": right / n if n else 0.0,
        "baseline_ranking_only": baseline / n if n else 0.0,
        "top5": top5 / n if n else 0.0,
        "seconds": round(time.monotonic() - started, 1),
        "failures": failures,
    }


def eval_asks(path: Path, config, provider, index, verbose: bool) -> dict:
    right = baseline = 0
    failures = []
    started = time.monotonic()
    data = rows(path)
    for question, pattern in data:
        regex = re.compile(pattern, re.I)
        text = answer(question, config, provider=provider, index=index, max_tokens=ASK_TOKENS).text()
        plain = provider.prompt(
            [{"role": "user", "content": question}], Options(max_tokens=ASK_TOKENS, temperature=0.2)
        )
        right += bool(regex.search(text))
        baseline += bool(regex.search(plain.text()))
        if not regex.search(text):
            failures.append({"question": question, "answer": text, "expected": pattern})
            if verbose:
                print(f"  miss: {question!r} -> {text[:160]!r} (want /{pattern}/)", file=sys.stderr)
    n = len(data)
    return {
        "file": str(path),
        "rows": n,
        "consistent": right / n if n else 0.0,
        "baseline_model_without_facts": baseline / n if n else 0.0,
        "seconds": round(time.monotonic() - started, 1),
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    optional_path = lambda text: Path(text) if text else None  # noqa: E731 - "" skips that set
    parser.add_argument("--requests", type=optional_path, default=ROOT / "eval" / "install_requests.tsv")
    parser.add_argument("--ask", type=optional_path, default=ROOT / "eval" / "ask.tsv")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses on stderr")
    args = parser.parse_args()

    config = load_config()
    provider = get_provider("llama_cpp", config)
    try:
        provider.prompt([{"role": "user", "content": "hi"}], Options(max_tokens=1)).text()
    except ProviderError as e:
        print(f"eval_quality: {e}", file=sys.stderr)
        return 1
    index = open_index(config)
    report = {"model": provider.model or provider.name, "base_url": config["provider.llama_cpp_base_url"]}
    if args.requests:
        report["plans"] = eval_requests(args.requests, config, provider, index, args.verbose)
    if args.ask:
        report["asks"] = eval_asks(args.ask, config, provider, index, args.verbose)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if "plans" in report:
        p = report["plans"]
        ratio = p["accuracy"] / p["baseline_ranking_only"] if p["baseline_ranking_only"] else float("inf")
        print(
            f"plans  {p['file']}: right package {p['accuracy']:.1%} of {p['rows']}, in the first five {p['top5']:.1%}; "
            f"ranking alone {p['baseline_ranking_only']:.1%}; ratio {ratio:.2f}; {p['seconds']} s"
        )
    if "asks" in report:
        a = report["asks"]
        base = a["baseline_model_without_facts"]
        ratio = a["consistent"] / base if base else float("inf")
        print(
            f"asks   {a['file']}: consistent with the facts {a['consistent']:.1%} of {a['rows']} (goal 85%); "
            f"model without facts {base:.1%}; ratio {ratio:.2f}; {a['seconds']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
