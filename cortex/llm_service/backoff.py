"""One doubling wait for every llama-server that dies: the model cache's retries and cortex-llm's restarts.

A server that keeps dying must not be started again at once, or a crash loop (a model that
crashes it, a port taken by another program) costs a llama-server start each time. The wait
starts at ``FIRST`` seconds, doubles after each failure up to ``MOST``, and starts from
``FIRST`` again once the server has come up (``reset``).
"""

from __future__ import annotations

FIRST, MOST = 1.0, 60.0  # seconds


class Backoff:
    """The wait before the next try; ``failed`` uses it up and doubles it, ``reset`` forgets past failures."""

    def __init__(self, first: float = FIRST, most: float = MOST) -> None:
        self.first, self.most = first, most
        self.wait = first

    def failed(self) -> float:
        """The seconds to wait now, after one more failure; the next wait is twice as long (at most ``most``)."""
        wait = self.wait
        self.wait = min(2 * wait, self.most)
        return wait

    def reset(self) -> None:
        self.wait = self.first
