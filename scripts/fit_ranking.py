"""Fit the ranking's weights (``cortex/packages/data/ranking.json``) to request sets, instead of by hand.

    .venv/bin/python scripts/fit_ranking.py eval/install_requests.tsv eval/descriptions_dev.tsv ... [--write]
        [--check FILE ...]

For every request of the training sets, the ranking's candidates and their features
(``cortex.packages.search.candidates``) are computed once; the weights are then those of a listwise softmax
model (cross-entropy of the right packages among the candidates, L2-regularised), fitted by gradient descent.
It prints the top-1 and top-5 accuracy of each training set and of the ``--check`` sets (not fitted on) with
the old and the new weights; ``--write`` saves the new ones. ``--only @long`` fits only the weights of that
copy of the signals and keeps the others (how the ``@long`` weights were fitted, on the five description
sets). Requests that name packages exactly, or that are lists ("tree and htop"), never reach the ranking and
are skipped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cortex.install.exact import exact_packages  # noqa: E402
from cortex.packages.index import open_index  # noqa: E402
from cortex.packages.search import DESCRIBED, LONG, SIGNALS, WEIGHTS, WEIGHTS_FILE, candidates  # noqa: E402

L2 = 0.005
STEPS = 3000


def rows(path: Path) -> list[tuple[str, set[str]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            request, _, expected = line.partition("\t")
            if re.search(r"(?<![+])\+(?=[a-z0-9])", expected):
                continue  # several packages: a split request
            out.append((request.strip(), set(expected.strip().split("|"))))
    return out


def dataset(paths: list[Path], index, names: list[str]):
    """Per request: the candidates' feature matrix and which of them are right."""
    data = []
    for path in paths:
        for request, right in rows(path):
            if exact_packages(request, index):
                continue
            found = candidates(request, index)
            if not found:
                continue
            x = np.array([[f.get(k, 0.0) for k in names] for _, f in found])
            y = np.array([pkg.name in right for pkg, _ in found])
            data.append((path.name, x, y))
    return data


def accuracy(data, w: np.ndarray) -> dict[str, tuple[int, int, int]]:
    out: dict[str, list[int]] = {}
    for name, x, y in data:
        s = x @ w
        order = np.argsort(-s, kind="stable")
        acc = out.setdefault(name, [0, 0, 0])
        acc[0] += bool(y[order[0]])
        acc[1] += bool(y[order[:5]].any())
        acc[2] += 1
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


TEMPERATURE = 3.0  # a sharper softmax: closer to what counts, the first place


def fit(data, w0: np.ndarray, free: np.ndarray | None = None) -> np.ndarray:
    """Listwise softmax regression, L2-regularised towards the current weights (a new signal starts at 0), by
    Adam; only the weights where ``free`` is true move, if given."""
    sizes: dict[str, int] = {}
    for name, _, _y in data:
        sizes[name] = sizes.get(name, 0) + 1
    usable = [(x * TEMPERATURE, y, 1 / sizes[name]) for name, x, y in data if y.any()]  # each set counts alike
    w = w0.copy() / TEMPERATURE
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, STEPS + 1):
        grad = L2 * (w - w0 / TEMPERATURE)
        for x, y, weight in usable:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = np.where(y, p, 0.0)
            q /= q.sum()
            grad += weight * (x.T @ (p - q)) / len(sizes)
        if free is not None:
            grad = np.where(free, grad, 0.0)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w * TEMPERATURE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", nargs="+", type=Path)
    parser.add_argument("--check", nargs="*", type=Path, default=[])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--only", help="fit only the weights of signals with this suffix (e.g. @long), keep the rest")
    args = parser.parse_args()
    index = open_index()
    names = sorted([*SIGNALS, *(k + suffix for k in SIGNALS for suffix in (DESCRIBED, LONG))])
    train = dataset(args.train, index, names)
    check = dataset(args.check, index, names)
    old = np.array([WEIGHTS.get(k, 0.0) for k in names])
    new = fit(train, old, np.array([k.endswith(args.only) for k in names]) if args.only else None)
    for label, data in (("train", train), ("check", check)):
        before, after = accuracy(data, old), accuracy(data, new)
        for name in sorted(after):
            b, a = before[name], after[name]
            print(f"{label} {name}: top1 {b[0]}/{b[2]} -> {a[0]}/{a[2]}, top5 {b[1]} -> {a[1]}")
    weights = {k: round(float(x), 3) for k, x in zip(names, new, strict=True)}
    print(json.dumps(weights, indent=1))
    if args.write:
        WEIGHTS_FILE.write_text(json.dumps(weights, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
