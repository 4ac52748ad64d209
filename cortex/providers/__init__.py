"""One model/response interface for every backend, with streaming.

A :class:`Provider` turns chat messages into a :class:`Response`: ``prompt`` checks that the provider can do
what the options ask (its ``capabilities``) and ``execute`` yields the answer's chunks, filling in the token
counts through ``Response.set_usage``. Iterating a Response yields text chunks as the backend produces
them; ``text()`` waits for the whole answer. Which providers exist is ``cortex.config.PROVIDERS``.
"""

from __future__ import annotations

import importlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cortex.config import PROVIDERS, Config, load_config
from cortex.redact import excerpt, remember

Messages = list[dict[str, str]]


class ProviderError(RuntimeError):
    """The backend could not answer; the message names the endpoint and the fix, never a key."""


def error_detail(body: str) -> str:
    """What a backend's HTTP error answer says, to quote in a ProviderError: its JSON ``error.message``
    (OpenAI's and Anthropic's shape) or its text, redacted and cut (``excerpt``): backends echo keys."""
    try:
        error = json.loads(body).get("error")
        detail = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        detail = None
    return excerpt(detail if isinstance(detail, str) and detail else body)


class UnknownProviderError(ProviderError, ValueError):
    """No provider has that name (a ValueError too: a wrong argument of ``CommandInterpreter``)."""


class Capability(Enum):
    """What a request may ask beyond plain text; the value completes "PROVIDER cannot ..."."""

    STREAM = "stream its answer as it is generated"
    JSON_SCHEMA = "constrain its answer to a JSON schema"


class UnsupportedError(ProviderError):
    """The request asks for a capability the provider lacks: refused, never silently dropped."""


@dataclass
class Options:
    """What one request asks of the model besides its messages."""

    max_tokens: int = 256
    temperature: float = 0.7
    stop: list[str] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None  # constrain the output to this schema
    stream: bool = True  # the caller reads chunks as they are generated (False: only the whole text)
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific sampling options (seed, top_k...)

    def needs(self) -> set[Capability]:
        """The capabilities a provider must have to honour these options."""
        wanted = {Capability.STREAM: self.stream, Capability.JSON_SCHEMA: self.json_schema is not None}
        return {capability for capability, asked in wanted.items() if asked}


class Response:
    """A streaming answer: iterate for chunks, or call ``text()``; stats are set once it ends."""

    def __init__(self, provider: Provider, messages: Messages, options: Options):
        self._parts: list[str] = []
        self._done = False
        self.model = provider.model or provider.name
        self.prompt_tokens = 0
        self.tokens_generated = 0
        self.started = time.monotonic()
        self.first_token_ms: float | None = None
        self.time_ms = 0.0
        self._chunks = provider.execute(messages, options, self)  # a generator runs only when iterated

    def set_usage(self, prompt_tokens: int | None = None, tokens_generated: int | None = None) -> None:
        """Record the backend's token counts as they arrive (some backends send the two apart)."""
        if prompt_tokens is not None:
            self.prompt_tokens = prompt_tokens
        if tokens_generated is not None:
            self.tokens_generated = tokens_generated

    def pipe(self, transform: Callable[[Iterator[str]], Iterator[str]]) -> None:
        """Pass the chunks through ``transform`` before they are read (``cortex ask`` drops ungrounded
        sentences as they stream); call it before iterating."""
        self._chunks = transform(self._chunks)

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

    def stats(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "tokens_generated": self.tokens_generated,
            "time_ms": round(self.time_ms, 1),
            "first_token_ms": round(self.first_token_ms, 1) if self.first_token_ms is not None else None,
        }


class Provider(ABC):
    """A backend that answers chat messages; ``capabilities`` says what it can honour beyond plain text."""

    name: str = ""
    model: str = ""
    capabilities: frozenset[Capability] = frozenset({Capability.STREAM})

    def prompt(self, messages: Messages, options: Options | None = None) -> Response:
        """Start answering ``messages``; the returned Response streams as it is iterated. Raises
        UnsupportedError when the options ask for what this provider cannot do."""
        options = options or Options()
        missing = options.needs() - self.capabilities
        if missing:
            what = " or ".join(sorted(c.value for c in missing))
            raise UnsupportedError(f"{self.name} cannot {what}")
        return Response(self, messages, options)

    @abstractmethod
    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        """The answer's text chunks, filling ``response``'s stats through its public methods."""


def get_provider(
    name: str | None = None, config: Config | None = None, model: str | None = None, api_key: str = ""
) -> Provider:
    """The provider ``name`` (default: ``CORTEX_PROVIDER`` / ``.env`` / llama_cpp) built from its registry settings."""
    config = config or load_config()
    name = name or config["provider.name"]
    entry = PROVIDERS.get(name)
    if entry is None:
        raise UnknownProviderError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}")
    settings = {arg: config[key] for arg, key in entry.settings.items()}
    settings.update((arg, value) for arg, value in (("model", model), ("api_key", api_key)) if value)
    remember(settings.get("api_key", ""))  # a key given in code is no configured secret, but as secret
    if entry.name == "llama_cpp" and not settings.get("api_key"):  # cortex-llm: the key it was started with
        from cortex.llm_service import api_key as llm_key

        settings["api_key"] = llm_key.read(config.llm_key_file)
    module, _, cls_name = entry.target.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    return cls(entry.name, **settings) if not cls.name else cls(**settings)  # a nameless class serves several
