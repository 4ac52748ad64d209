"""What every command writes, without click: the fast paths (``cortex ask``, ``cortex llm start``) run before
click is imported, and ``cortex.cli.common`` writes through these too, so every failure line and JSON document
looks the same."""

from __future__ import annotations

import json
import sys

from cortex.redact import redact
from cortex.terminal import printable

TYPE_CHECKING = False  # 'cortex llm start' writes through here: typing is for type checkers only
if TYPE_CHECKING:
    from typing import Any


def print_json(data: Any) -> None:
    """Print ``data`` as the command's only stdout output."""
    print(json.dumps(data, indent=2, default=str), flush=True)


def failure(message: str, code: int = 1) -> int:
    """One clear line on stderr; return ``code`` (1 = the user can fix it, the message says how).

    Every error the CLI prints leaves here: known secrets are stripped (a provider may echo the key in its
    error) and so are terminal controls (errors quote requests, files and answers)."""
    print(f"cortex: {printable(redact(message))}", file=sys.stderr, flush=True)
    return code
