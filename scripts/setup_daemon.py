#!/usr/bin/env python3
"""The seed's quick start, ``python scripts/setup_daemon.py``: the same wizard as ``cortex setup``."""

from cortex.cli.setup import setup

if __name__ == "__main__":
    setup(prog_name="setup_daemon.py")
