"""``cortex model``: the catalog, downloads, GGUF inspection, removing and choosing the default model."""

from __future__ import annotations

from pathlib import Path

import click

from cortex.cli.common import emit_json, fail, get_config, json_option
from cortex.terminal import printable


def _gb(n: int) -> str:
    return f"{n / 10**9:.1f} GB" if n >= 10**9 else f"{n / 10**6:.0f} MB"


@click.group()
def model() -> None:
    """List, download, inspect and remove GGUF models (kept in ~/.cortex/models, or /var/lib/cortex/models).

    \b
    cortex model list                  the catalog and what is installed
    cortex model pull phi-2            download from Hugging Face (resumes; HF_ENDPOINT for a mirror)
    cortex model pull hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M   any GGUF on the Hub
    cortex model info phi-2 --ctx 4096 architecture, parameters, quantisation, RAM for that context
    cortex model quantize my-f16.gguf Q4_K_M   llama.cpp's llama-quantize, into the models directory
    cortex model use phi-2             make it the default (llm.env); 'cortex llm load' also restarts
    """


@model.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The catalog and the installed models, with size, RAM need and what each is best for."""
    from cortex.models.modelfile import available_memory
    from cortex.models.store import list_models

    config = get_config()
    rows = list_models(config.paths.models_dir)
    if as_json:
        emit_json(rows)
        return
    free = available_memory()
    current = config.model_path.name
    click.echo(f"{'':2}{'NAME':<22}{'SIZE':>9}{'RAM':>9}  {'':11}BEST FOR")
    for r in rows:
        mark = "*" if r["file"] == current else " "
        state = "installed" if r["installed"] else ""
        warn = " (more RAM than free now)" if free and r["ram_bytes"] > free else ""
        sizes = f"{_gb(r['size_bytes']):>9}{_gb(r['ram_bytes']):>9}"
        unverified = " [unverified]" if r.get("unverified") else ""
        click.echo(f"{mark} {r['name']:<22}{sizes}  {state:<11}{r['best_for']}{unverified}{warn}")
    click.echo(f"\n* the configured model. Free memory now: {_gb(free)}. Download one with 'cortex model pull NAME'.")
    if any(r.get("unverified") for r in rows):
        click.echo("[unverified]: file name and size not checked on the Hub; a pull says what the repository holds.")


@model.command()
@click.argument("name")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@json_option
def pull(name: str, quiet: bool, as_json: bool) -> None:
    """Download model NAME into the models directory: a catalog name, hf.co/OWNER/REPO[:QUANT] (Q4_K_M when
    no QUANT is given) or OWNER/REPO/FILE.gguf. Resumes an interrupted download, checks the sha256."""
    from cortex.models.download import DownloadError
    from cortex.models.download import pull as pull_model
    from cortex.models.progress import bar

    config = get_config()
    try:
        with bar(name, enabled=not (quiet or as_json)) as progress:
            path = pull_model(name, config.paths.models_dir, progress)
    except DownloadError as e:
        fail(str(e))
    if as_json:
        emit_json({"name": name, "path": str(path), "size_bytes": path.stat().st_size})
    else:
        click.echo(f"{name}: {path} ({_gb(path.stat().st_size)}). Use it with 'cortex llm load {path.name}'.")


@model.command()
@click.argument("name")
@click.option("--ctx", type=click.IntRange(128, 1048576), default=None, help="Context size for the RAM estimate.")
@json_option
def info(name: str, ctx: int | None, as_json: bool) -> None:
    """What model NAME (catalog name, file in the models directory, or path) is, read from its GGUF header."""
    from cortex.models.modelfile import ModelFileError, model_info
    from cortex.models.store import ModelStoreError, installed_path

    config = get_config()
    try:
        doc = model_info(installed_path(name, config.paths.models_dir), ctx or config.llm_ctx)
    except (ModelStoreError, ModelFileError) as e:
        fail(str(e))
    if as_json:
        emit_json(doc)
        return
    for key in ("path", "name", "architecture", "parameters", "quantization", "context_length", "chat_template"):
        value = f"{doc[key]:,}" if key == "parameters" else printable(str(doc[key]))  # the file's own words
        click.echo(f"{key + ':':<16}{value}")
    click.echo(f"{'size:':<16}{_gb(doc['size_bytes'])}")
    click.echo(f"{'RAM needed:':<16}about {_gb(doc['ram_bytes'])} with a {doc['ctx_size']}-token context")


@model.command()
@click.argument("src")
@click.argument("qtype", metavar="TYPE")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: models/NAME.TYPE.gguf.")
@click.option("--requantize", is_flag=True, help="Allow an already quantized source (quality drops; F16/F32 is best).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@json_option
def quantize(src: str, qtype: str, output: Path | None, requantize: bool, quiet: bool, as_json: bool) -> None:
    """Quantize model SRC to TYPE (Q4_K_M, Q8_0, ...) with llama.cpp's llama-quantize; 'cortex model quantize x y'
    with an unknown TYPE lists the types it knows."""
    from cortex.models.progress import bar
    from cortex.models.quantize import QuantizeError, find_binary, output_path
    from cortex.models.quantize import quantize as run_quantize
    from cortex.models.store import ModelStoreError, installed_path

    config = get_config()
    models_dir = config.paths.models_dir
    try:
        source = installed_path(src, models_dir)
        binary = find_binary(config["service.server_bin"])
        out = output or output_path(source, qtype.upper(), models_dir)
        with bar(f"{source.name} to {qtype.upper()}", unit="tensors", enabled=not (quiet or as_json)) as progress:
            run_quantize(source, qtype, out, config.llm_threads, binary, requantize, progress)
    except (ModelStoreError, QuantizeError) as e:
        fail(str(e))
    size, before = out.stat().st_size, source.stat().st_size
    if as_json:
        emit_json({"source": str(source), "path": str(out), "type": qtype.upper(), "size_bytes": size})
    else:
        click.echo(
            f"{out} ({_gb(size)}, {qtype.upper()}) from {source.name} ({_gb(before)}). "
            f"Use it with 'cortex llm load {out.name}'."
        )


@model.command()
@click.argument("name")
@json_option
def rm(name: str, as_json: bool) -> None:
    """Delete installed model NAME from the models directory (not the configured one)."""
    from cortex.models.store import ModelStoreError, remove

    config = get_config()
    try:
        path = remove(name, config.paths.models_dir, in_use=config.model_path)
    except ModelStoreError as e:
        fail(str(e))
    if as_json:
        emit_json({"removed": str(path)})
    else:
        click.echo(f"removed {path}")


@model.command()
@click.argument("name")
@json_option
def use(name: str, as_json: bool) -> None:
    """Make model NAME the default (CORTEX_LLM_MODEL_PATH in llm.env); 'cortex llm load' also restarts cortex-llm."""
    from cortex.config import ConfigError, set_value
    from cortex.models.modelfile import ModelFileError, read_header
    from cortex.models.store import ModelStoreError, installed_path

    config = get_config()
    try:
        path = installed_path(name, config.paths.models_dir)
        read_header(path)
        target = set_value("service.model_path", str(path), config.paths)
    except (ModelStoreError, ModelFileError, ConfigError) as e:
        fail(str(e))
    if as_json:
        emit_json({"model_path": str(path), "file": str(target)})
    else:
        click.echo(f"default model: {path} (written to {target}); apply it with 'cortex llm load {name}'")
