"""Models: catalog and store, GGUF inspection, use and rm (pulls are tests/test_models_pull.py).

The GGUF files are small but well-formed, written here with the ``gguf`` package's GGUFWriter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cortex.config import load_config
from cortex.models import catalog
from cortex.models.modelfile import ModelFileError, model_info

CORTEX = [sys.executable, "-m", "cortex"]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "cortex-test/tiny-GGUF"
FILE = "tiny.Q8_0.gguf"


def write_gguf(path: Path, template: bool = True, arch: str = "llama") -> Path:
    """A small but well-formed GGUF: llama metadata, two F32 tensors, an optional chat template."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("Tiny Test")
    writer.add_context_length(4096)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_head_count(4)
    writer.add_file_type(int(gguf.LlamaFileType.MOSTLY_Q8_0))
    if template:
        writer.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    writer.add_tensor("token_embd.weight", np.ones((32, 64), dtype=np.float32))
    writer.add_tensor("output_norm.weight", np.ones((64,), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def run_cortex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CORTEX, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


# --- catalog -------------------------------------------------------------------------------------------------


def test_catalog_has_the_seed_models_and_the_bundled_one() -> None:
    names = {e.name for e in catalog.CATALOG}
    assert {"smollm2-135m", "tinyllama-1.1b", "phi-2", "mistral-7b-instruct", "llama-2-13b-chat", "orca-mini-3b"} <= (
        names
    )
    for e in catalog.CATALOG:
        assert e.file.endswith(".gguf") and e.best_for and e.ram_bytes > e.size_bytes > 0
        assert e.bundled == (e.name == "smollm2-135m")
    assert catalog.find("PHI-2") is catalog.BY_NAME["phi-2"]
    assert catalog.find("phi-2.Q4_K_M.gguf") is catalog.BY_NAME["phi-2"]
    assert catalog.find("gpt-17") is None
    assert {
        "qwen2.5-1.5b",
        "qwen3-1.7b",
        "llama-3.2-1b",
        "llama-3.2-3b",
        "gemma-3-1b",
        "phi-3.5-mini",
        "phi-4-mini",
    } <= (names)
    for e in catalog.CATALOG:  # a sha256 is only trusted at the commit it was read at
        assert bool(e.sha256) <= (e.revision != "main" or e.bundled) and not (e.sha256 and e.unverified)


def test_model_list_json_shape_and_installed_flag(cortex_home: Path, tmp_path: Path) -> None:
    models = load_config().paths.models_dir
    models.mkdir(parents=True)
    write_gguf(models / "my-own.gguf")
    (models / "notes.gguf").write_text("not a model")
    result = run_cortex("model", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    for row in rows:
        assert {"name", "file", "size_bytes", "ram_bytes", "installed", "best_for", "unverified"} <= row.keys()
    by_name = {r["name"]: r for r in rows}
    assert by_name["qwen3-1.7b"]["unverified"] is True and by_name["llama-3.2-1b"]["unverified"] is False
    assert by_name["phi-2"]["installed"] is False
    assert by_name["my-own"]["installed"] is True and by_name["my-own"]["ram_bytes"] > 0
    assert by_name["notes"]["ram_bytes"] == 0  # listed so it can be removed
    human = run_cortex("model", "list")
    assert "phi-2" in human.stdout and "my-own" in human.stdout
    lines = {line.split()[0]: line for line in human.stdout.splitlines() if line.strip()}
    assert lines["qwen3-1.7b"].endswith("[unverified]") and "[unverified]" not in lines["llama-3.2-1b"]
    assert "[unverified]: file name and size not checked on the Hub" in human.stdout


# --- info ----------------------------------------------------------------------------------------------------


def test_info_reads_the_written_gguf(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "t.gguf")
    info = model_info(path, ctx_size=1024)
    assert info["architecture"] == "llama"
    assert info["parameters"] == 32 * 64 + 64
    assert info["quantization"] == "Q8_0"
    assert info["context_length"] == 4096
    assert info["chat_template"] is True
    assert info["ram_bytes"] > info["size_bytes"]
    assert model_info(write_gguf(tmp_path / "n.gguf", template=False))["chat_template"] is False
    bigger = model_info(path, ctx_size=8192)["ram_bytes"]
    assert bigger > info["ram_bytes"]  # the KV cache grows with the context


def test_info_cli_json_and_bad_files(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "t.gguf")
    result = run_cortex("model", "info", str(path), "--ctx", "2048", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"path", "architecture", "parameters", "quantization", "context_length", "chat_template"} <= doc.keys()
    assert doc["path"] == str(path)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:100])
    for target, needle in ((cut, "truncated"), (tmp_path / "none.gguf", "not found"), ("phi-2", "not installed")):
        bad = run_cortex("model", "info", str(target))
        assert bad.returncode == 1 and needle in bad.stderr
        assert bad.stderr.count("\n") == 1 and not bad.stdout
    with pytest.raises(ModelFileError):
        model_info(cut)


# --- use and rm ----------------------------------------------------------------------------------------------


def test_use_sets_the_default_and_rm_refuses_it(cortex_home: Path) -> None:
    config = load_config()
    models = config.paths.models_dir
    models.mkdir(parents=True)
    write_gguf(models / "a.gguf")
    write_gguf(models / "b.gguf")
    result = run_cortex("model", "use", "a")
    assert result.returncode == 0, result.stderr
    assert f"CORTEX_LLM_MODEL_PATH={models / 'a.gguf'}" in config.paths.llm_env.read_text()
    assert load_config().model_path == models / "a.gguf"
    refused = run_cortex("model", "rm", "a")
    assert refused.returncode == 1 and "configured model" in refused.stderr
    assert (models / "a.gguf").exists()
    removed = run_cortex("model", "rm", "b", "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["removed"] == str(models / "b.gguf")
    assert not (models / "b.gguf").exists()


def test_use_rejects_a_broken_file_and_keeps_llm_env(cortex_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a model")
    result = run_cortex("model", "use", str(bad))
    assert result.returncode == 1 and "not a GGUF model" in result.stderr
    assert not load_config().paths.llm_env.exists()


def test_rm_refuses_files_outside_the_models_dir(tmp_path: Path) -> None:
    outside = write_gguf(tmp_path / "elsewhere.gguf")
    result = run_cortex("model", "rm", str(outside))
    assert result.returncode == 1 and "not in the models directory" in result.stderr
    assert outside.exists()
