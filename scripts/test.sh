#!/usr/bin/env bash
# The whole test suite, from a clean checkout: installs what the tests need, then lint and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --install-only
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -q "$@"
