"""Secrets never leave the process: the secrets this process knows, and the one function that strips them.

Whoever reads or is given a secret registers it with :func:`remember`: ``load_config`` every key marked
``secret``, ``get_provider`` a key passed in code. :func:`redact` is applied where text leaves the process
(the CLI's error line, cortexd's log and its error answers), so no call site has to remember to. A provider
that echoes the key in an error body is the case this exists for: the key must not reach a terminal, a log
or a client. Standard library only: ``cortex daemon status`` loads it.
"""

from __future__ import annotations

MASK = "***"
EXCERPT = 300  # characters of a foreign answer (an HTTP error body) an error message quotes
# Shorter values are placeholders, not keys: local OpenAI-compatible servers take any key, and vLLM's docs
# use "EMPTY". Replacing "none" or "EMPTY" wherever it occurs would garble every message.
MIN_LENGTH = 8

_secrets: set[str] = set()


def remember(*secrets: str) -> None:
    """Add secrets to strip from everything this process prints, logs or answers from now on."""
    _secrets.update(s.strip() for s in secrets if s and len(s.strip()) >= MIN_LENGTH)


def redact(text: str) -> str:
    """``text`` with every known secret replaced by ``***`` (longest first, so one containing another goes whole)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The start of a foreign answer on one line, redacted before it is cut: a secret cut in half by the
    limit would no longer match and would leak its first part."""
    return redact(" ".join(text.split()))[:limit]
