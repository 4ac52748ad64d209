"""The one list of LLM providers: each one's name, the class that answers, and the settings it reads.

The configuration, ``cortex setup``, ``get_provider`` (which imports only the chosen class) and
``APIProvider`` all read it; what a provider can do is declared by its class (``Provider.capabilities``).
No imports of Cortex: every ``cortex daemon status`` loads the configuration, and with it this table.
"""

from __future__ import annotations

from collections import namedtuple

# ``target`` is "module:Class"; ``about`` is what setup says of it (None: not offered, e.g. for tests);
# ``settings`` maps each constructor argument to the configuration key it comes from; the hints say what
# to do when the backend cannot be reached or rejects the key.
ProviderEntry = namedtuple("ProviderEntry", "name target about settings start_hint key_hint", defaults=("", ""))

OPENAI_COMPAT = "cortex.llm.openai_compat:OpenAICompatProvider"
PROVIDERS: dict[str, ProviderEntry] = {entry.name: entry for entry in (
    ProviderEntry("llama_cpp", OPENAI_COMPAT, "Local llama.cpp (cortex-llm on this machine; nothing leaves it)",
                  {"base_url": "provider.llama_cpp_base_url", "model": "provider.llama_cpp_model"},
                  "start it with 'cortex up' (or 'cortex llm start'), or point LLAMA_CPP_BASE_URL at a running server"),
    ProviderEntry("ollama", OPENAI_COMPAT, "Ollama (a local or LAN Ollama server)",
                  {"base_url": "provider.ollama_base_url", "model": "provider.ollama_model"},
                  "start it with 'ollama serve', or set OLLAMA_BASE_URL"),
    ProviderEntry("openai", OPENAI_COMPAT,
                  "OpenAI-compatible URL (OpenAI, vLLM, LM Studio, llama.cpp elsewhere...)",
                  {"base_url": "provider.openai_base_url", "model": "provider.openai_model",
                   "api_key": "provider.openai_api_key"},
                  "check OPENAI_BASE_URL and your network", "set OPENAI_API_KEY in ~/.cortex/.env"),
    ProviderEntry("claude", "cortex.llm.claude:ClaudeProvider", "Claude (Anthropic API key)",
                  {"model": "provider.claude_model", "api_key": "provider.anthropic_api_key"}),
    ProviderEntry("fake", "cortex.llm.fake:FakeProvider", None, {}),
)}  # fmt: skip
