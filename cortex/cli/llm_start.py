"""``cortex llm start`` without click: every millisecond of it is added to the wait for the model.

``cortex.cli.entry.main`` routes ``cortex llm start [--json]`` here before click is imported (click costs
about as much as the checks before llama-server starts), and the click command calls the same ``run``, so
there is one implementation.
"""

from __future__ import annotations

from cortex.cli.output import failure, print_json
from cortex.config import ConfigError, load_config

DEFAULT_TIMEOUT = 120.0


def run(timeout: float, as_json: bool) -> int:
    """Start cortex-llm and print where it serves; return the exit code (1 with one line on stderr)."""
    from cortex.llm_service.supervisor import LlamaServer, ServiceError

    try:
        st = LlamaServer(load_config()).start(timeout)
    except ConfigError as e:
        return failure(f"configuration error: {e}")
    except ServiceError as e:
        return failure(str(e))
    if as_json:
        print_json(st.to_dict())
    else:
        print(f"cortex-llm: {st.state} at {st.url} (model {st.model}, pid {st.pid})")
    return 0
