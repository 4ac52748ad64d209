"""Prompt templates: Jinja2 files in the user's and the system's ``prompts`` directories.

A template named ``NAME`` is ``NAME.j2`` in ``<config_dir>/prompts`` (the user's,
``~/.cortex/prompts``) or ``/etc/cortex/prompts``; the user's wins. It renders
to the prompt text, with the request's ``variables`` as top-level names and
``system`` (facts about this machine, cheap to read) and ``request`` (the
variables again, for templates that want to test what was given).

Rendering runs in Jinja2's ``ImmutableSandboxedEnvironment``: the variables come
from IPC clients, so ``{{ ''.__class__.__mro__ }}`` and friends must fail loudly,
not print object internals, and a template cannot change what it is given.
Undefined names are errors too, so a typo in a variable is reported instead
of rendering an empty hole.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortex.files import MissingFile, UnreadableFile, read_text

SYSTEM_PROMPTS_DIR = Path("/etc/cortex/prompts")
SUFFIX = ".j2"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_SOURCE = 1 << 20  # bytes of a template file
MAX_OUTPUT = 64 * 1024  # characters a rendered prompt may have; far beyond any model context here
BUILTIN = ("chat", "raw")  # inference's own template values, never looked up as files


class PromptError(Exception):
    """A template that cannot be used; ``code`` is the daemon error code it maps to."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    path: Path
    scope: str  # "user" or "system"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "scope": self.scope}

    def source(self) -> str:
        """The template's text, read the one safe way (``cortex.files``: a FIFO, a huge or a non-UTF-8 file
        is a clear error, never a blocked worker)."""
        try:
            return read_text(self.path, MAX_SOURCE)
        except MissingFile as e:
            raise PromptError("not_found", f"prompt template {self.name!r} is gone: {e}") from None
        except UnreadableFile as e:
            raise PromptError("config_error", f"cannot use prompt template {self.name!r}: {e}") from None


def prompt_dirs(config: Any) -> list[tuple[str, Path]]:
    """(scope, directory) in lookup order: the user's (or in system mode /etc's) first."""
    user = config.paths.config_dir / "prompts"
    dirs = [("user" if config.paths.mode == "user" else "system", user)]
    if user != SYSTEM_PROMPTS_DIR:
        dirs.append(("system", SYSTEM_PROMPTS_DIR))
    return dirs


def list_templates(dirs: list[tuple[str, Path]]) -> list[PromptTemplate]:
    """Every usable template, by name; a user template hides the system one of the same name."""
    found: dict[str, PromptTemplate] = {}
    for scope, directory in dirs:
        try:
            paths = sorted(directory.glob(f"*{SUFFIX}"))
        except OSError:
            continue
        for path in paths:
            name = path.name[: -len(SUFFIX)]
            if NAME.fullmatch(name) and name not in BUILTIN and name not in found and path.is_file():
                found[name] = PromptTemplate(name, path, scope)
    return sorted(found.values(), key=lambda t: t.name)


def find_template(name: Any, dirs: list[tuple[str, Path]]) -> PromptTemplate:
    if not isinstance(name, str) or not NAME.fullmatch(name) or name in BUILTIN:
        raise PromptError(
            "invalid_params", f"template name {name!r} must be letters, digits, '_', '.' or '-' (and not chat/raw)"
        )
    for scope, directory in dirs:
        path = directory / f"{name}{SUFFIX}"
        if path.is_file():
            return PromptTemplate(name, path, scope)
    where = " or ".join(str(d) for _, d in dirs)
    raise PromptError("not_found", f"no prompt template {name!r}: put {name}{SUFFIX} in {where}")


def system_facts() -> dict[str, Any]:
    """Facts a template may use as ``system.*``; standard library only, so the daemon stays small."""
    try:
        release = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        release = ""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 0
    return {
        "hostname": socket.gethostname(),
        "os": release or platform.system(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "cpus": os.cpu_count() or 1,
        "memory_bytes": memory,
        "user": getpass.getuser(),
        "date": time.strftime("%Y-%m-%d"),
        "time": time.strftime("%H:%M:%S"),
    }


def render(template: PromptTemplate, variables: Any, facts: dict[str, Any] | None = None) -> str:
    """The template's text with ``variables``; PromptError (invalid_params) for anything it cannot render."""
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    if variables is None:
        variables = {}
    if not isinstance(variables, dict) or not all(isinstance(k, str) and k.isidentifier() for k in variables):
        raise PromptError("invalid_params", "'variables' must be an object whose keys are plain names")
    if "system" in variables or "request" in variables:
        raise PromptError("invalid_params", "'system' and 'request' are set by cortex; use other variable names")
    source = template.source()
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    context = {**variables, "request": dict(variables), "system": facts if facts is not None else system_facts()}
    try:
        pieces, size = [], 0
        for piece in env.from_string(source).generate(context):
            size += len(piece)
            if size > MAX_OUTPUT:
                raise PromptError(
                    "invalid_params", f"template {template.name!r} renders more than {MAX_OUTPUT} characters"
                )
            pieces.append(piece)
    except SecurityError as e:
        raise PromptError("invalid_params", f"template {template.name!r} refused by the sandbox: {e}") from None
    except TemplateError as e:
        where = f" (line {e.lineno})" if getattr(e, "lineno", None) else ""
        raise PromptError("invalid_params", f"template {template.name!r} failed{where}: {e}") from None
    return "".join(pieces).strip()


def apply_template(params: dict[str, Any], dirs: list[tuple[str, Path]]) -> dict[str, Any]:
    """Inference params with a named ``template`` turned into a plain ``prompt`` (chat and raw pass through).

    The request's ``prompt``, if any, is the template's ``prompt`` variable; a batch's
    ``prompts`` are rendered one by one the same way.
    """
    name = params.get("template")
    if name is None or name in BUILTIN:
        return params
    if "messages" in params:
        raise PromptError("invalid_params", "a prompt template renders the prompt; give 'variables', not 'messages'")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise PromptError("invalid_params", "'variables' must be an object whose keys are plain names")
    template = find_template(name, dirs)
    rest = {k: v for k, v in params.items() if k not in ("template", "variables")}
    prompts = params.get("prompts")
    if isinstance(prompts, list):
        rendered = [render(template, {**(variables or {}), "prompt": p}) for p in prompts]
        return {**rest, "prompts": rendered}
    given = {"prompt": params["prompt"]} if isinstance(params.get("prompt"), str) else {}
    return {**rest, "prompt": render(template, {**(variables or {}), **given})}
