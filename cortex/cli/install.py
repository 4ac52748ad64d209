"""``cortex install``, ``cortex history``, ``cortex rollback``: checked plans, their runs, and undoing them."""

from __future__ import annotations

import sys
from typing import Any

import click

from cortex.cli.common import emit_json, fail, get_config, json_option
from cortex.terminal import printable

VERDICT_STYLE = {"allow": "green", "confirm": "yellow", "block": "red"}


def _show_plan(plan: Any, err: bool = False) -> None:
    click.echo(f"Plan for: {printable(plan.request)}", err=err)
    if plan.packages:
        click.echo(f"  packages: {printable(', '.join(plan.packages))}", err=err)
    for note in plan.notes:
        click.echo(f"  note: {printable(note)}", err=err)
    for i, step in enumerate(plan.steps, 1):
        mark = click.style(f"[{step.verdict}]", fg=VERDICT_STYLE.get(step.verdict, "white"))
        root = " (as root)" if step.needs_root else ""
        click.echo(f"  {i}. {_argv(step.argv)}{root}  {mark}", err=err)
        if step.why:
            click.echo(f"       why: {printable(step.why)}", err=err)
        for reason in step.reasons:
            click.echo(f"       - {printable(reason)}", err=err)


def _argv(argv: list[str]) -> str:
    """A step's argv for the terminal: its words as they are, without terminal controls."""
    return printable(" ".join(argv))


def _show_simulation(sim: Any) -> None:
    for key, label in (("install", "would install"), ("upgrade", "would upgrade"), ("remove", "would REMOVE")):
        items = getattr(sim, key)
        if items:
            click.echo(f"  {label}: " + printable(", ".join(f"{p['name']} {p['version']}" for p in items)))
    click.echo(f"  download: {sim.download_bytes / 1e6:.1f} MB")


def _confirm_and_run(
    plan: Any, yes: bool, as_json: bool, kind: str = "install", rollback_of: int | None = None
) -> None:
    """Ask (Enter = no), then run with a progress display; exit 1 naming the failed step."""
    from cortex.install.history import open_history

    blocked = [(i, s) for i, s in enumerate(plan.steps, 1) if s.verdict not in ("allow", "confirm")]
    if blocked:
        i, step = blocked[0]
        fail(f"not running: step {i} ({_argv(step.argv)}) is blocked: {'; '.join(step.reasons)}")
    if not plan.steps:
        fail("nothing to run")
    if not yes:
        if as_json or not sys.stdin.isatty():
            fail("not running: no terminal to confirm on; add --yes to run without asking")
        answer = click.prompt("Proceed? [y/N]", default="", show_default=False, err=True)
        if answer.strip().lower() not in ("y", "yes"):
            fail("not running: you did not confirm (type y to proceed)")
    result = _execute(plan, open_history(get_config()), as_json, kind, rollback_of)
    if as_json:
        emit_json(result.to_dict())
    elif result.ok:
        click.echo(f"done: {len(result.results)} step(s) succeeded; recorded as run {result.run_id}", err=True)
    if not result.ok:
        fail(f"{result.error} (recorded as run {result.run_id}; see 'cortex history {result.run_id}')")


def _execute(plan: Any, history: Any, quiet: bool, kind: str, rollback_of: int | None) -> Any:
    """Run the plan with live output and a progress bar on stderr (stdout stays free for --json)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cortex.install.apt import AptError
    from cortex.install.executor import ExecutionError, Executor

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=True, disable=quiet or not console.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("starting", total=len(plan.steps))

        def on_step(idx: int, step: Any) -> None:
            argv = escape(_argv(step.argv))  # rich markup: a '[' in an argument is text
            progress.update(task, completed=idx, description=f"step {idx + 1}: {argv}")
            if not quiet:
                console.print(f"[bold]==> step {idx + 1}/{len(plan.steps)}:[/bold] {argv}")

        def on_output(idx: int, line: str) -> None:
            if not quiet:  # a package's scripts write what they like, CRs of progress bars too
                console.print(printable(line), markup=False, highlight=False)

        executor = Executor(history, on_output=on_output, on_step=on_step)
        try:
            result = executor.execute(plan, kind=kind, rollback_of=rollback_of)
        except (ExecutionError, AptError) as e:
            fail(f"not running: {e}")
        progress.update(task, completed=len(result.results))
    return result


@click.command()
@click.argument("request", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Also ask apt what it would install, upgrade and remove, and download.")
@click.option("--execute", is_flag=True, help="Run the plan after you confirm (Enter means no).")
@click.option("--yes", "-y", is_flag=True, help="With --execute: do not ask. Needed when there is no terminal.")
@json_option
def install(request: tuple[str, ...], dry_run: bool, execute: bool, yes: bool, as_json: bool) -> None:
    """Plan the packages for REQUEST, check every step, and only then (maybe) run it.

    \b
    REQUEST may also remove named packages ("uninstall nginx", "purge nginx",
    "remove nginx and install apache2"): only installed ones, confirmed, and
    blocked when the system needs them.
    Without flags the plan is printed and nothing changes. Every step is an argv
    list checked by the command validator ('cortex validate'), and every package
    must exist in apt's index. --dry-run adds apt's own simulation. --execute
    asks 'Proceed? [y/N]', runs the steps one by one and stops at the first
    failure; the run is recorded ('cortex history') and can be undone
    ('cortex rollback ID').

    \b
    Examples:
      cortex install nginx
      cortex install "a web server and a database" --dry-run
      cortex install htop --execute
      cortex install nginx --dry-run --json
      cortex install "uninstall nginx" --dry-run
    """
    if dry_run and execute:
        fail("choose one of --dry-run and --execute", 2)
    text = " ".join(request).strip()
    if not text:
        fail('install needs a request, e.g. cortex install "a web server"', 2)
    from cortex.install.planner import PlanError, make_plan
    from cortex.packages.index import PackageIndexError
    from cortex.providers import get_provider

    config = get_config()
    try:
        plan = make_plan(text, config, lambda: get_provider(None, config))  # the library's one route to a plan
    except (PlanError, PackageIndexError) as e:
        fail(str(e))
    simulation = None
    if dry_run:
        from cortex.install.apt import AptError
        from cortex.install.simulate import simulate_plan

        try:
            simulation = simulate_plan(plan) if plan.steps else None
        except AptError as e:
            fail(str(e))
    if as_json and not execute:
        emit_json({**plan.to_dict(), "simulation": simulation.to_dict() if simulation else None})
    elif not as_json:
        _show_plan(plan, err=execute)
    if simulation is not None and not simulation.ok:
        fail(f"apt refuses this plan: {simulation.error}")
    if as_json and not execute:
        return
    if simulation is not None:
        _show_simulation(simulation)
    if not execute:
        if not as_json and not plan.steps:
            click.echo("Nothing to do: the plan has no steps.")
        elif not as_json:
            hint = "--execute to run it" if dry_run else "--dry-run to simulate it with apt, or --execute to run it"
            click.echo(f"Nothing was changed. Add {hint}.")
        return
    _confirm_and_run(plan, yes, as_json)


@click.command()
@click.argument("run_id", type=int, required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@json_option
def history(run_id: int | None, limit: int, as_json: bool) -> None:
    """List executed plans, or show run RUN_ID in full (steps, exit codes, output, package changes).

    \b
    Dry runs are not recorded. Undo a run with 'cortex rollback RUN_ID'.
    """
    from cortex.install.history import open_history

    store = open_history(get_config())
    if run_id is None:
        runs = store.runs(limit)
        if as_json:
            emit_json([r.summary() for r in runs])
            return
        if not runs:
            click.echo("No executed plans yet. 'cortex install REQUEST --execute' records one.")
        for r in runs:
            what = f"rollback of {r.rollback_of}" if r.kind == "rollback" else r.kind
            click.echo(f"{r.id:>4}  {_when(r.started_at)}  {r.status:<8} {what:<15} {printable(r.request)}")
        return
    record = store.get(run_id)
    if record is None:
        fail(f"no run {run_id} in the history; 'cortex history' lists them")
    if as_json:
        emit_json(record.to_dict())
        return
    doc = record.to_dict()
    click.echo(f"run {record.id} ({record.kind}) {record.status}: {printable(record.request)}")
    if record.error:
        click.echo(f"  error: {printable(record.error)}")
    for s in record.steps:
        code = "not run" if s.exit_code is None else f"exit {s.exit_code}"
        took = f", {s.duration_s:.1f}s" if s.duration_s is not None else ""
        click.echo(f"  {s.idx + 1}. {_argv(s.argv)}  [{s.verdict}] {code}{took}")
        for line in s.output_tail.splitlines()[-5:]:
            click.echo(f"       | {printable(line)}")
    if doc["changes"]:
        ch = doc["changes"]
        changed = ", ".join(f"{p} {a} -> {b}" for p, (a, b) in ch["changed"].items())
        click.echo(printable(f"  installed: {', '.join(ch['installed']) or '-'}"))
        click.echo(printable(f"  removed:   {', '.join(ch['removed']) or '-'}"))
        click.echo(printable(f"  changed:   {changed or '-'}"))


def _when(ts: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@click.command()
@click.argument("run_id", type=int)
@click.option("--dry-run", is_flag=True, help="Show the reverse plan and change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask. Needed when there is no terminal.")
@json_option
def rollback(run_id: int, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Undo run RUN_ID: remove what it installed, put back versions it changed.

    \b
    The reverse plan comes from dpkg's state before and after the run, is
    checked like any install, and runs the same way (Proceed? [y/N]).
      cortex rollback 3 --dry-run
      cortex rollback 3
    """
    from cortex.install.apt import AptError
    from cortex.install.history import open_history
    from cortex.install.rollback import RollbackError, rollback_plan

    store = open_history(get_config())
    record = store.get(run_id)
    if record is None:
        fail(f"no run {run_id} in the history; 'cortex history' lists them")
    try:
        plan = rollback_plan(record)
    except (RollbackError, AptError) as e:
        fail(str(e))
    if as_json and (dry_run or not plan.steps):
        emit_json(plan.to_dict())
        return
    if not as_json:
        _show_plan(plan, err=not dry_run)
    if dry_run or not plan.steps:
        if not as_json:
            click.echo("Nothing was changed." if dry_run else "Nothing to undo.")
        return
    _confirm_and_run(plan, yes, as_json, kind="rollback", rollback_of=run_id)
