"""``cortex prompts list|show|test``: the Jinja2 prompt templates cortexd's ``inference`` can use by name."""

from __future__ import annotations

import click

from cortex.cli.common import emit_json, fail, get_config, json_option


def _dirs() -> list:
    from cortex.llm.prompts import prompt_dirs

    return prompt_dirs(get_config())


def _find(name: str):
    from cortex.llm.prompts import PromptError, find_template

    try:
        return find_template(name, _dirs())
    except PromptError as e:
        fail(e.message, 2 if e.code == "invalid_params" else 1)


def _variables(pairs: tuple[str, ...]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            fail(f"--var takes NAME=VALUE (NAME a plain name), not {pair!r}", 2)
        variables[key] = value
    return variables


@click.group()
def prompts() -> None:
    """Prompt templates (NAME.j2 in ~/.cortex/prompts or /etc/cortex/prompts), rendered in a Jinja2 sandbox.

    \b
    A template sees the request's variables by name, plus system.hostname, system.os,
    system.kernel, system.arch, system.cpus, system.memory_bytes, system.user, system.date.
    Use one through cortexd: {"command": "inference", "params": {"template": NAME, "variables": {...}}}
    """


@prompts.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Every template, and where it lives (a user template hides a system one of the same name)."""
    from cortex.llm.prompts import list_templates

    dirs = _dirs()
    found = [t.as_dict() for t in list_templates(dirs)]
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(f"no templates; put NAME.j2 in {' or '.join(str(d) for _, d in dirs)}")
    for t in found:
        click.echo(f"{t['name']:<24} {t['scope']:<7} {t['path']}")


@prompts.command()
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """The source of template NAME."""
    from cortex.llm.prompts import PromptError

    template = _find(name)
    try:
        source = template.source()
    except PromptError as e:
        fail(e.message)
    if as_json:
        emit_json({**template.as_dict(), "source": source})
        return
    click.echo(source, nl=not source.endswith("\n"))


@prompts.command()
@click.argument("name")
@click.option("--var", "pairs", multiple=True, metavar="NAME=VALUE", help="A template variable (repeatable).")
@json_option
def test(name: str, pairs: tuple[str, ...], as_json: bool) -> None:
    """Render template NAME with --var values, as cortexd would, and print the prompt."""
    from cortex.llm.prompts import PromptError, render

    template = _find(name)
    variables = _variables(pairs)
    try:
        text = render(template, variables)
    except PromptError as e:
        fail(e.message)
    if as_json:
        emit_json({**template.as_dict(), "variables": variables, "prompt": text})
        return
    click.echo(text)
