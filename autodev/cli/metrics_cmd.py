"""`autodev metrics`: calls, tokens, money and solve rates per tier and model (or per role), from
.autodev/metrics.jsonl."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

import click

from autodev.cli.options import GlobalOptions
from autodev.config import Config
from autodev.llm.models import ResolvedModel, resolve_model
from autodev.project import ProjectPaths
from autodev.route.metrics import (
    CallTotals,
    MetricsStore,
    MetricsSummary,
    RoleSummary,
    summarize,
    summarize_roles,
    top_tier_model,
)

_HEADERS = ("tier", "model", "calls", "in_tok", "out_tok", "cost_usd", "cached", "green/tried", "rate", "esc", "err")
_ROLE_HEADERS = ("role", "calls", "in_tok", "out_tok", "cost_usd", "cached", "green/tried", "rate", "err")


@click.command()
@click.option(
    "--by",
    type=click.Choice(["tier", "role"]),
    default="tier",
    show_default=True,
    help="One row per tier and model, or per role: coder (a pass's candidates), reviewer, architect, ask, chat, "
    "a workflow step's role.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@click.pass_obj
def metrics(options: GlobalOptions, by: str, as_json: bool) -> None:
    """Model calls per tier and model, or per role (--by role): tokens, cost, cache hits, solve rates, and the
    cost at top-tier prices."""
    paths = ProjectPaths(root=options.root)
    config = options.config(paths.root)
    store = MetricsStore(paths.metrics_file)
    events = store.events()
    summary: MetricsSummary | RoleSummary
    if by == "role":
        summary = summarize_roles(events)
    else:
        summary = summarize(events, config.llm, top_price=_top_price(config) if events else None)
    summary = summary.model_copy(update={"skipped_lines": store.skipped_lines})
    if as_json:
        click.echo(summary.model_dump_json(indent=2))
        return
    if store.skipped_lines:
        click.echo(f"skipped {store.skipped_lines} malformed line(s) in {paths.metrics_file}", err=True)
    if not events:
        click.echo("no model calls recorded yet")
        return
    click.echo(render(summary) if isinstance(summary, MetricsSummary) else render_roles(summary))
    _learning_line()


def _learning_line() -> None:
    """What the learning store saved, on this machine (all projects): the line `autodev learn stats` shows."""
    from autodev.learn.store import read_stats, stats_line

    try:
        stats = read_stats(os.environ)
    except (OSError, sqlite3.Error):
        return
    if stats is not None and stats.worked:
        click.echo(f"learning (this machine, every project; autodev learn stats): {stats_line(stats)}")


def _top_price(config: Config) -> tuple[float, float] | None:
    """The top model's prices; a configured model is priced without resolving its key, which pricing never needs.

    A hosted model's price comes from LiteLLM's bundled price file, read directly: importing LiteLLM (seconds)
    for one lookup would make this report slow to start.
    """
    from autodev.llm.price_list import bundled_price_list
    from autodev.route.budget import price_per_token

    top = top_tier_model(config.llm)
    if top is None:
        return None
    name = top[1]
    configured = config.llm.models.get(name)
    listed: dict[str, Any] = {}
    if configured is not None:
        model = ResolvedModel(
            name=name,
            litellm_model=configured.model or f"openai/{name}",
            input_cost_per_token=configured.input_cost_per_token,
            output_cost_per_token=configured.output_cost_per_token,
        )
    else:
        listed = bundled_price_list()
        model = resolve_model(name, config.llm, os.environ, provider_known=lambda bare: bare in listed)
    if not model.has_configured_price and not listed:
        listed = bundled_price_list()
    return price_per_token(model, listed)


def render(summary: MetricsSummary) -> str:
    """A plain aligned table (numbers right-aligned), a totals row, and the labelled top-tier estimate."""
    rows = [[row.tier, row.model, *_cells(row)] for row in summary.rows]
    lines = _table(_HEADERS, rows, ["total", "", *_cells(summary.totals)], text_columns=2)
    lines.append(_estimate_line(summary))
    totals = summary.totals
    if totals.merges:
        lines.append(f"merge rounds: {totals.merges} (two red candidates passing different tests, given to one call)")
    lines.extend(_cache_line(totals))
    return "\n".join(lines)


def render_roles(summary: RoleSummary) -> str:
    """The same table per role: only the coder's lines are attempts (green/tried); each call counted once."""
    rows = [[row.role, *_cells(row, escalations=False)] for row in summary.rows]
    lines = _table(_ROLE_HEADERS, rows, ["total", *_cells(summary.totals, escalations=False)], text_columns=1)
    lines.extend(_cache_line(summary.totals))
    return "\n".join(lines)


def _table(headers: Sequence[str], rows: list[list[str]], total: list[str], *, text_columns: int) -> list[str]:
    """Header, separator, rows, separator, totals; the first ``text_columns`` left-aligned, numbers right-aligned."""
    table = [list(headers), *rows, total]
    widths = [max(len(line[column]) for line in table) for column in range(len(headers))]
    lines = [
        "  ".join(
            cell.ljust(widths[column]) if column < text_columns else cell.rjust(widths[column])
            for column, cell in enumerate(line)
        ).rstrip()
        for line in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.insert(len(lines) - 1, lines[1])
    return lines


def _cache_line(totals: CallTotals) -> list[str]:
    if not totals.cache_hits:
        return []
    return [
        f"from the response cache: {totals.cache_hits} repl{'y' if totals.cache_hits == 1 else 'ies'}, "
        f"{totals.cached_prompt_tokens} prompt and {totals.cached_completion_tokens} completion tokens "
        "not spent (not counted in calls, tokens or cost above)"
    ]


def _cells(counts: CallTotals, *, escalations: bool = True) -> list[str]:
    rate = counts.green_rate
    return [
        str(counts.calls),
        str(counts.prompt_tokens),
        str(counts.completion_tokens),
        f"{counts.cost_usd:.4f}",
        str(counts.cache_hits),
        f"{counts.green}/{counts.attempts}",
        "-" if rate is None else f"{rate:.0%}",
        *([str(counts.escalations)] if escalations else []),
        str(counts.errors),
    ]


def _estimate_line(summary: MetricsSummary) -> str:
    if summary.top_tier_estimate_usd is None:
        return "at top-tier prices (estimate): unknown (no tiers configured)"
    line = (
        f"at top-tier prices (estimate, {summary.top_tier} {summary.top_tier_model}): "
        f"${summary.top_tier_estimate_usd:.4f} for the same tokens"
    )
    if summary.savings_estimate is not None:
        line += f"; saved about {summary.savings_estimate:.0%}"
    return line
