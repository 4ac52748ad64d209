"""Where each run mode keeps its files: the one source of truth for paths.

Two run modes share all code (DESIGN section 1):

* **system**: root with the services installed by ``scripts/install.sh``:
  ``/etc/cortex``, ``/var/lib/cortex``, ``/run/cortex``, ``/var/log/cortex``.
* **user**: everything under ``$CORTEX_HOME`` (default ``~/.cortex``); run
  files under ``$XDG_RUNTIME_DIR/cortex`` when that exists and ``CORTEX_HOME``
  is not set, else ``$CORTEX_HOME/run``.

The mode is ``CORTEX_MODE`` when set; otherwise system only for root on a
machine where ``/etc/cortex/installed`` exists (written by the installer) and
``CORTEX_HOME`` is unset; user everywhere else. So a root shell on a fresh
machine, and every test (which sets ``CORTEX_HOME``), runs in user mode.
"""

from __future__ import annotations

import os
from collections import namedtuple
from pathlib import Path

SYSTEM_CONFIG_DIR = Path("/etc/cortex")
SYSTEM_MARKER = SYSTEM_CONFIG_DIR / "installed"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class Paths(namedtuple("Paths", "mode config_dir state_dir run_dir log_dir models_dir")):
    """All the places one run mode reads and writes.

    ``mode`` is "system" or "user"; ``config_dir`` holds daemon.conf, llm.env and (user) .env;
    ``state_dir`` the SQLite databases and package index; ``run_dir`` the socket and pid files;
    then ``log_dir`` and ``models_dir``, all ``Path``. A named tuple, not a dataclass: this module is on
    ``cortex daemon status``'s path, where importing dataclasses (and inspect) costs about 12 ms.
    """

    __slots__ = ()

    @property
    def socket(self) -> Path:
        return self.run_dir / "cortex.sock"

    @property
    def daemon_conf(self) -> Path:
        return self.config_dir / "daemon.conf"

    @property
    def llm_env(self) -> Path:
        return self.config_dir / "llm.env"

    @property
    def dotenv(self) -> Path:
        return self.config_dir / ".env"

    @property
    def bundled_model(self) -> Path:
        return self.models_dir / BUNDLED_MODEL_FILE

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    def ensure(self) -> None:
        """Create the directories this mode writes to, private to the user."""
        for d in (self.config_dir, self.state_dir, self.run_dir, self.log_dir, self.models_dir):
            d.mkdir(parents=True, exist_ok=True)
            if self.mode == "user":
                d.chmod(0o700)


def detect_mode(env: os._Environ[str] | dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    forced = env.get("CORTEX_MODE", "").strip().lower()
    if forced in ("system", "user"):
        return forced
    if os.geteuid() == 0 and not env.get("CORTEX_HOME") and SYSTEM_MARKER.exists():
        return "system"
    return "user"


def user_home(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    home = env.get("CORTEX_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cortex"


def get_paths(mode: str | None = None, env: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    mode = mode or detect_mode(env)
    if mode == "system":
        return Paths(
            mode="system",
            config_dir=SYSTEM_CONFIG_DIR,
            state_dir=Path("/var/lib/cortex"),
            run_dir=Path("/run/cortex"),
            log_dir=Path("/var/log/cortex"),
            models_dir=Path("/var/lib/cortex/models"),
        )
    home = user_home(env)
    xdg = env.get("XDG_RUNTIME_DIR")
    run_dir = Path(xdg) / "cortex" if xdg and not env.get("CORTEX_HOME") and Path(xdg).is_dir() else home / "run"
    return Paths(
        mode="user",
        config_dir=home,
        state_dir=home / "state",
        run_dir=run_dir,
        log_dir=home / "logs",
        models_dir=home / "models",
    )
