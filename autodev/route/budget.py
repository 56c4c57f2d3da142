"""Hard spending caps: a call is refused before it is made if its worst case could cross a cap.

A cap is only a cap if it holds before the money is spent, so every check prices the call's worst case: the
prompt's tokens over-estimated (characters / 3) and the longest answer the model may give. The day total lives in
``.autodev/spend.json`` so that the daily cap holds across runs and processes; the requirement and run totals live
in memory. LiteLLM (seconds to import) is loaded only to price a model that has no configured price, and never when
no cap is set.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from autodev.config import BudgetConfig
from autodev.errors import BudgetExceededError, ModelError
from autodev.fileio import atomic_write
from autodev.llm.client import Completion, Message, load_litellm
from autodev.llm.models import ResolvedModel
from autodev.logs import get_logger

SPEND_SCHEMA_VERSION: Final = 1
SPEND_DAYS_KEPT: Final = 31
DEFAULT_COMPLETION_BOUND: Final = 4096
CHARS_PER_TOKEN_ESTIMATE: Final = 3  # real tokenizers average ~4 characters a token: 3 over-estimates on purpose
TOKENS_PER_MESSAGE: Final = 4  # role and separators

PriceFunction = Callable[[ResolvedModel], tuple[float, float]]


class _CostMapEntry(BaseModel):
    """What LiteLLM's price list says about one model; all zero when it does not know the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_cost_per_token: float = 0.0
    output_cost_per_token: float = 0.0
    max_output_tokens: int | None = None


_cost_map_lock = threading.Lock()
_cost_map_cache: dict[str, _CostMapEntry] = {}


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """An upper estimate of the prompt's tokens without a tokenizer (loading one costs more than the check)."""
    chars = sum(len(message.get("content", "")) for message in messages)
    return math.ceil(chars / CHARS_PER_TOKEN_ESTIMATE) + TOKENS_PER_MESSAGE * len(messages)


def price_per_token(model: ResolvedModel) -> tuple[float, float]:
    """(input, output) US dollars per token: the configured prices, else LiteLLM's price list, else free."""
    if model.has_configured_price:
        return (model.input_cost_per_token or 0.0, model.output_cost_per_token or 0.0)
    entry = _cost_map_entry(model.litellm_model)
    return (entry.input_cost_per_token, entry.output_cost_per_token)


def completion_bound(model: ResolvedModel) -> int:
    """The most tokens the model may answer with: its max_tokens, else the price list's limit, else 4096.

    A model with a configured price is not looked up in LiteLLM's list: local models are not in it, and the
    import would cost seconds for nothing.
    """
    if model.max_tokens is not None:
        return model.max_tokens
    if not model.has_configured_price:
        listed = _cost_map_entry(model.litellm_model).max_output_tokens
        if listed:
            return listed
    return DEFAULT_COMPLETION_BOUND


def estimate_call_cost(
    model: ResolvedModel, messages: Sequence[Message], *, price: PriceFunction = price_per_token
) -> float:
    """The worst case of one call in US dollars: the estimated prompt plus the longest possible answer."""
    input_price, output_price = price(model)
    cost = estimate_prompt_tokens(messages) * input_price
    if output_price > 0:  # a free answer needs no bound (and no price-list lookup)
        cost += completion_bound(model) * output_price
    return cost


def _cost_map_entry(litellm_model: str) -> _CostMapEntry:
    """LiteLLM's entry for the model, under its full name or the name after the provider prefix; cached."""
    with _cost_map_lock:
        cached = _cost_map_cache.get(litellm_model)
    if cached is not None:
        return cached
    entry = _lookup_cost_map(litellm_model)
    with _cost_map_lock:
        _cost_map_cache[litellm_model] = entry
    return entry


def _lookup_cost_map(litellm_model: str) -> _CostMapEntry:
    cost_map: Any = load_litellm().model_cost
    names = [litellm_model]
    if "/" in litellm_model:
        names.append(litellm_model.split("/", 1)[1])
    for name in names:
        raw = cost_map.get(name) if isinstance(cost_map, dict) else None
        if isinstance(raw, dict):
            return _CostMapEntry(
                input_cost_per_token=_non_negative(raw.get("input_cost_per_token")),
                output_cost_per_token=_non_negative(raw.get("output_cost_per_token")),
                max_output_tokens=_positive_int(raw.get("max_output_tokens")),
            )
    return _CostMapEntry()


def _non_negative(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else 0.0


def _positive_int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1 else None


class Budget:
    """The three caps of [budget] and what has been spent against each; a CallObserver for the dispatcher.

    Thread-safe: candidates of one tier may be asked in parallel, and each check must see every charge before it.
    """

    def __init__(
        self,
        config: BudgetConfig,
        spend_file: Path,
        *,
        today: Callable[[], date] = date.today,
        price: PriceFunction = price_per_token,
    ) -> None:
        self.config = config
        self.spend_file = spend_file
        self._today = today
        self._price = price
        self._lock = threading.RLock()
        self._log = get_logger(component="budget")
        self.requirement_id: str | None = None
        self._requirement_spent = 0.0
        self._run_spent = 0.0
        self._day = today()
        self._day_spent = 0.0  # at least what this process charged today, even if the file could not be written

    @property
    def has_caps(self) -> bool:
        caps = (self.config.per_requirement_usd, self.config.per_run_usd, self.config.per_day_usd)
        return any(cap is not None for cap in caps)

    @property
    def spent_requirement_usd(self) -> float:
        return self._requirement_spent

    @property
    def spent_run_usd(self) -> float:
        return self._run_spent

    @property
    def spent_day_usd(self) -> float:
        """Today's total, this process's charges and those of other processes recorded in the spend file."""
        with self._lock:
            return self._refresh_day()

    def start_requirement(self, requirement_id: str) -> None:
        """A new requirement starts with nothing spent against its cap."""
        with self._lock:
            self.requirement_id = requirement_id
            self._requirement_spent = 0.0

    def check(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        """Raise BudgetExceededError for the first cap (requirement, run, day) the call's worst case could cross."""
        if not self.has_caps:
            return
        estimate = estimate_call_cost(model, messages, price=self._price)
        with self._lock:
            scopes: list[tuple[str, float | None, Callable[[], float]]] = [
                ("requirement", self.config.per_requirement_usd, lambda: self._requirement_spent),
                ("run", self.config.per_run_usd, lambda: self._run_spent),
                ("day", self.config.per_day_usd, self._refresh_day),
            ]
            for scope, cap, spent_now in scopes:
                if cap is None:
                    continue
                spent = spent_now()
                if spent + estimate > cap:
                    self._log.warning(
                        "budget_cap_reached",
                        scope=scope,
                        cap_usd=cap,
                        spent_usd=round(spent, 6),
                        estimate_usd=round(estimate, 6),
                        model=model.name,
                        requirement=self.requirement_id,
                    )
                    raise BudgetExceededError(scope, cap, spent, estimate)

    def charge(self, cost_usd: float) -> None:
        """Add a call's real cost to every total and persist the day's total (merged with other processes')."""
        if not cost_usd > 0:  # also skips NaN, which would poison every later comparison
            return
        with self._lock:
            self._roll_day()
            self._requirement_spent += cost_usd
            self._run_spent += cost_usd
            days = self._read_days()
            key = self._day.isoformat()
            on_file = days.get(key, 0.0) + cost_usd
            self._day_spent = max(self._day_spent + cost_usd, on_file)
            days[key] = on_file
            self._write_days(days)

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        self.check(model, messages)

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        """A cache hit made no request and costs nothing; a failed request is not billed."""
        if completion is not None and not completion.cached:
            self.charge(completion.cost_usd)

    # ------------------------------------------------------------------------------------------------ the day file

    def _roll_day(self) -> None:
        """A new calendar day starts at zero (the local date, as the user reads "per day")."""
        today = self._today()
        if today != self._day:
            self._day = today
            self._day_spent = 0.0

    def _refresh_day(self) -> float:
        """Today's total, re-read from the file on each check because another process may have spent meanwhile."""
        self._roll_day()
        self._day_spent = max(self._day_spent, self._read_days().get(self._day.isoformat(), 0.0))
        return self._day_spent

    def _read_days(self) -> dict[str, float]:
        """The per-day totals on file; a missing file is empty, a corrupt one is moved aside and counts as empty."""
        try:
            text = self.spend_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            return self._set_aside(f"unreadable: {exc}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return self._set_aside(f"not JSON: {exc}")
        days = _valid_days(data)
        if days is None:
            return self._set_aside(f"not a schema {SPEND_SCHEMA_VERSION} spend file")
        return days

    def _set_aside(self, problem: str) -> dict[str, float]:
        aside = self.spend_file.with_name(self.spend_file.name + ".corrupt")
        try:
            self.spend_file.replace(aside)
        except OSError as exc:
            self._log.warning(
                "spend_file_corrupt", path=str(self.spend_file), problem=problem, moved=False, error=str(exc)
            )
        else:
            self._log.warning("spend_file_corrupt", path=str(self.spend_file), problem=problem, moved_to=str(aside))
        return {}

    def _write_days(self, days: dict[str, float]) -> None:
        """Keep the last 31 days; a failed write is logged, and this process still counts what it spent."""
        oldest = (self._day - timedelta(days=SPEND_DAYS_KEPT - 1)).isoformat()
        kept = {key: round(value, 10) for key, value in sorted(days.items()) if key >= oldest}
        payload = {"schema": SPEND_SCHEMA_VERSION, "days": kept}
        try:
            self.spend_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.spend_file, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
        except OSError as exc:
            self._log.warning("spend_file_not_written", path=str(self.spend_file), error=str(exc))


def _valid_days(data: object) -> dict[str, float] | None:
    """The ``days`` mapping of a schema-1 spend file, or None when anything in it is not what autodev writes."""
    if not isinstance(data, dict) or data.get("schema") != SPEND_SCHEMA_VERSION:
        return None
    days = data.get("days")
    if not isinstance(days, dict):
        return None
    valid: dict[str, float] = {}
    for key, value in days.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or not math.isfinite(value):
            return None
        try:
            date.fromisoformat(key)
        except (TypeError, ValueError):
            return None
        valid[key] = float(value)
    return valid
