"""A deterministic provider for unit tests of flow logic; never cached, never a stand-in for the real model."""

from __future__ import annotations

import json
from collections.abc import Iterator

from cortex.providers import Capability, Messages, Options, Provider, Response


class FakeProvider(Provider):
    """Answers with ``reply`` (or, for a JSON schema with an enum, its first choice); counts words as tokens."""

    name = "fake"
    capabilities = frozenset({Capability.STREAM, Capability.JSON_SCHEMA})

    def __init__(self, model: str = "fake", reply: str | None = None):
        self.model = model
        self.reply = reply
        self.calls: list[tuple[Messages, Options]] = []

    def execute(self, messages: Messages, options: Options, response: Response) -> Iterator[str]:
        """Not a generator: the call and the counts are recorded as soon as ``prompt`` returns."""
        self.calls.append((messages, options))
        text = self.reply if self.reply is not None else self._default(messages, options)
        words = text.split(" ")
        response.set_usage(sum(len(m["content"].split()) for m in messages), len(words))
        return iter(w if i == 0 else " " + w for i, w in enumerate(words))

    @staticmethod
    def _default(messages: Messages, options: Options) -> str:
        schema = options.json_schema or {}
        props = schema.get("properties", {})
        if props:
            return json.dumps({k: (v.get("enum") or [""])[0] for k, v in props.items()})
        return "fake answer to: " + messages[-1]["content"]
