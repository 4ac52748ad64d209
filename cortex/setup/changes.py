"""What setup would write: the choices as configuration keys, compared with the user's files.

A change is a key whose value in its file (llm.env, daemon.conf or .env)
differs from the chosen one, or is missing. Only changes are written, through
``cortex.config.set_value`` (other lines and comments stay), so a second run
that keeps every default writes nothing, and ``--dry-run`` can show the exact
list before anything is touched.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from cortex.config import DAEMON_CONF, KEY_BY_NAME, PROVIDERS, Config, read_env_file, set_value, user_file_for
from cortex.paths import Paths

# The registry's providers that setup offers, and "none".
BACKENDS: dict[str, str] = {
    **{name: entry.about for name, entry in PROVIDERS.items() if entry.about},
    "none": "none (no LLM: monitoring, alerts and the validator still work)",
}


@dataclass
class Choices:
    """Everything the wizard asks; ``model`` is a GGUF path for llama_cpp, a model name for the others."""

    backend: str
    model: str = ""
    threads: int = 0
    ctx: int = 0
    url: str = ""
    api_key: str = ""  # "" keeps the current key


@dataclass(frozen=True)
class Change:
    key: str  # a name in cortex.config.KEYS
    file: Path
    old: str | None  # None: not in the file yet
    new: str

    def describe(self) -> str:
        secret = KEY_BY_NAME[self.key].secret
        old = "(unset)" if self.old is None else ("***" if secret and self.old else self.old or '""')
        new = "***" if secret else self.new
        key = KEY_BY_NAME[self.key]
        name = f"[{key.section}] {key.option}" if key.file == DAEMON_CONF else key.file_key
        return f"{self.file.name}: {name} {old} -> {new}"


def settings(choices: Choices, config: Config) -> list[tuple[str, str]]:
    """The (key, value) pairs a set of choices stands for."""
    b = choices.backend
    if b == "llama_cpp":
        url = config.llm_url
        return [
            ("provider.name", "llama_cpp"),
            ("provider.llama_cpp_base_url", url),
            ("service.model_path", choices.model),
            ("service.threads", str(choices.threads)),
            ("service.ctx_size", str(choices.ctx)),
            ("llm.base_url", url),
        ]
    if b == "none":
        return []
    given = {"base_url": choices.url, "model": choices.model, "api_key": choices.api_key}
    chosen = [(key, given[arg]) for arg, key in PROVIDERS[b].settings.items() if arg != "api_key" or given[arg]]
    return [("provider.name", b), *chosen]  # an empty API key keeps the current one


def file_value(key_name: str, paths: Paths) -> str | None:
    """The raw text of ``key_name`` in the user's file for it, or None when it is not there."""
    key = KEY_BY_NAME[key_name]
    path = user_file_for(key, paths)
    if not path.is_file():
        return None
    if key.file != DAEMON_CONF:
        found = read_env_file(path).get(key.file_key)
        return found[0] if found else None
    parser = configparser.ConfigParser(interpolation=None, delimiters=(":", "="))
    parser.read(path, encoding="utf-8")
    return parser.get(key.section, key.option, fallback=None)


def plan(choices: Choices, config: Config) -> list[Change]:
    """The changes the choices make to the user's files (nothing for values already written)."""
    out = []
    for name, value in settings(choices, config):
        old = file_value(name, config.paths)
        if old is None or old.strip().rstrip("/") != value.rstrip("/"):
            out.append(Change(name, user_file_for(KEY_BY_NAME[name], config.paths), old, value))
    return out


def apply(changes: list[Change], paths: Paths) -> None:
    for change in changes:
        set_value(change.key, change.new, paths)
