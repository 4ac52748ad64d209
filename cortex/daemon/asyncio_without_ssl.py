"""asyncio for cortexd, imported without ``ssl``: libssl and libcrypto cost an idle daemon 4.5 MB of RSS.

asyncio imports ``ssl`` only for its own TLS transports (``loop.create_connection(ssl=...)``,
``start_tls``), which cortexd never opens: its socket, the metrics endpoint and the
llama-server streams are plain. Every TLS connection it does make goes through
``cortex.http_client`` (an https ``[llm] base_url``, ``webhook_url``) on a blocking socket in
a worker thread, which needs none of asyncio's. ``ssl`` is kept out only while asyncio is
imported; ``http.client`` imports it as usual on first use. An asyncio TLS transport would
fail with "stdlib ssl module not available".

cortexd's entry point (``cortex.daemon.main``) imports asyncio from here before anything
else can; in a process that already has asyncio or ssl (the tests) this changes nothing.
"""

from __future__ import annotations

import sys

if "asyncio" not in sys.modules and "ssl" not in sys.modules:
    sys.modules["ssl"] = None  # "import ssl" raises ImportError, so asyncio leaves its TLS transports out
    try:
        import asyncio
    finally:
        del sys.modules["ssl"]
else:
    import asyncio

__all__ = ["asyncio"]
