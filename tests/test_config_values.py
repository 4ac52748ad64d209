"""Values: numbers are finite ASCII numbers in range, text has no control characters, and ``config set``
moves what must follow a key (issue 14: F9, control characters, the service port)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cortex.config import KEY_BY_NAME, ConfigError, config_set, load_config, set_value

# Float keys of several sections: NaN passed every range check (comparisons with NaN are false), and an
# infinity passed every range without an upper bound.
FLOAT_KEYS = ["llm.timeout", "llm.temperature", "monitor.interval", "thresholds.clear_margin", "alerts.ai_timeout"]
NOT_FINITE = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1e999"]
# Text Python's int() and float() accept that is no plain number: other scripts' digits, underscores.
NOT_ASCII_NUMBERS = ["٨٠", "１２", "1_0"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", FLOAT_KEYS)
@pytest.mark.parametrize("raw", NOT_FINITE)
def test_a_float_that_is_not_finite_is_refused_in_the_file(cortex_home: Path, name: str, raw: str) -> None:
    key = KEY_BY_NAME[name]
    conf = write(cortex_home / "daemon.conf", f"[{key.section}]\n{key.option}: {raw}\n")
    with pytest.raises(ConfigError) as e:
        load_config()
    message = str(e.value)
    assert str(conf) in message and f"[{key.section}]" in message and f"{key.option} = {raw!r}" in message
    assert f"expected {key.allowed()}" in message and f"{key.low:g}" in key.allowed()


@pytest.mark.parametrize("name", FLOAT_KEYS)
@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e999"])
def test_a_float_that_is_not_finite_is_refused_by_config_set(cortex_home: Path, name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=rf"{KEY_BY_NAME[name].option} = {raw!r} is not valid; expected"):
        set_value(name, raw)
    assert not (cortex_home / "daemon.conf").exists()  # nothing was written


@pytest.mark.parametrize(("var", "raw"), [("CORTEXD_N_THREADS", "nan"), ("CORTEXD_N_THREADS", "٢"),
                                          ("CORTEX_LLM_PORT", "٨٠٨٥"), ("CORTEX_LLM_PORT", "8_085"),
                                          ("CORTEX_LLM_CTX_SIZE", "1e9")])  # fmt: skip
def test_environment_numbers_are_plain_ascii_numbers(monkeypatch: pytest.MonkeyPatch, var: str, raw: str) -> None:
    monkeypatch.setenv(var, raw)
    with pytest.raises(ConfigError, match=rf"environment {var}: {var} = .* is not valid; expected a whole number"):
        load_config()


@pytest.mark.parametrize("raw", NOT_ASCII_NUMBERS)
def test_file_numbers_are_plain_ascii_numbers(cortex_home: Path, raw: str) -> None:
    write(cortex_home / "daemon.conf", f"[llm]\ntimeout: {raw}\n")
    with pytest.raises(ConfigError, match=r"timeout = .* is not valid; expected a number"):
        load_config()


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("thresholds.disk_critical", "99.9", 99.9),
        ("thresholds.disk_warning", "85.5", 85.5),
        ("thresholds.cpu_warning", "72.25", 72.25),
        ("thresholds.memory_critical", "97.5", 97.5),
        ("thresholds.memory_warning", "90", 90),
        ("llm.temperature", ".5", 0.5),
        ("llm.timeout", "1.5e2", 150),
    ],
)
def test_percent_thresholds_and_other_floats_take_decimals(cortex_home: Path, name: str, raw: str, value) -> None:
    set_value(name, raw)
    assert load_config()[name] == value


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("thresholds.disk_critical", "a number from 1 to 100"),
        ("thresholds.cpu_warning", "a number from 1 to 100"),
        ("thresholds.clear_margin", "a number from 0 to 50"),
        ("llm.temperature", "a number from 0 to 2"),
        ("llm.timeout", "a number of at least 1"),
        ("monitor.updates_interval", "a number of at least 60"),
        ("llm.n_ctx", "a whole number from 128 to 1048576"),
        ("service.port", "a whole number from 1 to 65535"),
        ("alerts.retention_days", "a whole number of at least 1"),
    ],
)
def test_range_messages_state_the_range_of_the_key(cortex_home: Path, name: str, allowed: str) -> None:
    key = KEY_BY_NAME[name]
    assert key.allowed() == allowed
    below = str(key.low - 1) if key.low is not None else "-1"
    with pytest.raises(ConfigError) as e:
        set_value(name, below)
    assert f"expected {allowed}" in str(e.value)


def test_decimal_thresholds_drive_the_alert_rules(cortex_home: Path) -> None:
    from test_monitor_lifecycle import snap

    from cortex.monitor.rules import build_rules

    for name, raw in (("disk_warning", "85.5"), ("disk_critical", "99.9"), ("cpu_warning", "72.5")):
        set_value(f"thresholds.{name}", raw)
    rules = {rule.name: rule for rule in build_rules(load_config())}
    disks = rules["disk"].observe(snap(disks={"/a": 85.4, "/b": 85.5, "/c": 99.8, "/d": 99.9}), {})
    assert [o.severity for o in disks] == [None, "warning", "warning", "critical"]
    (cpu,) = rules["cpu"].observe(snap(cpu=72.6), {})
    assert cpu.severity == "warning" and "above 72.5%" in cpu.message


def test_a_whole_number_key_still_refuses_decimals(cortex_home: Path) -> None:
    with pytest.raises(ConfigError, match="expected a whole number from 1 to 65535"):
        set_value("service.port", "8085.5")


CONTROLS = {"CR": "\r", "LF": "\n", "NUL": "\x00", "ESC": "\x1b", "TAB": "\t", "DEL": "\x7f", "NEL": "\x85",
            "CSI": "\x9b", "LINE SEPARATOR": "\u2028"}  # fmt: skip


@pytest.mark.parametrize("name", ["provider.llama_cpp_model", "llm.system_prompt", "service.host"])
@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
def test_config_set_refuses_control_characters_in_values(cortex_home: Path, name: str, char: str) -> None:
    with pytest.raises(ConfigError, match=r"control character U\+[0-9A-F]{4}"):
        set_value(name, f"a{char}OPENAI_BASE_URL=http://evil.example")
    for file in (".env", "llm.env", "daemon.conf"):
        assert not (cortex_home / file).exists()


@pytest.mark.parametrize("char", ["\r", "\n", "\x1b", "\x00"])
def test_config_set_refuses_control_characters_in_keys(cortex_home: Path, char: str) -> None:
    with pytest.raises(ConfigError, match="control character"):
        set_value(f"llm.n_ctx{char}", "2048")


def test_a_cr_cannot_inject_a_variable_into_an_env_file(cortex_home: Path) -> None:
    set_value("provider.llama_cpp_model", "tiny")
    with pytest.raises(ConfigError):
        set_value("provider.llama_cpp_model", "tiny\rOPENAI_BASE_URL=http://evil.example/v1")
    config = load_config()
    assert config["provider.llama_cpp_model"] == "tiny"
    assert config["provider.openai_base_url"] == "https://api.openai.com/v1"


def test_control_characters_from_the_environment_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_CPP_MODEL", "tiny\x1b]52;c;ZXZpbA==\x07")
    with pytest.raises(ConfigError, match=r"environment LLAMA_CPP_MODEL: LLAMA_CPP_MODEL contains the control"):
        load_config()


def test_a_wrong_secret_is_never_quoted(cortex_home: Path) -> None:
    with pytest.raises(ConfigError) as e:
        set_value("provider.openai_api_key", "sk-abcdef\x1b")
    assert "sk-abcdef" not in str(e.value) and "OPENAI_API_KEY" in str(e.value)


# --- the service port: client URLs that pointed at the old local port follow it -------------------------------


def test_changing_the_service_port_moves_every_client_url_that_pointed_at_it(cortex_home: Path) -> None:
    written, notes = config_set("service.port", "9000")
    config = load_config()
    assert config["service.port"] == 9000 and config.llm_url == "http://127.0.0.1:9000"
    assert config["llm.base_url"] == "http://127.0.0.1:9000"
    assert config["provider.llama_cpp_base_url"] == "http://127.0.0.1:9000"
    assert config["provider.ollama_base_url"] == "http://127.0.0.1:11434"  # another local port: left alone
    assert [w[0] for w in written] == ["service.port", "llm.base_url", "provider.llama_cpp_base_url"]
    assert notes == []
    config_set("service.port", "9100")  # and again, from the files now
    config = load_config()
    assert config["llm.base_url"] == config["provider.llama_cpp_base_url"] == "http://127.0.0.1:9100"


def test_urls_pointing_elsewhere_stay_and_paths_are_kept(cortex_home: Path) -> None:
    write(cortex_home / "daemon.conf", "[llm]\nbase_url: http://10.0.0.5:8085\n")
    write(cortex_home / ".env", "LLAMA_CPP_BASE_URL=http://localhost:8085/v1\nOPENAI_BASE_URL=http://[::1]:8085/v1\n")
    written, _ = config_set("service.port", "9000")
    config = load_config()
    assert config["llm.base_url"] == "http://10.0.0.5:8085"  # another machine's server
    assert config["provider.llama_cpp_base_url"] == "http://localhost:9000/v1"
    assert config["provider.openai_base_url"] == "http://[::1]:9000/v1"
    assert "llm.base_url" not in [w[0] for w in written]


def test_a_url_the_environment_sets_is_named_instead_of_silently_kept(
    cortex_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMA_CPP_BASE_URL", "http://127.0.0.1:8085")
    written, notes = config_set("service.port", "9000")
    assert "provider.llama_cpp_base_url" not in [w[0] for w in written]
    assert notes == ["LLAMA_CPP_BASE_URL in the environment still points at port 8085"]
    assert load_config()["llm.base_url"] == "http://127.0.0.1:9000"


# --- cortexd: a non-finite value never reaches the running daemon ---------------------------------------------


def test_cortexd_refuses_to_start_on_a_nan_and_keeps_its_config_on_reload(tmp_path: Path) -> None:
    from test_daemon_support import Conn, DaemonProcess, write_conf

    home, sock = tmp_path / "home", tmp_path / "run" / "cortex.sock"
    conf = write_conf(home / "daemon.conf", {"llm": {"timeout": "nan"}})
    refused = DaemonProcess(home, sock, conf).start(wait=False)
    try:
        code, err = refused.wait()
    finally:
        refused.stop()  # (if a regression let it start)
    assert code == 1 and f"{conf} [llm]: timeout = 'nan' is not valid; expected a number of at least 1" in err
    assert "Traceback" not in err

    write_conf(conf, {"monitor": {"interval": 5}, "llm": {"temperature": 0.5}})
    with DaemonProcess(home, sock, conf):
        conn = Conn(sock)
        for sections in ({"monitor": {"interval": "nan"}}, {"llm": {"temperature": "nan"}},
                         {"thresholds": {"disk_critical": "inf"}}, {"alerts": {"ai_timeout": "1e999"}}):  # fmt: skip
            write_conf(conf, sections)
            answer = conn.request({"command": "reload-config"})
            assert (
                answer["error"]["code"] == "config_error"
                and "is not valid; expected a number" in answer["error"]["message"]
            )
        health = conn.request({"command": "health"})
        assert health["success"] and health["data"]["thresholds"]["disk_critical"] == 95
        config = conn.request({"command": "config"})["data"]
        assert config["monitor.interval"]["value"] == 5 and config["llm.temperature"]["value"] == 0.5
        # Over the wire NaN, Infinity and overflowing numbers are not JSON: temperature can only be finite.
        for raw in (b"NaN", b"Infinity", b"-Infinity", b"1e999"):
            conn.send(b'{"command": "inference", "params": {"prompt": "hi", "temperature": ' + raw + b"}}\n")
            assert conn.read()["error"]["code"] == "parse_error"
        conn.close()


def test_a_port_the_environment_sets_moves_nothing(cortex_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_LLM_PORT", "8085")
    written, notes = config_set("service.port", "9000")
    assert [w[0] for w in written] == ["service.port"]
    assert notes == ["CORTEX_LLM_PORT in the environment still sets the port to 8085"]
    assert load_config()["llm.base_url"] == "http://127.0.0.1:8085"  # still where llama-server is
