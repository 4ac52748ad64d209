"""``cortex ask`` without click: a how-to answer's first line should not wait for click's import (~20 ms).

``cortex.cli.entry.main`` routes ``cortex ask WORDS...`` with no option here before click is imported, and the
click command calls the same ``run``, so there is one implementation.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext

from cortex.cli.output import failure, print_json
from cortex.config import Config, ConfigError, load_config
from cortex.terminal import printable


def run(
    question: str, provider: str | None = None, model: str | None = None, max_tokens: int = 200,
    via_daemon: bool = False, as_json: bool = False,
) -> int:  # fmt: skip
    """Print the answer to ``question`` as it streams (or its JSON document); return the exit code (1 or 2
    with one line on stderr)."""
    text = question.strip()
    if not text:
        return failure('ask needs a question, e.g. cortex ask "What is nginx?"', 2)
    try:
        config = load_config()
    except ConfigError as e:
        return failure(f"configuration error: {e}")
    from cortex.ask.questions import could_lead
    from cortex.packages import vector_worker

    # A how-to needs the question's vector: numpy and the scans go to the other core. A question the facts may
    # answer outright needs that core for the facts' commands.
    worker = nullcontext() if could_lead(text) else vector_worker.started(config.paths.models_dir, text)
    with worker:
        return _answer(text, config, provider, model, max_tokens, via_daemon, as_json)


def _answer(
    text: str, config: Config, provider: str | None, model: str | None, max_tokens: int, via_daemon: bool,
    as_json: bool,
) -> int:  # fmt: skip
    from cortex.ask.answer import answer
    from cortex.packages import vector_worker
    from cortex.providers import ProviderError, get_provider

    if via_daemon and provider:
        return failure("--via-daemon uses cortexd's model; drop --provider", 2)
    try:
        if via_daemon:
            from cortex.providers.daemon import DaemonProvider

            backend = DaemonProvider(config.socket_path, timeout=config["llm.timeout"] + 10)
        else:
            backend = get_provider(provider, config, model=model)
        result = answer(text, config, backend, max_tokens=max_tokens)
        vector_worker.stop()  # the lead is made: the model's stream needs no vectors
        if as_json:
            print_json(result.to_dict())
            return 0
        if result.lead:
            sys.stdout.write(printable(result.lead))
            sys.stdout.flush()
        for n, chunk in enumerate(result.response):  # the model may write escapes, or repeat the question's
            chunk = printable(chunk)
            sys.stdout.write(" " + chunk if n == 0 and result.lead else chunk)
            sys.stdout.flush()
        print()
    except ProviderError as e:
        return failure(str(e))
    return 0
