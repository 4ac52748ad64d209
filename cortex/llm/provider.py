"""One model/response interface for every backend, with streaming.

A :class:`Provider` turns chat messages into a :class:`Response`. Iterating a
Response yields text chunks as the backend produces them; ``text()`` waits for
the whole answer; the token counts and timings are filled in as it finishes.
Backends: ``llama_cpp``, ``ollama`` and ``openai`` (OpenAI chat completions, see
``openai_compat.py``), ``claude`` (Messages API) and ``fake`` (unit tests).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cortex.config import Config, load_config

Messages = list[dict[str, str]]


class ProviderError(RuntimeError):
    """The backend could not answer; the message names the endpoint and the fix, never a key."""


@dataclass
class Options:
    """What one request asks of the model besides its messages."""

    max_tokens: int = 256
    temperature: float = 0.7
    stop: list[str] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None  # constrain the output to this schema
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific sampling options (seed, top_k...)


class Response:
    """A streaming answer: iterate for chunks, or call ``text()``; stats are set once it ends."""

    def __init__(self, chunks: Iterator[str], model: str):
        self._chunks = chunks
        self._parts: list[str] = []
        self._done = False
        self.model = model
        self.prompt_tokens = 0
        self.tokens_generated = 0
        self.started = time.monotonic()
        self.first_token_ms: float | None = None
        self.time_ms = 0.0

    def __iter__(self) -> Iterator[str]:
        if self._done:
            yield from self._parts
            return
        self.started = time.monotonic()
        for chunk in self._chunks:
            if not chunk:
                continue
            if self.first_token_ms is None:
                self.first_token_ms = (time.monotonic() - self.started) * 1000
            self._parts.append(chunk)
            yield chunk
        self._done = True
        self.time_ms = (time.monotonic() - self.started) * 1000

    def text(self) -> str:
        for _ in self:
            pass
        return "".join(self._parts)

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_generated / (self.time_ms / 1000) if self.time_ms else 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "tokens_generated": self.tokens_generated,
            "time_ms": round(self.time_ms, 1),
            "first_token_ms": round(self.first_token_ms, 1) if self.first_token_ms is not None else None,
        }


class Provider(ABC):
    """A backend that answers chat messages."""

    name: str = ""
    model: str = ""

    @abstractmethod
    def prompt(self, messages: Messages, options: Options | None = None) -> Response:
        """Start answering ``messages``; the returned Response streams as it is iterated."""

    def available(self) -> bool:
        """Whether the backend answers now (cheap check, no generation)."""
        return True


def get_provider(
    name: str | None = None, config: Config | None = None, model: str | None = None, api_key: str = ""
) -> Provider:
    """The provider ``name`` (default: ``CORTEX_PROVIDER`` / ``.env`` / llama_cpp) built from the configuration."""
    config = config or load_config()
    name = name or config["provider.name"]
    if name in ("llama_cpp", "ollama", "openai"):
        from cortex.llm.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider.from_config(name, config, model=model, api_key=api_key)
    if name == "claude":
        from cortex.llm.claude import ClaudeProvider

        return ClaudeProvider(
            api_key=api_key or config["provider.anthropic_api_key"], model=model or config["provider.claude_model"]
        )
    if name == "fake":
        from cortex.llm.fake import FakeProvider

        return FakeProvider(model=model or "fake")
    raise ProviderError(f"unknown provider {name!r}; choose one of llama_cpp, ollama, openai, claude, fake")
