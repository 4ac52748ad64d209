"""The seed's Python API (DESIGN section 5): plain requests in, checked commands out.

``CommandInterpreter(api_key, provider, model).parse(text)`` returns the plan's
commands as shell-quoted strings for display; ``plan(text)`` returns the
structured :class:`~cortex.install.plan.Plan` (argv steps, packages, verdicts).
Both come from the same pipeline as ``cortex install`` (``cortex.install.planner.make_plan``):
grounded in the local package index, every step validated and checked against apt's index.
"""

from __future__ import annotations

import shlex
from enum import Enum

from cortex.config import PROVIDERS, Config, load_config
from cortex.install.plan import Plan
from cortex.install.planner import make_plan
from cortex.packages.index import PackageIndex
from cortex.providers import Provider, ProviderError, get_provider

# The backends a CommandInterpreter can use, named as in the provider registry (``CORTEX_PROVIDER``'s values).
APIProvider = Enum("APIProvider", {name.upper(): name for name in PROVIDERS}, type=str)


class CommandInterpreter:
    """Turns a plain-language request into package-manager commands that passed the validator."""

    def __init__(
        self,
        api_key: str = "",
        provider: str | APIProvider = "llama_cpp",
        model: str | None = None,
        config: Config | None = None,
        index: PackageIndex | None = None,
    ):
        name = provider.value if isinstance(provider, APIProvider) else provider
        self.config = config or load_config()
        # an unknown name raises UnknownProviderError, a ValueError
        self.provider: Provider = get_provider(name, self.config, model=model, api_key=api_key)
        self.index = index

    def plan(self, text: str) -> Plan:
        """The structured plan for ``text``: packages, argv steps with verdicts, notes on the choice."""
        return make_plan(text, self.config, provider=self.provider, index=self.index)

    def parse(self, text: str) -> list[str]:
        """The plan's commands as shell-quoted strings, for display (they are run as argv, never by a shell)."""
        return [shlex.join(step.argv) for step in self.plan(text).steps]


__all__ = ["APIProvider", "CommandInterpreter", "ProviderError"]
