"""Setup's last step before the test ask: the services running on the new settings.

User mode starts cortexd, and for the local backend starts (or restarts, when
llm.env changed) this user's cortex-llm, as ``cortex up`` does. A llama-server that this user's Cortex
did not start is left alone: if it already serves the chosen model it is used,
otherwise setup says how to free the port. System mode installs the units with
``scripts/install-llm.sh`` and ``scripts/install.sh`` where systemd runs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.console import Console

from cortex.config import Config
from cortex.llm_service.llama_api import get_json
from cortex.llm_service.supervisor import LlamaServer, ServiceError

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


class ServiceSetupError(RuntimeError):
    """A service did not start; the settings are saved and the message says what to do."""


def start_llm(config: Config, console: Console, restart: bool) -> None:
    server = LlamaServer(config)
    st = server.status()
    if st.state in ("ready", "loading"):
        serving = Path(str(get_json(f"{st.url}/props", key=server.key).get("model_path", "")))
        if st.pid is None:
            if serving != config.model_path:
                raise ServiceSetupError(
                    f"another llama-server answers at {st.url} with {serving.name or 'another model'}; "
                    "stop it (or set CORTEX_LLM_PORT), then run 'cortex up'"
                )
            note = " (restart it to apply the new threads and context)" if restart else ""
            console.print(f"cortex-llm: already serving {serving.name} at {st.url}{note}", markup=False)
            return
        if not restart:
            console.print(f"cortex-llm: running at {st.url} (model {st.model})", markup=False)
            return
        server.stop()
    try:
        st = server.start()
    except ServiceError as e:
        raise ServiceSetupError(f"cortex-llm did not start: {e}") from None
    console.print(f"cortex-llm: {st.state} at {st.url} (model {st.model}, pid {st.pid})", markup=False)


def start_daemon(config: Config, console: Console) -> None:
    from cortex.daemon import control

    pid = control.read_pid(config)
    if pid is None:
        try:
            pid = control.start_background(config)
        except control.ControlError as e:
            raise ServiceSetupError(f"cortexd did not start: {e}") from None
    console.print(f"cortexd: running (pid {pid}) on {config.socket_path}", markup=False)


def install_system(config: Config, console: Console, local_llm: bool) -> None:
    if not Path("/run/systemd/system").is_dir():
        console.print("systemd is not PID 1 here, so no service was installed; run Cortex in user mode: 'cortex up'")
        return
    llm = [str(config.model_path), str(config.llm_threads), str(config.llm_ctx)]
    installers = [["sh", str(SCRIPTS / "install-llm.sh"), "install", *llm]] if local_llm else []
    for argv in [*installers, ["sh", str(SCRIPTS / "install.sh"), "install"]]:
        if subprocess.run(argv).returncode != 0:
            raise ServiceSetupError(f"{' '.join(argv[1:3])} failed (see above)")


def start_services(config: Config, console: Console, local_llm: bool, restart: bool) -> None:
    """cortexd always (it monitors whatever the backend); cortex-llm when the backend is the local llama.cpp."""
    if config.paths.mode == "system":
        install_system(config, console, local_llm)
        return
    if local_llm:
        start_llm(config, console, restart)
    start_daemon(config, console)
