"""Hard spending caps: a call is refused before it is made if its worst case could cross a cap.

A cap is only a cap if it holds before the money is spent, so every check prices the call's worst case: the
prompt's tokens over-estimated (ASCII characters / 3, every other character a token) and the longest answer
the model may give. The day total lives in ``.autodev/spend.json`` (:mod:`autodev.route.spend_file`) so that the
daily cap holds across runs and processes;
the requirement and run totals live in memory. LiteLLM (seconds to import) is loaded only to price a model that
has no configured price, and never when no cap is set.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from autodev.config import BudgetConfig
from autodev.errors import BudgetExceededError, ModelError
from autodev.llm.client import Completion, Message, load_litellm
from autodev.llm.models import ResolvedModel
from autodev.logs import get_logger
from autodev.route.spend_file import SpendFile

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
    """An upper estimate of the prompt's tokens without a tokenizer (loading one costs more than the check).

    ASCII text and code average about 4 characters a token, so 3 over-estimates; other scripts do not: Chinese
    or Japanese can be a token per character (a spec in Chinese once cost twice the estimate), so every
    non-ASCII character counts as a whole token.
    """
    ascii_chars = other_chars = 0
    for message in messages:
        content = message.get("content", "")
        ascii_count = len(content.encode("ascii", "ignore"))
        ascii_chars += ascii_count
        other_chars += len(content) - ascii_count
    return math.ceil(ascii_chars / CHARS_PER_TOKEN_ESTIMATE) + other_chars + TOKENS_PER_MESSAGE * len(messages)


def price_per_token(model: ResolvedModel, cost_map: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """(input, output) US dollars per token: the configured prices, else LiteLLM's price list, else free.

    ``cost_map`` is a price list already read (autodev.llm.price_list), for callers that must not import LiteLLM.
    """
    if model.has_configured_price:
        return (model.input_cost_per_token or 0.0, model.output_cost_per_token or 0.0)
    entry = _cost_map_entry(model.litellm_model) if cost_map is None else _entry_in(cost_map, model.litellm_model)
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
    return _entry_in(cost_map if isinstance(cost_map, dict) else {}, litellm_model)


def _entry_in(cost_map: Mapping[str, Any], litellm_model: str) -> _CostMapEntry:
    """The model's entry under its full name or the name after the provider prefix; all zero when not listed."""
    names = [litellm_model]
    if "/" in litellm_model:
        names.append(litellm_model.split("/", 1)[1])
    for name in names:
        raw = cost_map.get(name)
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
    A dozen methods but one job (caps against totals): the three totals and the CallObserver pair are one-line
    views of :meth:`check` and :meth:`charge`; the day file is :class:`~autodev.route.spend_file.SpendFile`'s.
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
        self._days = SpendFile(spend_file)
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
            on_file = self._days.add(self._day, cost_usd)
            self._day_spent = max(self._day_spent + cost_usd, on_file)

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        self.check(model, messages)

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        """A cache hit made no request and costs nothing; a failed request is not billed."""
        if completion is not None and not completion.cached:
            self.charge(completion.cost_usd)

    # ------------------------------------------------------------------------------------------------ the day total

    def _roll_day(self) -> None:
        """A new calendar day starts at zero (the local date, as the user reads "per day")."""
        today = self._today()
        if today != self._day:
            self._day = today
            self._day_spent = 0.0

    def _refresh_day(self) -> float:
        """Today's total, re-read from the file on each check because another process may have spent meanwhile."""
        self._roll_day()
        self._day_spent = max(self._day_spent, self._days.total(self._day))
        return self._day_spent
