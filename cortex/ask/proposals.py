"""Commands a larger model proposes for a how-to question, kept only where this machine verifies them.

The bundled model (135M parameters) cannot name commands worth showing, so with it the commands come from
retrieval alone (:mod:`cortex.ask.howto`) and the model only phrases. A larger configured model (a GGUF with
more parameters, or a remote provider: Ollama, an OpenAI-compatible URL, Claude) is asked for up to three
command lines first; each is kept only when its program is on this machine or shipped by a Debian package
(then shown with ``sudo apt install``), and the validator does not block it. The model proposes; the index
and the validator decide.
"""

from __future__ import annotations

import re
from typing import Any

from cortex.ask.howto import HowTo, Suggestion
from cortex.packages.index import PackageIndex, on_path
from cortex.providers import Options, Provider, ProviderError

BUNDLED_PARAMETERS = 134_515_008  # SmolLM2-135M-Instruct's tensors (cortex model info)
REMOTE = frozenset({"ollama", "openai", "claude"})
PROMPT = (
    "You are a Debian 12 system administrator. Reply with the shell commands that do what the user asks on "
    "Debian 12, one command per line, at most three, with the user's own names, paths and numbers filled in. "
    "No explanations, no numbering, no markdown."
)
PROPOSAL_TOKENS = 96
PARTS = re.compile(r"\|\||&&|[|;]")  # a pipeline's or a list's commands
MARKUP = re.compile(r"^\s*(?:```\w*|\$ |# |[-*] |\d+[.)] )")


def proposes(provider: Provider, config: Any) -> bool:
    """Whether the configured model is larger than the bundled one, so its command names are worth checking."""
    if provider.name in REMOTE:
        return True
    if provider.name not in ("llama_cpp", "cortexd"):  # cortexd forwards to cortex-llm
        return False
    from cortex.models.modelfile import ModelFileError, read_header_cached

    path = config.model_path
    if path == config.paths.bundled_model:
        return False
    try:
        return read_header_cached(path, config.paths.model_header).parameters > BUNDLED_PARAMETERS
    except (OSError, ModelFileError):
        return False


def command_lines(text: str) -> list[str]:
    """The command lines of a reply, without fences, prompts, bullets, numbers or backticks."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("```"):
            continue
        while (m := MARKUP.match(line)) and m.end():
            line = line[m.end() :].strip()
        line = line.strip("`").strip()
        if line and line not in out:
            out.append(line)
    return out[:3]


def program_of_line(line: str) -> str:
    """The program a command line runs first: ``sudo ss -ltnp`` -> ``ss``, ``LANG=C df`` -> ``df``."""
    words = line.split()
    while words and (words[0] in ("sudo", "doas") or re.match(r"[A-Za-z_]\w*=", words[0])):
        words = words[1:]
    return words[0].rsplit("/", 1)[-1] if words else ""


def verify(lines: list[str], index: PackageIndex) -> list[Suggestion]:
    """The proposed lines this machine can vouch for: a program on the PATH or shipped by a package, and a
    command the validator does not block."""
    from cortex.safety.validator import validate

    out = []
    for line in lines:
        if line.endswith(":"):
            continue  # "Here is the command:", not a command
        if not on_path("sudo"):  # root here, without sudo: the line as it runs
            line = re.sub(r"^(sudo\s+)+", "", line)
        programs = [program_of_line(part) for part in PARTS.split(line)]
        if not programs or not all(re.fullmatch(r"[\w.+-]+", p) for p in programs):
            continue
        missing = [p for p in programs if not on_path(p)]
        owners = [_owner(p, index) for p in missing]
        if not all(owners):
            continue  # a program nothing on this machine or in Debian has: invented
        checked = validate(line)
        if checked.verdict == "block":
            continue
        program = programs[0]
        installed = not missing
        package = owners[0] if owners else ""
        caution = "; ".join(checked.reasons) if checked.verdict == "confirm" else ""
        summary = "proposed by the model; the program is on this machine" if installed else "proposed by the model"
        out.append(Suggestion(line, program, program, package, installed, summary, "", 0.0, checked.verdict, caution))
    return out


def _owner(program: str, index: PackageIndex) -> str:
    """The package that ships ``program`` as a command, spelt exactly so ("the" is a command, "The" is prose)."""
    return next((p for p in index.command_owners(program) if program in index.get(p).commands), "")


def propose(question: str, provider: Provider, index: PackageIndex) -> list[Suggestion]:
    """The configured model's command lines for ``question`` that :func:`verify` keeps (none when it fails)."""
    messages = [{"role": "system", "content": PROMPT}, {"role": "user", "content": question.strip()}]
    try:
        text = provider.prompt(messages, Options(max_tokens=PROPOSAL_TOKENS, temperature=0.0)).text()
    except ProviderError:
        return []
    return verify(command_lines(text), index)


def with_proposals(howto: HowTo, proposed: list[Suggestion], limit: int = 3) -> HowTo:
    """The verified proposals first, then the retrieved suggestions of other programs, ``limit`` in all."""
    programs = {s.program for s in proposed}
    rest = [s for s in howto.suggestions if s.program.split()[0] not in programs]
    return HowTo(howto.question, [*proposed, *rest][:limit])
