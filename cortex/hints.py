"""How to start Cortex's two services, in the run mode's words: the one place for every "start it with" hint.

In system mode both are systemd units (``sudo systemctl start``, their logs in the journal); in user mode the
CLI starts them (``cortex daemon start``, ``cortex llm start``, or both with ``cortex up``). A user-mode hint
shown to a system administrator would start a second, private copy instead of the service that is down.
"""

from __future__ import annotations

USER_START = {"cortexd": "cortex daemon start", "cortex-llm": "cortex llm start"}


def start_hint(service: str, mode: str) -> str:
    """``start it with ...`` for ``service`` ("cortexd" or "cortex-llm") in ``mode`` ("system" or "user")."""
    if mode == "system":
        return f"start it with 'sudo systemctl start {service}' (its log: 'journalctl -u {service}')"
    return f"start it with '{USER_START[service]}' (or 'cortex up')"
