"""Hard spending caps: a call is refused before it is made if its worst case could cross a cap.

A cap is only a cap if it holds before the money is spent, so every call reserves its worst case first: the
prompt's tokens over-estimated (autodev.tokens.upper_bound_tokens; LiteLLM's count when it is
loaded and knows the model's tokenizer) and the longest answer the model may give, which is also the ``max_tokens``
the request carries (:func:`autodev.llm.limits.completion_bound`). The reservation is checked against what is
spent and what other calls in flight have reserved, in one step, and replaced by the real cost (the reply's usage,
priced) when the answer is in. The day total and its reservations live in ``.autodev/spend.json``
(:mod:`autodev.route.spend_file`) so that the daily cap holds across runs and processes; the requirement and run
totals live in memory, reserved the same way so that parallel calls cannot overshoot them. A server that ignores
``max_tokens`` can still spend more than was reserved: the real cost is recorded, a warning names the model, and
the next call is refused once the cap is reached, so the overshoot is bounded by one call. LiteLLM (seconds to
import) is loaded only to price a model that has no configured price, and never when no cap is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from autodev.config import BudgetConfig
from autodev.errors import BudgetExceededError, ModelError
from autodev.llm.client import Completion, Message, loaded_litellm
from autodev.llm.limits import DEFAULT_COMPLETION_BOUND, completion_bound, cost_map_entry, entry_in
from autodev.llm.models import ResolvedModel
from autodev.logs import get_logger
from autodev.route.spend_file import SpendFile
from autodev.tokens import upper_bound_tokens

__all__ = [
    "DEFAULT_COMPLETION_BOUND",
    "Budget",
    "Ticket",
    "completion_bound",
    "estimate_call_cost",
    "estimate_prompt_tokens",
    "price_per_token",
    "prompt_tokens",
]

TOKENS_PER_MESSAGE: Final = 4  # role and separators
RESERVATION_GRACE_S: Final = 120.0  # a reservation outlives its call's timeout by this much, then lapses
_OVERSHOOT_TOLERANCE_USD: Final = 1e-9

PriceFunction = Callable[[ResolvedModel], tuple[float, float]]


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """An upper bound of the prompt's tokens without a tokenizer (loading one costs more than the check):
    :func:`autodev.tokens.upper_bound_tokens` per message, plus its role and separators."""
    return sum(upper_bound_tokens(message.get("content", "")) + TOKENS_PER_MESSAGE for message in messages)


def prompt_tokens(model: ResolvedModel, messages: Sequence[Message]) -> int:
    """The prompt's tokens: LiteLLM's count when it is already loaded and the model is one of OpenAI's (whose
    tokenizer it ships), else :func:`estimate_prompt_tokens`. Other tokenizers would be downloaded or guessed,
    and importing LiteLLM for a check costs seconds."""
    litellm = loaded_litellm()
    if litellm is None:
        return estimate_prompt_tokens(messages)
    name = model.litellm_model.split("/", 1)[1] if model.litellm_model.startswith("openai/") else model.litellm_model
    if name not in getattr(litellm, "open_ai_chat_completion_models", ()):
        return estimate_prompt_tokens(messages)
    try:
        return int(litellm.token_counter(model=name, messages=list(messages)))
    except Exception:  # a counter that fails must not stop the call: the estimate is the safe side
        return estimate_prompt_tokens(messages)


def price_per_token(model: ResolvedModel, cost_map: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """(input, output) US dollars per token: the configured prices, else LiteLLM's price list, else free.

    ``cost_map`` is a price list already read (autodev.llm.price_list), for callers that must not import LiteLLM.
    """
    if model.has_configured_price:
        return (model.input_cost_per_token or 0.0, model.output_cost_per_token or 0.0)
    entry = cost_map_entry(model.litellm_model) if cost_map is None else entry_in(cost_map, model.litellm_model)
    return (entry.input_cost_per_token, entry.output_cost_per_token)


def estimate_call_cost(
    model: ResolvedModel, messages: Sequence[Message], *, price: PriceFunction = price_per_token
) -> float:
    """The worst case of one call in US dollars: the prompt plus the longest answer its max_tokens allows."""
    input_price, output_price = price(model)
    cost = prompt_tokens(model, messages) * input_price
    if output_price > 0:  # a free answer needs no bound (and no price-list lookup)
        cost += completion_bound(model) * output_price
    return cost


@dataclass(frozen=True)
class Ticket:
    """One call's reservation: its worst case, held against the requirement, run and day totals until settled."""

    estimate_usd: float
    requirement_round: int  # which requirement it was reserved under (start_requirement counts up)
    day: date
    file_id: str | None  # the reservation in spend.json, when a day cap is set


class Budget:
    """The three caps of [budget] and what has been spent or reserved against each; a CallObserver.

    Thread-safe: candidates of one tier may be asked in parallel, and each reservation must see every other one.
    A call is reserved (:meth:`reserve`: its worst case, refused if a cap could be crossed), then settled
    (:meth:`settle`: its real cost) or released (:meth:`release`: it failed); :meth:`check` is the same check
    without a reservation, :meth:`charge` a direct charge. The CallObserver pair keeps each thread's ticket
    between them. The day file is
    :class:`~autodev.route.spend_file.SpendFile`'s.
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
        self._pending = threading.local()  # the ticket of the call this thread has in flight
        self.requirement_id: str | None = None
        self._requirement_round = 0
        self._requirement_spent = self._requirement_reserved = 0.0
        self._run_spent = self._run_reserved = 0.0
        self._day = today()
        self._day_spent = 0.0  # at least what this process charged today, even if the file could not be written
        self._day_reserved = 0.0  # this process's reservations of today, on file or not

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
            self._requirement_round += 1
            self._requirement_spent = self._requirement_reserved = 0.0

    def check(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        """Raise BudgetExceededError for the first cap (requirement, run, day) the call's worst case could cross,
        counting what calls in flight have reserved; reserves nothing."""
        if not self.has_caps:
            return
        estimate = estimate_call_cost(model, messages, price=self._price)
        with self._lock:
            self._check_memory(model, estimate)
            cap = self.config.per_day_usd
            if cap is not None:
                committed = max(self._refresh_day() + self._day_reserved, self._on_file_committed())
                if committed + estimate > cap:
                    raise self._refusal("day", cap, committed, estimate, model)

    def reserve(self, model: ResolvedModel, messages: Sequence[Message]) -> Ticket | None:
        """Hold the call's worst case against every cap, or raise BudgetExceededError; None when no cap is set
        (nothing to hold: the real cost is charged afterwards all the same)."""
        if not self.has_caps:
            return None
        estimate = estimate_call_cost(model, messages, price=self._price)
        with self._lock:
            self._roll_day()
            self._check_memory(model, estimate)
            file_id = self._reserve_day(model, estimate)
            self._requirement_reserved += estimate
            self._run_reserved += estimate
            self._day_reserved += estimate
            return Ticket(estimate, self._requirement_round, self._day, file_id)

    def settle(self, ticket: Ticket | None, model: ResolvedModel, completion: Completion) -> None:
        """Replace the reservation by the call's real cost; a cost above it (a server ignoring max_tokens) is
        recorded as it is and logged as a warning naming the model."""
        cost = completion.cost_usd if completion.cost_usd > 0 else 0.0  # also drops NaN, which poisons comparisons
        with self._lock:
            self._unhold(ticket)
            self._add(cost, ticket.file_id if ticket else None, same_requirement=self._same_requirement(ticket))
        if ticket is not None and cost > ticket.estimate_usd + _OVERSHOOT_TOLERANCE_USD:
            self._overshoot(model, completion, ticket, cost)

    def release(self, ticket: Ticket | None) -> None:
        """The call cost nothing (it failed, or never reached the server): its reservation is freed."""
        if ticket is None:
            return
        with self._lock:
            self._unhold(ticket)
            if ticket.file_id is not None:
                self._days.release(ticket.file_id, ticket.day)

    def charge(self, cost_usd: float) -> None:
        """Add a cost to every total and persist the day's total (merged with other processes')."""
        if not cost_usd > 0:  # also skips NaN, which would poison every later comparison
            return
        with self._lock:
            self._add(cost_usd, None, same_requirement=True)

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        """Reserve for the request this thread is about to make; its ticket waits for :meth:`after_call`."""
        self._pending.ticket = self.reserve(model, messages)

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        """A cache hit made no request and costs nothing; a failed (or interrupted) request is not billed."""
        if completion is not None and completion.cached:
            return
        ticket: Ticket | None = getattr(self._pending, "ticket", None)
        self._pending.ticket = None
        if completion is not None:
            self.settle(ticket, model, completion)
        else:
            self.release(ticket)

    # ------------------------------------------------------------------------------------------------ the checks

    def _check_memory(self, model: ResolvedModel, estimate: float) -> None:
        """The requirement and run caps, against spent plus reserved, in this process."""
        scopes = (
            ("requirement", self.config.per_requirement_usd, self._requirement_spent + self._requirement_reserved),
            ("run", self.config.per_run_usd, self._run_spent + self._run_reserved),
        )
        for scope, cap, committed in scopes:
            if cap is not None and committed + estimate > cap:
                raise self._refusal(scope, cap, committed, estimate, model)

    def _reserve_day(self, model: ResolvedModel, estimate: float) -> str | None:
        """The day's reservation in spend.json, checked there against every process's spending and reservations."""
        cap = self.config.per_day_usd
        if cap is None:
            return None
        floor = self._day_spent + self._day_reserved
        reserved = self._days.reserve(
            self._day, estimate, cap=cap, floor_usd=floor, ttl_s=model.timeout_s + RESERVATION_GRACE_S
        )
        if reserved.id is None:
            raise self._refusal("day", cap, reserved.committed_usd, estimate, model)
        return reserved.id

    def _refusal(
        self, scope: str, cap: float, committed: float, estimate: float, model: ResolvedModel
    ) -> BudgetExceededError:
        """The refusal to raise, logged with the amounts (spent here counts what calls in flight reserved)."""
        self._log.warning(
            "budget_cap_reached",
            scope=scope,
            cap_usd=cap,
            spent_usd=round(committed, 6),
            estimate_usd=round(estimate, 6),
            model=model.name,
            requirement=self.requirement_id,
        )
        return BudgetExceededError(scope, cap, committed, estimate)

    def _overshoot(self, model: ResolvedModel, completion: Completion, ticket: Ticket, cost: float) -> None:
        """Say that a call cost more than its reservation; the cap may be exceeded by this call, not by another."""
        bound = completion_bound(model)
        extra = cost - ticket.estimate_usd
        if completion.output_tokens > bound:
            why = f"the server returned {completion.output_tokens:,} completion tokens despite max_tokens {bound:,}"
        else:
            why = f"the prompt of {completion.input_tokens:,} tokens cost more than its estimate"
        self._log.warning(
            "spent more than reserved",
            model=model.name,
            reason=f"{why}; spent ${extra:.4f} more than reserved",
            reserved_usd=round(ticket.estimate_usd, 6),
            spent_usd=round(cost, 6),
            completion_tokens=completion.output_tokens,
            max_tokens=bound,
        )

    # ------------------------------------------------------------------------------------------------ the totals

    def _same_requirement(self, ticket: Ticket | None) -> bool:
        return ticket is None or ticket.requirement_round == self._requirement_round

    def _unhold(self, ticket: Ticket | None) -> None:
        """Take the ticket's estimate off the reserved totals (those of a requirement already over are gone)."""
        if ticket is None:
            return
        if self._same_requirement(ticket):
            self._requirement_reserved = max(0.0, self._requirement_reserved - ticket.estimate_usd)
        self._run_reserved = max(0.0, self._run_reserved - ticket.estimate_usd)
        if ticket.day == self._day:
            self._day_reserved = max(0.0, self._day_reserved - ticket.estimate_usd)

    def _add(self, cost: float, file_id: str | None, *, same_requirement: bool) -> None:
        """A real cost on every total; the reservation ``file_id`` (if any) leaves the file in the same write."""
        self._roll_day()
        if same_requirement:
            self._requirement_spent += cost
        self._run_spent += cost
        if cost <= 0 and file_id is None:
            return
        on_file = self._days.settle(file_id, self._day, cost)
        self._day_spent = max(self._day_spent + cost, on_file)

    def _roll_day(self) -> None:
        """A new calendar day starts at zero (the local date, as the user reads "per day")."""
        today = self._today()
        if today != self._day:
            self._day = today
            self._day_spent = self._day_reserved = 0.0

    def _refresh_day(self) -> float:
        """Today's total, re-read from the file on each check because another process may have spent meanwhile."""
        self._roll_day()
        self._day_spent = max(self._day_spent, self._days.total(self._day))
        return self._day_spent

    def _on_file_committed(self) -> float:
        """What the file says is spent and reserved today, every process's calls in flight included."""
        return self._days.total(self._day) + self._days.reserved(self._day)
