"""What every model call did, one JSON line each, and the per-tier numbers drawn from them.

The router reads solve rates per tier and size class from this file to skip tiers that rarely succeed, and
`autodev metrics` shows where the money and tokens went. Appending a line is the whole write (no rewrite, so a
crash loses at most the line being written), and metrics never break a pass: a failed write is logged and dropped,
a malformed line is skipped and counted.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from autodev.config import TIER_NAMES, LLMConfig
from autodev.logs import get_logger
from autodev.records import CODER, CallEvent

METRICS_SCHEMA_VERSION: Final = 1
SOLVE_OUTCOMES: Final = ("green", "red", "rejected")  # outcomes that say whether the model could do the work

ROLLING_WINDOW = 50  # attempts per tier and size class that decide whether a tier is skipped
_TAIL_BYTES = 512 * 1024  # about 1,500 events: enough for the windows, bounded however long the file grows


class MetricsStore:
    """``.autodev/metrics.jsonl``: appended by the router, read by solve rates and `autodev metrics`.

    The parsed events are kept while the file's size and mtime are unchanged, so asking a solve rate before every
    attempt does not re-read a long file each time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped_lines = 0  # malformed lines in the last read
        self._lock = threading.Lock()
        self._log = get_logger(component="metrics")
        self._cached_stamp: tuple[int, int] | None = None
        self._cached_events: list[CallEvent] = []
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._counts_stamp: tuple[int, int] | None = None

    def append(self, event: CallEvent) -> None:
        """One line per event; an unwritable file (full disk, permissions) costs the line, never the pass."""
        line = json.dumps({"schema": METRICS_SCHEMA_VERSION, **event.model_dump(mode="json")}, ensure_ascii=False)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as stream:
                    stream.write(line + "\n")
                    stream.flush()
        except OSError as exc:
            self._log.warning("metrics_not_written", path=str(self.path), error=str(exc))

    def events(self) -> list[CallEvent]:
        """Every readable event in file order; a missing file has none, malformed lines are counted and skipped."""
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self.skipped_lines = 0
                return []
            except OSError as exc:
                self._log.warning("metrics_unreadable", path=str(self.path), error=str(exc))
                return []
            stamp = (stat.st_size, stat.st_mtime_ns)
            if stamp != self._cached_stamp:
                try:
                    text = self.path.read_text(encoding="utf-8", errors="replace")
                except OSError as exc:
                    self._log.warning("metrics_unreadable", path=str(self.path), error=str(exc))
                    return []
                self._cached_events, self.skipped_lines = _parse(text)
                self._cached_stamp = stamp
            return list(self._cached_events)

    def solve_rate(self, tier: str, size_class: str) -> tuple[int, int]:
        """(green, attempts) of a tier for one size class, over its last ROLLING_WINDOW attempts.

        A rolling window follows the models the user has now, not those of a year ago, and reading only the
        file's tail keeps the cost of this question flat however long the history grows. Errors and replays say
        nothing about whether the tier's models can solve such work, so they do not count.
        """
        return self._rolling_counts().get((tier, size_class), (0, 0))

    def _rolling_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        with self._lock:
            try:
                stat = self.path.stat()
                stamp = (stat.st_size, stat.st_mtime_ns)
                if stamp == self._counts_stamp:
                    return self._counts
                text = _tail_text(self.path, stat.st_size)
            except OSError:
                return {}
        windows: dict[tuple[str, str], deque[bool]] = {}
        for tier, size, outcome in _solve_outcomes(text):
            windows.setdefault((tier, size), deque(maxlen=ROLLING_WINDOW)).append(outcome == "green")
        counts = {key: (sum(window), len(window)) for key, window in windows.items()}
        with self._lock:
            self._counts, self._counts_stamp = counts, stamp
        return counts


def _solve_outcomes(text: str) -> Iterable[tuple[str, str, str]]:
    """(tier, size class, outcome) of each attempt line; plain JSON, no validation: this runs before every pass.

    Only the coder's lines (a line without a role is one) say whether a tier can solve the work: a reviewer's, an
    architect's or an ask's call is counted in `autodev metrics`, never here.
    """
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("kind", "call") != "call":
            continue
        if record.get("role", CODER) != CODER:
            continue
        outcome = record.get("outcome")
        if outcome in SOLVE_OUTCOMES:
            yield str(record.get("tier", "")), str(record.get("size_class", "")), str(outcome)


def _tail_text(path: Path, size: int) -> str:
    """The last _TAIL_BYTES of the file, from the first whole line."""
    with path.open("rb") as stream:
        start = max(0, size - _TAIL_BYTES)
        stream.seek(start)
        data = stream.read()
    if start:
        data = data.partition(b"\n")[2]
    return data.decode("utf-8", errors="replace")


def _parse(text: str) -> tuple[list[CallEvent], int]:
    events: list[CallEvent] = []
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if not isinstance(data, dict) or data.pop("schema", None) != METRICS_SCHEMA_VERSION:
            skipped += 1
            continue
        try:
            events.append(CallEvent.model_validate(data))
        except ValidationError:
            skipped += 1
    return events, skipped


# ------------------------------------------------------------------------------------------------------ summary


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallTotals(_Frozen):
    """Counts over a set of events; ``attempts`` are calls whose outcome says something (not an error).

    A reply replayed from the response cache was not spent: ``calls``, the token counts and the cost count real
    requests only, and replays are counted apart (``cache_hits`` and the tokens they saved).
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    green: int = 0
    attempts: int = 0
    green_rate: float | None = None  # green / attempts; None before the first attempt
    escalations: int = 0
    merges: int = 0  # merge rounds decided (core/climb.py): two red candidates given to one call
    errors: int = 0


class TierModelStats(CallTotals):
    """The counts of one model within one tier."""

    tier: str
    model: str


class RoleStats(CallTotals):
    """The counts of one role: the coder's candidates, the reviewer's reviews, an ask's questions, ..."""

    role: str


class RoleSummary(_Frozen):
    """What `autodev metrics --by role` shows: a row per role (the coder's first) and the totals."""

    rows: list[RoleStats]
    totals: CallTotals
    skipped_lines: int = 0


class MetricsSummary(_Frozen):
    """What `autodev metrics` shows. The top-tier figures are estimates: the same tokens at the top model's prices."""

    rows: list[TierModelStats]
    totals: CallTotals
    top_tier: str | None = None
    top_tier_model: str | None = None
    top_tier_estimate_usd: float | None = None  # an estimate: a stronger model would have used other token counts
    savings_estimate: float | None = None  # 1 - cost / top_tier_estimate_usd
    skipped_lines: int = 0


class _Tally:
    """Mutable counts while summing; frozen into a CallTotals at the end."""

    def __init__(self) -> None:
        self.calls = self.prompt_tokens = self.completion_tokens = 0
        self.cache_hits = self.cached_prompt_tokens = self.cached_completion_tokens = 0
        self.green = self.attempts = self.escalations = self.merges = self.errors = 0
        self.cost_usd = 0.0

    def add(self, event: CallEvent) -> None:
        if event.kind == "escalation":
            self.escalations += 1
            return
        if event.kind == "merge":
            self.merges += 1
            return
        if event.cached:
            self.cache_hits += 1
            self.cached_prompt_tokens += event.input_tokens
            self.cached_completion_tokens += event.output_tokens
        else:
            self.calls += 1
            self.prompt_tokens += event.input_tokens
            self.completion_tokens += event.output_tokens
            self.cost_usd += event.cost_usd
        self.green += event.outcome == "green"
        self.attempts += event.outcome is not None and event.outcome != "error"
        self.errors += event.outcome == "error"

    def counts(self) -> dict[str, int | float | None]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "cache_hits": self.cache_hits,
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cached_completion_tokens": self.cached_completion_tokens,
            "green": self.green,
            "attempts": self.attempts,
            "green_rate": self.green / self.attempts if self.attempts else None,
            "escalations": self.escalations,
            "merges": self.merges,
            "errors": self.errors,
        }


Key = TypeVar("Key")


def _tallied(events: Iterable[CallEvent], key: Callable[[CallEvent], Key]) -> tuple[dict[Key, _Tally], _Tally]:
    """The counts per ``key`` of the events, and over all of them."""
    tallies: dict[Key, _Tally] = {}
    total = _Tally()
    for event in events:
        tallies.setdefault(key(event), _Tally()).add(event)
        total.add(event)
    return tallies, total


def top_tier_model(config: LLMConfig) -> tuple[str, str] | None:
    """(tier, model): the first model of the highest non-empty tier, the one every call would go to without tiers."""
    tiers = config.tier_models()
    if not tiers:
        return None
    tier = list(tiers)[-1]
    return tier, tiers[tier][0]


def summarize(
    events: Iterable[CallEvent], config: LLMConfig, *, top_price: tuple[float, float] | None
) -> MetricsSummary:
    """Per (tier, model) and total counts, and what the same tokens would have cost at top-tier prices.

    ``top_price`` is the top model's (input, output) price per token, resolved by the caller, so that this stays
    pure (pricing may need LiteLLM's price list). Escalations count on the tier and model they left.
    """
    tallies, total = _tallied(events, lambda event: (event.tier, event.model))
    order = {name: index for index, name in enumerate(TIER_NAMES)}
    keys = sorted(tallies, key=lambda key: (order.get(key[0], len(order)), key))
    rows = [
        TierModelStats.model_validate({"tier": tier, "model": model, **tallies[tier, model].counts()})
        for tier, model in keys
    ]
    totals = CallTotals.model_validate(total.counts())
    top = top_tier_model(config)
    estimate: float | None = None
    savings: float | None = None
    if top_price is not None:
        estimate = totals.prompt_tokens * top_price[0] + totals.completion_tokens * top_price[1]
        savings = 1.0 - totals.cost_usd / estimate if estimate > 0 else None
    return MetricsSummary(
        rows=rows,
        totals=totals,
        top_tier=top[0] if top else None,
        top_tier_model=top[1] if top else None,
        top_tier_estimate_usd=estimate,
        savings_estimate=savings,
    )


def summarize_roles(events: Iterable[CallEvent]) -> RoleSummary:
    """Per role and total counts: who spent the calls, tokens and money (the coder first, then by name).

    Only the coder's lines carry solve outcomes (green/attempts); every role's failed requests count as errors.
    """
    tallies, total = _tallied(events, lambda event: event.role)
    roles = sorted(tallies, key=lambda role: (role != CODER, role))
    rows = [RoleStats.model_validate({"role": role, **tallies[role].counts()}) for role in roles]
    return RoleSummary(rows=rows, totals=CallTotals.model_validate(total.counts()))
