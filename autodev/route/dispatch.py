"""One call to a tier, reliably: cache first, retries with back-off, fall back to the tier's other models.

Every answer is cached as it arrives (an answer whose outcome is never judged, say the run was interrupted, may be
replayed); the pass then has an answer it rejected forgotten (``forget``), so only what a rerun should reuse
stays. ``cache=None`` (``cache_responses = false``, ``--no-cache``) neither reads nor writes.

Retries live here rather than in the transport so that the budget observer sees every real request, each retry
included: a cap is checked before every call, and a retry costs as much as a first try. Models that keep failing
rest for a while (in this process only), so a dead server is not asked again on every attempt.

The candidates of a sampled round may be asked from several threads (autodev.route.samples): the cool-downs are
kept under a lock, and requests to local models are made one at a time, because one llama.cpp server answers one
request at a time (a hosted call that falls back to a local model waits its turn).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from autodev.errors import ModelError
from autodev.llm.cache import ResponseCache, request_key
from autodev.llm.client import ChatClient, Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.llm.retry import call_with_retries
from autodev.logs import get_logger


class Cooldowns:
    """In-process memory of failing models.

    After ``after`` consecutive failures a model rests ``seconds``. The count is only reset by a success, so a
    model that comes back from its rest and fails again rests again at once (it has not shown it recovered).
    """

    def __init__(self, *, after: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.after = after
        self.seconds = seconds
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()  # calls of one round fail and succeed in several threads

    def resting(self, name: str) -> float:
        """Seconds of rest left; 0.0 when the model may be called."""
        with self._lock:
            until = self._until.get(name)
        if until is None:
            return 0.0
        return max(0.0, until - self._clock())

    def failed(self, name: str) -> None:
        with self._lock:
            count = self._failures.get(name, 0) + 1
            self._failures[name] = count
            if count >= self.after:
                self._until[name] = self._clock() + self.seconds

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
            self._until.pop(name, None)


class CallObserver(Protocol):
    """Budget and metrics hooks around each call."""

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        """Before every real request, retries included, never for a cache hit; may raise BudgetExceededError."""

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        """After every real request (its completion, its error, or neither when it was interrupted) and every cache
        hit (``completion.cached``)."""


class TierDispatcher:
    """Answers a prompt with the first model of a tier that can; see the module docstring for why retries are here."""

    def __init__(
        self,
        transport: ChatClient,
        *,
        cache: ResponseCache | None,
        observer: CallObserver | None,
        retries: int,
        backoff_s: float,
        cooldowns: Cooldowns,
        sleep: Callable[[float], None] = time.sleep,
        log: Any = None,
    ) -> None:
        self.transport = transport
        self.cache = cache
        self.observer = observer
        self.retries = retries
        self.backoff_s = backoff_s
        self.cooldowns = cooldowns
        self._sleep = sleep
        self._log = log if log is not None else get_logger(component="dispatch")
        self._local_turn = threading.Lock()  # one request at a time to local models, whichever thread asks

    def complete(
        self, models: Sequence[ResolvedModel], messages: Sequence[Message]
    ) -> tuple[ResolvedModel, Completion]:
        """The answering model and its completion; the last model's error if every model of the tier failed.

        BudgetExceededError from the observer propagates at once: another model would hit the same cap.
        """
        if not models:
            raise ValueError("a tier needs at least one model")
        candidates = self._candidates(models)
        last_error: ModelError | None = None
        for index, model in enumerate(candidates):
            if last_error is not None:
                self._log.warning(
                    "falling back",
                    failed=candidates[index - 1].name,
                    to=model.name,
                    reason=str(last_error),
                )
            try:
                return model, self._complete_one(model, messages)
            except ModelError as error:
                self.cooldowns.failed(model.name)
                last_error = error
        assert last_error is not None
        raise last_error

    def _candidates(self, models: Sequence[ResolvedModel]) -> list[ResolvedModel]:
        """Models not resting, in tier order; if all rest, the one whose rest ends first (better than nothing)."""
        available = [model for model in models if self.cooldowns.resting(model.name) <= 0.0]
        for model in models:
            rest = self.cooldowns.resting(model.name)
            if rest > 0.0:
                self._log.debug("model resting", model=model.name, seconds_left=round(rest, 1))
        if available:
            return available
        return [min(models, key=lambda model: self.cooldowns.resting(model.name))]

    def _complete_one(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        key = request_key(model, messages) if self.cache is not None else ""
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self._after(model, hit, None)
                return hit
        completion = call_with_retries(
            lambda: self._request(model, messages),
            retries=self.retries,
            backoff_s=self.backoff_s,
            sleep=self._sleep,
            on_retry=lambda number, delay, error: self._log.info(
                "retrying", model=model.name, attempt=number, delay_s=delay, reason=str(error)
            ),
        )
        self.cooldowns.succeeded(model.name)
        if self.cache is not None and completion.text:
            self.cache.put(key, completion)
            completion = completion.model_copy(update={"cache_key": key})
        self._after(model, completion, None)
        return completion

    def forget(self, completion: Completion) -> None:
        """Drop a rejected answer from the cache (if it is there), so that the next run asks the model again."""
        if self.cache is not None and completion.cache_key is not None:
            self.cache.forget(completion.cache_key)

    def _request(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        """One real request, seen by the observer before (it may refuse, or reserve: budget) and after when it fails;
        an interrupted one (Ctrl-C, a bug) is reported with neither answer nor error, so that what was reserved for
        it is freed. A local model's request waits for the one in flight, before anything is reserved for it."""
        with self._local_turn if model.served_locally else contextlib.nullcontext():
            if self.observer is not None:
                self.observer.before_call(model, messages)
            try:
                return self.transport.complete(model, messages)
            except ModelError as error:
                self._after(model, None, error)
                raise
            except BaseException:
                self._after(model, None, None)
                raise

    def _after(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        if self.observer is not None:
            self.observer.after_call(model, completion, error)
