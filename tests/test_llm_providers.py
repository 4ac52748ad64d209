"""The provider registry and capabilities: one list builds every provider, and a request for what a provider
cannot do is refused with a clear error instead of being dropped. No network: the refusal comes first."""

from __future__ import annotations

import pytest

from cortex.config import KEY_BY_NAME, PROVIDERS, load_config
from cortex.llm.interpreter import APIProvider
from cortex.providers import Capability, Options, UnknownProviderError, UnsupportedError, get_provider
from cortex.providers.claude import ClaudeProvider
from cortex.providers.fake import FakeProvider
from cortex.setup.changes import BACKENDS

SCHEMA = {"type": "object", "properties": {"package": {"type": "string", "enum": ["nginx"]}}}
MESSAGES = [{"role": "user", "content": "which web server?"}]


class WholeTextProvider(FakeProvider):
    """A backend that can only return the whole answer at once."""

    capabilities = frozenset({Capability.JSON_SCHEMA})


def test_every_list_of_providers_is_the_registry() -> None:
    assert KEY_BY_NAME["provider.name"].choices == tuple(PROVIDERS)
    assert [p.value for p in APIProvider] == list(PROVIDERS)
    assert list(BACKENDS) == [name for name, entry in PROVIDERS.items() if entry.about] + ["none"]
    config = load_config()
    for name, entry in PROVIDERS.items():
        provider = get_provider(name, config)
        assert provider.name == name and type(provider).__name__ == entry.target.split(":")[1]
        if "model" in entry.settings:
            assert provider.model == config[entry.settings["model"]]
    with pytest.raises(UnknownProviderError, match="unknown provider 'gpt5'; choose one of llama_cpp"):
        get_provider("gpt5", config)


def test_claude_refuses_a_json_schema_instead_of_dropping_it() -> None:
    claude = ClaudeProvider(api_key="sk-ant-test", model="claude-sonnet-4-5", base_url="http://127.0.0.1:1")
    with pytest.raises(UnsupportedError, match="claude cannot constrain its answer to a JSON schema"):
        claude.prompt(MESSAGES, Options(json_schema=SCHEMA))


def test_streaming_is_a_capability_too() -> None:
    whole = WholeTextProvider(reply="nginx")
    with pytest.raises(UnsupportedError, match="fake cannot stream its answer as it is generated"):
        whole.prompt(MESSAGES)
    assert whole.calls == []  # refused before the backend was asked
    response = whole.prompt(MESSAGES, Options(stream=False, json_schema=SCHEMA))
    assert response.text() == "nginx" and response.tokens_generated == 1


def test_a_response_is_filled_through_its_public_api() -> None:
    response = FakeProvider(reply="one two three").prompt(MESSAGES)
    response.pipe(lambda chunks: (c.upper() for c in chunks))
    assert response.text() == "ONE TWO THREE"
    assert (response.prompt_tokens, response.tokens_generated) == (3, 3)
    response.set_usage(tokens_generated=5)
    assert (response.prompt_tokens, response.tokens_generated) == (3, 5)
