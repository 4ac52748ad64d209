"""Layered configuration: one table of keys, three files, the environment.

Every setting Cortex reads is a row of ``KEYS`` below. A key lives in one file:

* ``daemon.conf`` (INI, ``key: value``): ``/etc/cortex/daemon.conf``, then the
  user's ``daemon.conf`` (``~/.cortex`` or ``$CORTEX_HOME``); the later wins.
  ``cortexd --config FILE`` replaces both with FILE.
* ``llm.env`` (``KEY=value``): the cortex-llm service file of the run mode.
* ``.env`` (``KEY=value``): the CLI's provider settings and API keys (``PROVIDERS`` lists the providers).

The environment variable named by a key (if any) wins over every file.
``load_config`` returns a :class:`Config` whose values carry their source, so
``cortex config show`` and the ``config`` IPC command can say where each came
from. A wrong value raises :class:`ConfigError` naming the file, the key and
what is allowed.
"""

from __future__ import annotations

import math
import os
import re
from collections import namedtuple

from cortex.files import MissingFile, UnreadableFile, read_text
from cortex.paths import (
    DAEMON_CONF,
    DOTENV,
    LLM_ENV,
    LLM_KEY,
    SOCKET_FILE,
    SYSTEM_CONFIG_DIR,
    Paths,
    get_paths,
    locate,
)
from cortex.redact import remember


def physical_cores(cpuinfo: str = "/proc/cpuinfo") -> int:
    """The machine's physical cores, llama.cpp's own default thread count: generation is bound by memory
    bandwidth, and a second thread on one core's hyper-thread only waits (on 2 cores, 4 threads made half the
    tokens a second of 2). Distinct (physical id, core id) pairs, else the CPU count."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return os.cpu_count() or 1
    cores = set()
    for block in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if "core id" in fields:
            cores.add((fields.get("physical id", "0"), fields["core id"]))
    return len(cores) or os.cpu_count() or 1


# On cortex daemon status's path: typing is for type checkers only (4 ms to import), and pathlib is imported
# where a Path is made (6 ms), because status reads its socket as a string.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import configparser
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

# The one list of LLM providers. ``provider.name`` takes its names; ``cortex setup``, ``get_provider`` (which
# imports only the chosen class) and ``APIProvider`` read it. Here and not in a module of its own because every
# ``cortex daemon status`` loads this file (one more module: 0.3 ms). ``target`` is "module:Class"; ``about``
# is what setup says of it (None: not offered); ``settings`` maps constructor arguments to the keys below; the
# hints say what to do when the backend is unreachable or rejects the key. What a provider can do is declared
# by its class (``Provider.capabilities``).
ProviderEntry = namedtuple("ProviderEntry", "name target about settings start_hint key_hint", defaults=("", ""))

OPENAI_COMPAT = "cortex.providers.openai_compat:OpenAICompatProvider"
PROVIDERS: dict[str, ProviderEntry] = {entry.name: entry for entry in (
    ProviderEntry("llama_cpp", OPENAI_COMPAT, "Local llama.cpp (cortex-llm on this machine; nothing leaves it)",
                  {"base_url": "provider.llama_cpp_base_url", "model": "provider.llama_cpp_model"},
                  "start it with 'cortex up' (or 'cortex llm start'), or point LLAMA_CPP_BASE_URL at a running server",
                  "set [llm] api_key_file to the key file of the cortex-llm at that URL ('cortex config show')"),
    ProviderEntry("ollama", OPENAI_COMPAT, "Ollama (a local or LAN Ollama server)",
                  {"base_url": "provider.ollama_base_url", "model": "provider.ollama_model"},
                  "start it with 'ollama serve', or set OLLAMA_BASE_URL"),
    ProviderEntry("openai", OPENAI_COMPAT,
                  "OpenAI-compatible URL (OpenAI, vLLM, LM Studio, llama.cpp elsewhere...)",
                  {"base_url": "provider.openai_base_url", "model": "provider.openai_model",
                   "api_key": "provider.openai_api_key"},
                  "check OPENAI_BASE_URL and your network", "set OPENAI_API_KEY in ~/.cortex/.env"),
    ProviderEntry("claude", "cortex.providers.claude:ClaudeProvider", "Claude (Anthropic API key)",
                  {"base_url": "provider.anthropic_base_url", "model": "provider.claude_model",
                   "api_key": "provider.anthropic_api_key"}),
    ProviderEntry("fake", "cortex.providers.fake:FakeProvider", None, {}),
)}  # fmt: skip

LOG_LEVELS = {"0": "DEBUG", "1": "INFO", "2": "WARNING", "3": "ERROR", "4": "CRITICAL"}


class ConfigError(ValueError):
    """A configuration value or file is wrong; the message says where and how to fix it."""


class Key(
    namedtuple(
        "Key",
        "name default kind help file env low high choices secret",
        defaults=(DAEMON_CONF, None, None, None, (), False),
    )
):
    """One setting: where it lives, its type, its default and who may override it.

    ``name`` is "section.key"; ``kind`` one of int, float, bool, str, path, url, choice, loglevel;
    ``file`` the file it lives in; ``env`` the environment variable that wins over files (or None);
    ``low``/``high`` bound numbers; ``choices`` lists a choice's values; ``secret`` values are redacted.
    A named tuple, not a dataclass: every ``cortex daemon status`` loads this table, and importing
    dataclasses (and inspect) would cost it about 12 ms.
    """

    __slots__ = ()

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def option(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def file_key(self) -> str:
        """The name inside its file: ``option`` in daemon.conf, the variable in env files."""
        return self.option if self.file == DAEMON_CONF else (self.env or "")

    def allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "loglevel":
            return "0-4 (0 = debug) or debug, info, warning, error, critical"
        if self.kind == "url":
            return "an http:// or https:// URL"
        if self.kind in ("int", "float"):
            what = "a whole number" if self.kind == "int" else "a number"
            if self.low is not None and self.high is not None:
                return f"{what} from {_num(self.low)} to {_num(self.high)}"
            if self.low is not None:
                return f"{what} of at least {_num(self.low)}"
            return what if self.high is None else f"{what} of at most {_num(self.high)}"
        return "a path" if self.kind == "path" else "text"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _pct(name: str, default: int, what: str) -> Key:
    """A percentage threshold: decimals allowed (a 2 TB disk is 20 GB from full at 99 %)."""
    return Key(name, default, "float", what, low=1, high=100)


KEYS: tuple[Key, ...] = (
    # [daemon]
    Key("daemon.socket_path", "", "path", "IPC socket (empty: the run mode's default)", env="CORTEX_SOCKET"),
    Key("daemon.log_level", "INFO", "loglevel", "log level", env="CORTEXD_LOG_LEVEL"),
    Key("daemon.max_connections", 1024, "int", "concurrent IPC connections", low=1, high=65536),
    Key("daemon.max_connections_per_process", 64, "int", "IPC connections one client process may hold", low=1),
    Key(
        "daemon.max_connections_per_user",
        256,
        "int",
        "IPC connections one user's processes may hold together (root and cortexd's own user: no cap)",
        low=1,
    ),
    Key("daemon.idle_timeout", 300, "float", "seconds an idle connection is kept", low=1),
    Key("daemon.rate_limit", 500, "float", "requests per second allowed to one peer", low=1),
    Key("daemon.rate_burst", 1000, "int", "requests one peer may send at once", low=1),
    Key("daemon.shutdown_timeout", 10, "float", "seconds SIGTERM waits for in-flight requests", low=0),
    # [monitor]
    Key("monitor.enabled", True, "bool", "sample the system and keep alerts (false: health on demand, no alerts)"),
    Key("monitor.interval", 30, "float", "seconds between system samples", low=1),
    Key("monitor.updates_interval", 3600, "float", "seconds between apt update counts", low=60),
    # [thresholds]
    _pct("thresholds.cpu_warning", 90, "CPU % for a warning"),
    _pct("thresholds.cpu_critical", 98, "CPU % for a critical alert"),
    _pct("thresholds.memory_warning", 90, "memory % for a warning"),
    _pct("thresholds.memory_critical", 95, "memory % for a critical alert"),
    _pct("thresholds.disk_warning", 85, "disk % for a warning"),
    _pct("thresholds.disk_critical", 95, "disk % for a critical alert"),
    Key("thresholds.clear_margin", 5, "float", "points below a threshold before its alert clears", low=0, high=50),
    Key("thresholds.cpu_duration", 300, "float", "seconds CPU must stay high before alerting", low=0),
    Key("thresholds.memory_duration", 60, "float", "seconds memory must stay high before alerting", low=0),
    Key("thresholds.disk_duration", 0, "float", "seconds a disk must stay full before alerting", low=0),
    Key("thresholds.llm_down_duration", 120, "float", "seconds cortex-llm may be down before alerting", low=0),
    Key("thresholds.failed_units", True, "bool", "alert on each failed systemd unit"),
    Key("thresholds.security_updates", 1, "int", "pending security updates that raise an alert (0: never)", low=0),
    # [alerts]
    Key("alerts.db_path", "", "path", "alert database (empty: state_dir/alerts.db)"),
    Key("alerts.retention_days", 30, "int", "days resolved alerts are kept", low=1),
    Key("alerts.repeat_interval", 3600, "float", "seconds between repeats of a firing alert", low=1),
    Key("alerts.ai_explain", False, "bool", "ask cortex-llm to explain new critical alerts"),
    Key("alerts.ai_timeout", 30, "float", "seconds one AI explanation may take", low=1),
    Key("alerts.notify_desktop", False, "bool", "desktop notifications with notify-send"),
    Key("alerts.webhook_url", "", "url", "POST each alert as JSON to this URL (unset: off)"),
    Key("alerts.alertmanager_url", "", "url", "Alertmanager to keep firing and resolved alerts in (empty: off)"),
    Key("alerts.exec_hook", "", "str", "command run per alert with its JSON on stdin; argv, no shell (empty: off)"),
    Key("alerts.notify_timeout", 10, "float", "seconds one notification may take", low=1),
    # [llm]
    Key("llm.model_path", "", "path", "GGUF model (empty: the bundled model)", env="CORTEXD_MODEL_PATH"),
    Key(
        "llm.n_threads",
        0,
        "int",
        "inference threads (0: the machine's physical cores)",
        env="CORTEXD_N_THREADS",
        low=0,
        high=256,
    ),
    Key("llm.n_ctx", 512, "int", "context size in tokens", low=128, high=1048576),
    Key("llm.use_mmap", True, "bool", "memory-map the model file"),
    Key("llm.parallel", 4, "int", "llama-server slots (parallel requests)", low=1, high=64),
    Key("llm.max_tokens_per_request", 256, "int", "largest max_tokens a request may ask", low=1),
    Key("llm.temperature", 0.7, "float", "default sampling temperature", low=0, high=2),
    Key("llm.base_url", "http://127.0.0.1:8085", "url", "cortex-llm URL the daemon forwards to"),
    Key("llm.timeout", 120, "float", "seconds one inference may take", low=1),
    Key("llm.queue_size", 100, "int", "inference requests waiting at most", low=1),
    Key("llm.system_prompt", "", "str", "system prompt for inference requests without one"),
    Key("llm.max_models", 2, "int", "models a request may name that stay loaded besides cortex-llm's", low=1, high=16),
    Key("llm.memory_budget", 0, "int", "MiB of estimated RAM those models may use together (0: no budget)", low=0),
    Key("llm.keep_alive", 300, "float", "seconds a model named by requests stays loaded when idle", low=1),
    Key(
        "llm.api_key_file",
        LLM_KEY,
        "path",
        "cortex-llm's API key file, relative to the config directory; created on first start (empty: no key)",
        env="CORTEX_LLM_API_KEY_FILE",
    ),
    # [metrics]
    Key("metrics.enabled", False, "bool", "serve Prometheus metrics over HTTP on 127.0.0.1"),
    Key("metrics.port", 9185, "int", "Prometheus HTTP port", low=1, high=65535),
    # llm.env: the cortex-llm service
    Key("service.model_path", "", "path", "GGUF model llama-server loads", LLM_ENV, "CORTEX_LLM_MODEL_PATH"),
    Key("service.threads", 0, "int", "threads (0: [llm] n_threads)", LLM_ENV, "CORTEX_LLM_THREADS", low=0, high=256),
    Key("service.ctx_size", 0, "int", "context size (0: [llm] n_ctx)", LLM_ENV, "CORTEX_LLM_CTX_SIZE", low=0),
    Key("service.port", 8085, "int", "llama-server port", LLM_ENV, "CORTEX_LLM_PORT", low=1, high=65535),
    Key("service.host", "127.0.0.1", "str", "llama-server address", LLM_ENV, "CORTEX_LLM_HOST"),
    Key("service.server_bin", "", "path", "llama-server binary (empty: search)", LLM_ENV, "CORTEX_LLM_SERVER_BIN"),
    # .env: the CLI's providers
    Key("provider.name", "llama_cpp", "choice", "LLM provider", DOTENV, "CORTEX_PROVIDER", choices=tuple(PROVIDERS)),
    Key("provider.llama_cpp_base_url", "http://127.0.0.1:8085", "url", "llama.cpp URL", DOTENV, "LLAMA_CPP_BASE_URL"),
    Key("provider.llama_cpp_model", "", "str", "llama.cpp model display name", DOTENV, "LLAMA_CPP_MODEL"),
    Key("provider.ollama_base_url", "http://127.0.0.1:11434", "url", "Ollama URL", DOTENV, "OLLAMA_BASE_URL"),
    Key("provider.ollama_model", "llama3.2", "str", "Ollama model", DOTENV, "OLLAMA_MODEL"),
    Key(
        "provider.openai_base_url",
        "https://api.openai.com/v1",
        "url",
        "OpenAI-compatible URL",
        DOTENV,
        "OPENAI_BASE_URL",
    ),
    Key("provider.openai_model", "gpt-4o-mini", "str", "OpenAI model", DOTENV, "OPENAI_MODEL"),
    Key("provider.openai_api_key", "", "str", "OpenAI API key", DOTENV, "OPENAI_API_KEY", secret=True),
    Key(
        "provider.anthropic_base_url",
        "https://api.anthropic.com",
        "url",
        "Anthropic API URL (a proxy or gateway)",
        DOTENV,
        "ANTHROPIC_BASE_URL",
    ),
    Key("provider.claude_model", "claude-sonnet-4-5", "str", "Claude model", DOTENV, "CLAUDE_MODEL"),
    Key("provider.anthropic_api_key", "", "str", "Anthropic API key", DOTENV, "ANTHROPIC_API_KEY", secret=True),
)
KEY_BY_NAME: dict[str, Key] = {k.name: k for k in KEYS}
DAEMON_SECTIONS = sorted({k.section for k in KEYS if k.file == DAEMON_CONF})


# No value holds these: C0 and C1 controls (a CR or LF would split an env file's line and inject a variable;
# an ESC reaches the terminal) and Unicode's line and paragraph separators (str.splitlines splits on them).
# Tab and newline are text only inside a daemon.conf value (an INI continuation line); ``set_value`` refuses them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SET_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Plain ASCII numbers: float() and int() also take "nan", "inf", other scripts' digits and underscores.
_NUMBER = {"int": re.compile(r"[+-]?[0-9]+"), "float": re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")}


def _control_error(where: str, name: str, char: str) -> ConfigError:
    return ConfigError(
        f"{where}: {name} contains the control character U+{ord(char):04X}; values are printable text on one line"
    )


def convert(key: Key, raw: str, where: str, name: str = "") -> Any:
    """Turn the text of a setting into its value, or raise ConfigError naming ``where`` and the setting
    (``name``, default its name in its file). A secret's text is never quoted."""
    text = raw.strip()
    name = name or key.file_key

    def bad() -> ConfigError:
        shown = "'***'" if key.secret else repr(raw)
        return ConfigError(f"{where}: {name} = {shown} is not valid; expected {key.allowed()}")

    if found := _CONTROL.search(raw):
        raise _control_error(where, name, found.group())
    if key.kind in ("str", "path"):
        return os.path.expanduser(text) if key.kind == "path" and text else text
    if key.kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise bad()
    if key.kind == "choice":
        if text not in key.choices:
            raise bad()
        return text
    if key.kind == "url":
        if not text and key.default == "":  # a URL that is off by default is turned off by an empty value
            return ""
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", text):
            raise bad()
        return text.rstrip("/")
    if key.kind == "loglevel":
        level = LOG_LEVELS.get(text, text.upper())
        if level not in LOG_LEVELS.values():
            raise bad()
        return level
    if not _NUMBER[key.kind].fullmatch(text):
        raise bad()
    try:
        value: float = int(text) if key.kind == "int" else float(text)
    except ValueError:  # an int of more than 4300 digits
        raise bad() from None
    if not math.isfinite(value):  # 1e999 overflows to inf
        raise bad()
    if (key.low is not None and value < key.low) or (key.high is not None and value > key.high):
        raise bad()
    return value


class Setting(namedtuple("Setting", "value source")):
    """A key's effective value and its source: "default", a file path, or "env:NAME"."""

    __slots__ = ()


class Config:
    """The effective configuration: every key's value and where it came from.

    ``where`` is the run mode's directories as strings (``paths.locate``); ``paths`` is the same as
    ``Path``, made on first use.
    """

    def __init__(
        self, settings: dict[str, Setting], where: dict[str, str], files: list[str], paths: Paths | None = None
    ):
        self._settings = settings
        self.where = where
        self.files = files  # the files that were read, in order
        self._paths = paths

    @property
    def paths(self) -> Paths:
        if self._paths is None:
            self._paths = Paths.of(self.where)
        return self._paths

    def __getitem__(self, name: str) -> Any:
        return self._settings[name].value

    def source(self, name: str) -> str:
        return self._settings[name].source

    def section(self, section: str) -> dict[str, Any]:
        return {k.option: self[k.name] for k in KEYS if k.section == section}

    def as_dict(self, redact: bool = True) -> dict[str, dict[str, Any]]:
        out = {}
        for key in KEYS:
            s = self._settings[key.name]
            value = "***" if redact and key.secret and s.value else s.value
            out[key.name] = {"value": value, "source": s.source}
        return out

    def diff(self, other: Config) -> list[str]:
        """Names of keys whose value differs from ``other``."""
        return [k.name for k in KEYS if self[k.name] != other[k.name]]

    # Derived values: each has one rule, written once here.
    @property
    def socket_path(self) -> str:
        """A string: ``cortex daemon status`` dials it without importing pathlib."""
        return self["daemon.socket_path"] or os.path.join(self.where["run_dir"], SOCKET_FILE)

    @property
    def alerts_db(self) -> Path:
        return self._path("alerts.db_path") or self.paths.state_dir / "alerts.db"

    @property
    def model_path(self) -> Path:
        """llm.env wins, then CORTEXD_MODEL_PATH / [llm] model_path, then the bundled model."""
        return self._path("service.model_path") or self._path("llm.model_path") or self.paths.bundled_model

    def _path(self, name: str) -> Path | None:
        """The path key ``name`` as a Path, or None when it is empty."""
        from pathlib import Path

        return Path(self[name]) if self[name] else None

    @property
    def model_path_source(self) -> str:
        for name in ("service.model_path", "llm.model_path"):
            if self[name]:
                return self.source(name)
        return "default"

    @property
    def llm_key_file(self) -> Path | None:
        """cortex-llm's API key file (``[llm] api_key_file``, relative to config_dir); None: no key."""
        return self.paths.config_dir / self["llm.api_key_file"] if self["llm.api_key_file"] else None

    @property
    def llm_threads(self) -> int:
        return self["service.threads"] or self["llm.n_threads"] or physical_cores()

    @property
    def llm_ctx(self) -> int:
        return self["service.ctx_size"] or self["llm.n_ctx"]

    @property
    def llm_url(self) -> str:
        return f"http://{self['service.host']}:{self['service.port']}"


MAX_CONFIG_BYTES = 1 << 20  # of one configuration or env file: a few KB in practice


def _read_text(path: str | Path, missing_ok: bool = False) -> str | None:
    """The text of configuration file ``path`` (None if absent and ``missing_ok``), read the one safe way
    (``cortex.files``): anything there that is not a small regular UTF-8 file is a ConfigError naming it,
    never skipped, which would put every key of the file back to its default."""
    try:
        return read_text(path, MAX_CONFIG_BYTES)
    except MissingFile:
        if missing_ok:
            return None
        raise ConfigError(f"{path}: no such configuration file") from None
    except UnreadableFile as e:
        raise ConfigError(f"{e}; make it a regular UTF-8 text file, or remove it") from None


def read_env_file(path: str | Path) -> dict[str, tuple[str, int]]:
    """The variables of env file ``path`` (see ``parse_env``); ConfigError if it is absent or unreadable."""
    return parse_env(_read_text(path) or "", path)


def parse_env(text: str, path: str | Path) -> dict[str, tuple[str, int]]:
    """``KEY=value`` lines (``export`` and quotes allowed) -> {KEY: (value, line)}."""
    out: dict[str, tuple[str, int]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        if "=" not in line:
            raise ConfigError(f"{path}:{n}: expected KEY=value, got {line!r}")
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[name.strip()] = (value, n)
    return out


def _read_ini(path: str, text: str) -> configparser.ConfigParser:
    import configparser  # only when a daemon.conf exists: most user-mode runs have none

    parser = configparser.ConfigParser(interpolation=None, delimiters=(":", "="))
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        raise ConfigError(f"{path}: cannot parse: {e}".replace("\n", " ")) from None
    return parser


def load_config(
    paths: Paths | None = None,
    config_file: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Read defaults, files and environment into a Config; raise ConfigError on any wrong value.

    Files are read as strings, without pathlib, for ``cortex daemon status`` (see ``Config.socket_path``).
    """
    env = os.environ if env is None else env
    where = {k: str(v) for k, v in paths._asdict().items()} if paths else locate(env=dict(env))
    settings = {k.name: Setting(k.default, "default") for k in KEYS}
    read: list[str] = []
    user_conf = os.path.join(where["config_dir"], DAEMON_CONF)
    system_conf = os.path.join(SYSTEM_CONFIG_DIR, DAEMON_CONF)
    conf_files = [str(config_file)] if config_file else list(dict.fromkeys([system_conf, user_conf]))

    for path in conf_files:
        text = _read_text(path, missing_ok=not config_file)
        if text is None:
            continue
        parser = _read_ini(path, text)
        read.append(path)
        for section in parser.sections():
            if section not in DAEMON_SECTIONS:
                raise ConfigError(f"{path}: unknown section [{section}]; known: {', '.join(DAEMON_SECTIONS)}")
            for option, raw in parser.items(section):
                key = KEY_BY_NAME.get(f"{section}.{option}")
                if key is None or key.file != DAEMON_CONF:
                    known = ", ".join(k.option for k in KEYS if k.section == section)
                    raise ConfigError(f"{path}: [{section}] unknown key {option!r}; known: {known}")
                settings[key.name] = Setting(convert(key, raw, f"{path} [{section}]"), path)

    for fname in (LLM_ENV, DOTENV):
        path = os.path.join(where["config_dir"], fname)
        text = _read_text(path, missing_ok=True)
        if text is None:
            continue
        read.append(path)
        by_var = {k.env: k for k in KEYS if k.file == fname}
        for var, (raw, line) in parse_env(text, path).items():
            key = by_var.get(var)
            if key is None:
                continue  # env files may carry variables for other programs
            settings[key.name] = Setting(convert(key, raw, f"{path}:{line}"), path)

    for key in KEYS:
        if key.env and key.env in env:
            value = convert(key, env[key.env], f"environment {key.env}", key.env)
            settings[key.name] = Setting(value, f"env:{key.env}")
    remember(*(settings[k.name].value for k in KEYS if k.secret))
    return Config(settings, where, read, paths)


def user_file_for(key: Key, paths: Paths) -> Path:
    return {DAEMON_CONF: paths.daemon_conf, LLM_ENV: paths.llm_env, DOTENV: paths.dotenv}[key.file]


def _set_ini_line(text: str, section: str, option: str, value: str) -> str:
    lines = text.splitlines()
    head = re.compile(r"^\s*\[(.+)\]\s*$")
    start = next((i for i, line in enumerate(lines) if (m := head.match(line)) and m.group(1) == section), None)
    if start is None:
        return "\n".join([*lines, *([""] if lines else []), f"[{section}]", f"{option}: {value}"]) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if head.match(lines[i])), len(lines))
    pattern = re.compile(rf"^\s*{re.escape(option)}\s*[:=]")
    for i in range(start + 1, end):
        if pattern.match(lines[i]):
            lines[i] = f"{option}: {value}"
            return "\n".join(lines) + "\n"
    lines.insert(end, f"{option}: {value}")
    return "\n".join(lines) + "\n"


def _set_env_line(text: str, var: str, value: str) -> str:
    lines = text.splitlines()
    pattern = re.compile(rf"^\s*(export\s+)?{re.escape(var)}\s*=")
    for i, line in enumerate(lines):
        if pattern.match(line):
            lines[i] = f"{var}={value}"
            break
    else:
        lines.append(f"{var}={value}")
    return "\n".join(lines) + "\n"


def set_value(name: str, raw: str, paths: Paths | None = None, path: Path | None = None) -> Path:
    """Validate ``raw`` for key ``name`` and write it to the key's file; return that file.

    Other lines and comments of the file are kept. Files holding secrets are 0600. A control character in
    the name or the value is refused: in an env file a CR or LF would start a line of its own, a variable.
    """
    if found := _SET_CONTROL.search(name):
        raise ConfigError(f"a key name cannot contain the control character U+{ord(found.group()):04X}")
    key = KEY_BY_NAME.get(name)
    if key is None:
        raise ConfigError(f"unknown key {name!r}; see 'cortex config show' for the keys")
    paths = paths or get_paths()
    target = path or user_file_for(key, paths)
    where = f"{target} [{key.section}]" if key.file == DAEMON_CONF else str(target)
    if found := _SET_CONTROL.search(raw):
        raise _control_error(where, key.file_key, found.group())
    convert(key, raw, where)
    old = _read_text(target, missing_ok=True) or ""
    if key.file == DAEMON_CONF:
        new = _set_ini_line(old, key.section, key.option, raw)
    else:
        new = _set_env_line(old, key.file_key, raw)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.chmod(0o600 if key.file != DAEMON_CONF else 0o644)
    tmp.replace(target)
    return target


def config_set(name: str, raw: str, paths: Paths | None = None) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """``cortex config set``: write ``name`` and every key that must follow it; return what was written
    ((key, value, file), the key first) and notes on what could not follow.

    Client URLs follow ``service.port``: each URL key whose effective value points at llama-server's old
    local address moves to the new port, so ``cortex config set service.port 9000`` leaves no client on 8085.
    URLs pointing elsewhere (another port, another machine) stay. One set by an environment variable cannot
    be moved from here and is named instead.
    """
    paths = paths or get_paths()
    config = load_config(paths) if name == "service.port" else None  # before the port changes
    written = [(name, raw, set_value(name, raw, paths))]
    notes: list[str] = []
    if config is None:
        return written, notes
    old, new = config["service.port"], convert(KEY_BY_NAME[name], raw, name)
    if config.source(name).startswith("env:"):  # the file changed, the port did not: nothing may follow
        return written, [f"{KEY_BY_NAME[name].env} in the environment still sets the port to {old}"]
    for key in KEYS:
        url = config[key.name] if key.kind == "url" else ""
        if not url or new == old or not _points_at(url, config["service.host"], old):
            continue
        if config.source(key.name).startswith("env:"):
            notes.append(f"{key.env} in the environment still points at port {old}")
            continue
        moved = _with_port(url, new)
        written.append((key.name, moved, set_value(key.name, moved, paths)))
    return written, notes


def _points_at(url: str, host: str, port: int) -> bool:
    """Whether ``url`` is llama-server's address: a loopback name or ``host``, and ``port``."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name = parts.hostname or ""
    try:
        local = name in ("localhost", host) or ipaddress.ip_address(name).is_loopback
    except ValueError:
        local = False
    try:
        url_port = parts.port or {"http": 80, "https": 443}[parts.scheme]
    except ValueError:
        return False
    return local and url_port == port


def _with_port(url: str, port: int) -> str:
    """``url`` with its port replaced (or added), everything else kept."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    return parts._replace(netloc=f"{host}:{port}").geturl()
