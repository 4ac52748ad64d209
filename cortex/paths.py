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

TYPE_CHECKING = False  # on cortex daemon status's path: typing is for type checkers only (4 ms to import)
if TYPE_CHECKING:
    from pathlib import Path

SYSTEM_CONFIG_DIR = "/etc/cortex"
SYSTEM_MARKER = "/etc/cortex/installed"
SOCKET_FILE = "cortex.sock"
DAEMON_CONF, LLM_ENV, DOTENV = "daemon.conf", "llm.env", ".env"
LLM_KEY = "llm.key"  # cortex-llm's API key: [llm] api_key_file's default, relative to config_dir
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class Paths(namedtuple("Paths", "mode config_dir state_dir run_dir log_dir models_dir")):
    """All the places one run mode reads and writes.

    ``mode`` is "system" or "user"; ``config_dir`` holds daemon.conf, llm.env and (user) .env;
    ``state_dir`` the SQLite databases and package index; ``run_dir`` the socket and pid files;
    then ``log_dir`` and ``models_dir``, all ``Path``. A named tuple, not a dataclass: importing
    dataclasses (and inspect) costs about 12 ms, and this module is on ``cortex daemon status``'s path.
    """

    __slots__ = ()

    @classmethod
    def of(cls, where: dict[str, str]) -> Paths:
        """``locate()``'s strings as Paths."""
        from pathlib import Path  # here, not at the top: see locate()

        return cls(**{name: d if name == "mode" else Path(d) for name, d in where.items()})

    @property
    def socket(self) -> Path:
        return self.run_dir / SOCKET_FILE

    @property
    def daemon_conf(self) -> Path:
        return self.config_dir / DAEMON_CONF

    @property
    def llm_env(self) -> Path:
        return self.config_dir / LLM_ENV

    @property
    def dotenv(self) -> Path:
        return self.config_dir / DOTENV

    @property
    def bundled_model(self) -> Path:
        return self.models_dir / BUNDLED_MODEL_FILE

    @property
    def model_header(self) -> Path:
        """The last model file's checked header, while that file is unchanged (``modelfile.read_header_cached``)."""
        return self.state_dir / "model-header.json"

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def state_file(self, service: str) -> Path:
        """What a running service reports about itself (cortex-llm's keeper: its restarts)."""
        return self.run_dir / f"{service}.json"

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
    if os.geteuid() == 0 and not env.get("CORTEX_HOME") and os.path.exists(SYSTEM_MARKER):
        return "system"
    return "user"


def locate(mode: str | None = None, env: os._Environ[str] | dict[str, str] | None = None) -> dict[str, str]:
    """The run mode's directories as strings, keyed like ``Paths``' fields: the rules themselves.

    Strings and ``os.path`` only, so ``cortex daemon status`` finds its socket without pathlib
    (about 6 ms to import); ``get_paths`` wraps the same values in ``Path``.
    """
    env = os.environ if env is None else env
    mode = mode or detect_mode(env)
    if mode == "system":
        return {
            "mode": "system",
            "config_dir": SYSTEM_CONFIG_DIR,
            "state_dir": "/var/lib/cortex",
            "run_dir": "/run/cortex",
            "log_dir": "/var/log/cortex",
            "models_dir": "/var/lib/cortex/models",
        }
    home = os.path.expanduser(env["CORTEX_HOME"]) if env.get("CORTEX_HOME") else os.path.expanduser("~/.cortex")
    xdg = env.get("XDG_RUNTIME_DIR")
    use_xdg = xdg and not env.get("CORTEX_HOME") and os.path.isdir(xdg)
    return {
        "mode": "user",
        "config_dir": home,
        "state_dir": os.path.join(home, "state"),
        "run_dir": os.path.join(xdg, "cortex") if use_xdg else os.path.join(home, "run"),
        "log_dir": os.path.join(home, "logs"),
        "models_dir": os.path.join(home, "models"),
    }


def get_paths(mode: str | None = None, env: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    return Paths.of(locate(mode, env))
