"""The setup wizard: backend, model (with RAM-fit advice), threads and context, then files, services, a test ask.

Every question has a flag (``Options``); with ``yes`` nothing is asked and each
unanswered question takes its default. Defaults are the current configuration,
so a second run offers the first run's answers and, when they are kept,
changes nothing (``changes.plan`` compares with the files). ``dry_run`` stops
after showing the changes: nothing is downloaded, written or started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.prompt import Confirm, IntPrompt, Prompt

from cortex.config import PROVIDERS, Config, load_config
from cortex.models import catalog, store
from cortex.models.modelfile import ModelFileError, available_memory, check_model, estimate_ram, read_header
from cortex.setup.changes import BACKENDS, Change, Choices, apply, plan
from cortex.terminal import printable

TEST_QUESTION = "How much memory does this machine have?"


class SetupError(RuntimeError):
    """Setup cannot go on; one line that says what to do."""


@dataclass
class Options:
    backend: str | None = None
    model: str | None = None
    threads: int | None = None
    ctx: int | None = None
    url: str | None = None
    yes: bool = False
    dry_run: bool = False
    test_ask: bool = True


@dataclass
class ModelOption:
    label: str
    path: Path
    size_bytes: int
    ram_bytes: int
    entry: catalog.CatalogEntry | None

    @property
    def installed(self) -> bool:
        return self.path.is_file()


def gb(n: int) -> str:
    return f"{n / 10**9:.1f} GB"


def fit(ram: int, free: int) -> str:
    """RAM-fit advice for a model needing ``ram`` bytes when ``free`` bytes are available."""
    if not free:
        return "unknown"
    if ram <= free * 0.6:
        return "fits"
    return "tight" if ram <= free else "too big"


def current_choices(config: Config, backend: str | None = None) -> Choices:
    """The answers the current configuration stands for (for ``backend``, else the configured one)."""
    if backend is None:
        backend = config["provider.name"] if config["provider.name"] in BACKENDS else "llama_cpp"
    keys = PROVIDERS[backend].settings if backend in PROVIDERS else {}  # "none" has none
    current = {arg: config[key] for arg, key in keys.items() if arg != "api_key"}  # a key is never shown
    if backend == "llama_cpp":  # local: the model is a file, the URL is cortex-llm's
        current = {"model": str(config.model_path)}
    # The configured threads, else the machine's physical cores.
    return Choices(backend, current.get("model", ""), config.llm_threads, config.llm_ctx, current.get("base_url", ""))


def model_options(config: Config) -> list[ModelOption]:
    """The catalog (installed or not) and any other GGUF in the models directory or configured."""
    models_dir = config.paths.models_dir
    out = [ModelOption(e.name, models_dir / e.file, e.size_bytes, e.ram_bytes, e) for e in catalog.CATALOG]
    known = {o.path for o in out}
    for path in [*store.local_files(models_dir), config.model_path]:
        if path in known or not path.is_file():
            continue
        known.add(path)
        try:
            ram = estimate_ram(read_header(path), config.llm_ctx)
        except ModelFileError:
            continue
        out.append(ModelOption(path.name, path, path.stat().st_size, ram, None))
    return out


def trained_context(model: Path) -> int:
    """The context length the model was trained for: the most that is worth asking of it."""
    info = read_header(model)
    return int(info.metadata.get(f"{info.architecture}.context_length", 1 << 20))  # type: ignore[call-overload]


class Wizard:
    def __init__(self, config: Config, options: Options, console: Console | None = None):
        self.config = config
        self.opts = options
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.defaults = current_choices(config)

    # -- one question each ---------------------------------------------------------------------------------------

    def _ask(self, question: str, default: str, choices: list[str] | None = None) -> str:
        if self.opts.yes:
            return default
        return Prompt.ask(question, default=default, choices=choices, console=self.console)

    def backend(self) -> str:
        if self.opts.backend:
            if self.opts.backend not in BACKENDS:
                raise SetupError(f"unknown backend {self.opts.backend!r}; choose one of {', '.join(BACKENDS)}")
            return self.opts.backend
        if not self.opts.yes:
            self.console.print("[bold]LLM backend[/]")
            for name, what in BACKENDS.items():
                self.console.print(f"  {name:<10} {what}")
        return self._ask("Backend", self.defaults.backend, list(BACKENDS))

    def model(self) -> Path:
        """A local GGUF that passes the checks for the chosen context, downloaded first if needed."""
        options = model_options(self.config)
        free = available_memory()
        default = str(self.config.model_path)
        for i, o in enumerate(options, 1):
            if o.path == self.config.model_path:
                default = str(i)
        if self.opts.model is None and not self.opts.yes:
            self.console.print(f"\n[bold]Model[/] (free memory now: {gb(free)})")
            for i, o in enumerate(options, 1):
                state = "installed" if o.installed else f"download {gb(o.size_bytes)}"
                best = o.entry.best_for if o.entry else "in the models directory"
                self.console.print(
                    f"  {i:>2}  {o.label:<22} needs {gb(o.ram_bytes):>7}  {fit(o.ram_bytes, free):<8}{state:<18}{best}",
                    markup=False,
                )
            roomy = [o for o in options if o.entry and fit(o.ram_bytes, free) == "fits"]
            if roomy:
                best = max(roomy, key=lambda o: o.ram_bytes)
                self.console.print(
                    f"  Advice: {best.label} is the largest catalog model that fits the free memory comfortably.",
                    markup=False,
                )
        answer = self.opts.model
        while True:
            if answer is None:
                answer = self._ask("Model (number, name or path)", default)
            try:
                return self._local_model(answer, options)
            except (SetupError, store.ModelStoreError, ModelFileError) as e:
                if self.opts.model is not None or self.opts.yes:
                    raise SetupError(str(e)) from None
                self.console.print(f"[red]{e}[/]")
                answer = None

    def _local_model(self, answer: str, options: list[ModelOption]) -> Path:
        answer = answer.strip()
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            option = options[int(answer) - 1]
            path, entry = option.path, option.entry
        else:
            path, entry = store.resolve(answer, self.config.paths.models_dir), catalog.find(answer)
        if not path.is_file():
            if entry is None:
                raise ModelFileError(f"model file not found: {path}")
            path = self._download(entry)
        return path

    def _download(self, entry: catalog.CatalogEntry) -> Path:
        from cortex.models.download import DownloadError, pull
        from cortex.models.progress import bar

        if self.opts.dry_run:
            self.console.print(
                f"would download {entry.name} ({gb(entry.size_bytes)}) into {self.config.paths.models_dir}"
            )
            return self.config.paths.models_dir / entry.file
        if not self.opts.yes and not Confirm.ask(
            f"{entry.name} is not installed; download it now ({gb(entry.size_bytes)})?",
            default=True,
            console=self.console,
        ):
            raise SetupError("choose an installed model, or download one with 'cortex model pull NAME'")
        try:
            with bar(entry.name) as progress:
                return pull(entry.name, self.config.paths.models_dir, progress)
        except DownloadError as e:
            raise SetupError(str(e)) from None

    def number(self, question: str, given: int | None, default: int, low: int, high: int) -> int:
        if given is not None:
            if not low <= given <= high:
                raise SetupError(f"{question.lower()} must be from {low} to {high}, got {given}")
            return given
        if self.opts.yes:
            return default
        while True:
            value = IntPrompt.ask(question, default=default, console=self.console)
            if low <= value <= high:
                return value
            self.console.print(f"[red]enter a number from {low} to {high}[/]")

    def check_fit(self, model: Path, ctx: int) -> None:
        if self.opts.dry_run and not model.is_file():
            return  # would be downloaded first
        try:
            check_model(model, ctx * self.config["llm.parallel"])
        except ModelFileError as e:
            raise SetupError(str(e)) from None

    def remote(self, backend: str) -> Choices:
        d = current_choices(self.config, backend)
        url = d.url
        settings = PROVIDERS[backend].settings
        if "base_url" in settings:
            url = self.opts.url or self._ask("Base URL", d.url)
        model = self.opts.model or self._ask("Model name", d.model)
        api_key = ""
        if "api_key" in settings and not self.opts.yes:
            api_key = Prompt.ask(
                "API key (empty keeps the current one)", default="", password=True, console=self.console
            )
        return Choices(backend, model, url=url, api_key=api_key)

    # -- the whole run --------------------------------------------------------------------------------------------

    def choose(self) -> Choices:
        backend = self.backend()
        if backend == "none":
            return Choices("none")
        if backend != "llama_cpp":
            return self.remote(backend)
        model = self.model()
        cpus = os.cpu_count() or 1
        if not self.opts.yes and self.opts.threads is None:
            self.console.print(f"\nThis machine has {cpus} CPUs; llama.cpp runs best with one thread per core.")
        threads = self.number("Threads", self.opts.threads, self.defaults.threads, 1, 256)
        limit = trained_context(model) if model.is_file() else 1 << 20
        ctx = self.number("Context size (tokens)", self.opts.ctx, min(self.defaults.ctx, limit), 128, limit)
        self.check_fit(model, ctx)
        return Choices("llama_cpp", str(model), threads, ctx)

    def confirm(self, changes: list[Change]) -> bool:
        if not changes:
            self.console.print("\nNothing to change: the configuration already says this.")
            return False
        self.console.print("\n[bold]Changes[/]" + (" (dry run: nothing is written)" if self.opts.dry_run else ""))
        for c in changes:
            self.console.print(f"  {c.describe()}", markup=False)
        if self.opts.dry_run:
            return False
        return self.opts.yes or Confirm.ask("Write these changes?", default=True, console=self.console)

    def run(self) -> int:
        choices = self.choose()
        changes = plan(choices, self.config)
        if self.confirm(changes):
            apply(changes, self.config.paths)
            self.console.print(f"wrote {', '.join(sorted({str(c.file) for c in changes}))}", markup=False)
        elif changes and not self.opts.dry_run:
            self.console.print("nothing was written")
            return 0
        if self.opts.dry_run:
            return 0
        from cortex.setup.services import ServiceSetupError, start_services

        config = load_config()
        restart = any(c.key.startswith("service.") for c in changes)
        try:
            start_services(config, self.console, local_llm=choices.backend == "llama_cpp", restart=restart)
        except ServiceSetupError as e:
            raise SetupError(f"{e}; the settings are saved") from None
        if choices.backend != "none" and self.opts.test_ask:
            ask_once(config, self.console)
        self.console.print('\n[green]Cortex is set up.[/] Try: cortex ask "What is nginx?"')
        return 0


def ask_once(config: Config, console: Console) -> None:
    """One grounded question through the configured provider: proof the whole path works."""
    from cortex.ask.answer import answer
    from cortex.providers import ProviderError

    console.print(f"\nTest ask: {TEST_QUESTION}", markup=False)
    if not (config.paths.state_dir / "packages.db").exists():
        console.print("  (the first ask builds the package index; later ones are quick)")
    try:
        result = answer(TEST_QUESTION, config, max_tokens=48)
        console.print(f"  {printable(result.text())}", markup=False)
    except ProviderError as e:
        raise SetupError(
            f"the test ask failed: {e}; the settings are saved, fix the backend and run setup again"
        ) from None
