"""A deterministic provider for unit tests of flow logic; never cached, never a stand-in for the real model."""

from __future__ import annotations

import json

from cortex.llm.provider import Messages, Options, Provider, Response


class FakeProvider(Provider):
    """Answers with ``reply`` (or, for a JSON schema with an enum, its first choice); counts words as tokens."""

    name = "fake"

    def __init__(self, model: str = "fake", reply: str | None = None):
        self.model = model
        self.reply = reply
        self.calls: list[tuple[Messages, Options]] = []

    def prompt(self, messages: Messages, options: Options | None = None) -> Response:
        options = options or Options()
        self.calls.append((messages, options))
        text = self.reply if self.reply is not None else self._default(messages, options)
        words = text.split(" ")
        response = Response(iter(w if i == 0 else " " + w for i, w in enumerate(words)), self.model)
        response.prompt_tokens = sum(len(m["content"].split()) for m in messages)
        response.tokens_generated = len(words)
        return response

    @staticmethod
    def _default(messages: Messages, options: Options) -> str:
        schema = options.json_schema or {}
        props = schema.get("properties", {})
        if props:
            return json.dumps({k: (v.get("enum") or [""])[0] for k, v in props.items()})
        return "fake answer to: " + messages[-1]["content"]
