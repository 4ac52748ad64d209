"""``cortex-llm``: check the model and become llama-server, in the foreground.

This is what ``cortex-llm.service`` runs: after the checks the process execs
llama-server itself, so systemd supervises the real server (signals, memory
limits, restarts) with no Python left in between. In user mode,
``cortex llm start`` / ``cortex up`` start llama-server in the background
instead, under a keeper that restarts it (``LlamaServer.start``, ``keeper.py``).
The checks create the API key file on first use (``api_key.py``); under the unit
``/etc`` is read-only, so ``scripts/install-llm.sh`` runs ``--check`` as root first.
"""

from __future__ import annotations

import argparse
import os
import sys

from cortex.config import ConfigError, load_config
from cortex.llm_service.supervisor import LlamaServer, ServiceError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="cortex-llm",
        description="Check the GGUF model named by llm.env and run llama.cpp's llama-server on it (foreground).",
    )
    parser.add_argument(
        "--check", action="store_true", help="only run the checks (creating the API key file) and print the command"
    )
    args = parser.parse_args(argv)
    try:
        server = LlamaServer(load_config())
        cmd = server.argv(*server.preflight())
        if args.check:
            print(" ".join(cmd))
            return
        server.check_port()
    except (ConfigError, ServiceError) as e:
        print(f"cortex-llm: {e}", file=sys.stderr)
        sys.exit(1)
    sys.stdout.flush()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
