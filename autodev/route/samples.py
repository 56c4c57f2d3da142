"""The calls of one sampled round: which models each candidate asks, and how many calls are in flight at once.

A round's candidates normally all ask the tier's first model, its other models being fallbacks
(``[llm.consensus] across_models = false``). With ``across_models`` the candidates take the tier's models in turn,
so that one prompt is answered by several providers or settings; each call still falls back to the others, so a
dead provider costs a candidate nothing but time.

Hosted calls of a round are made at once, at most ``parallel_calls`` in flight, each in its own thread (LiteLLM's
``completion`` blocks); local calls are made one at a time in the caller's thread, because one llama.cpp server
answers one request at a time. Every call reserves its worst case with the budget before it is made (the budget is
thread-safe), so parallel calls keep the caps exactly. After the first failure (a model error that no fallback
cured, or a budget refusal) no further call starts; the calls in flight finish, and their answers are kept.
The workers are daemon threads: a Ctrl-C in the caller does not wait for their answers, and the reservations of
a process that has exited count for nothing.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from autodev.errors import BudgetExceededError, ModelError
from autodev.llm.client import Completion
from autodev.llm.models import ResolvedModel

Answer = tuple[ResolvedModel, Completion]
Complete = Callable[[Sequence[ResolvedModel]], Answer]  # one call: its models, the first to ask first
CallFailure = ModelError | BudgetExceededError


def sample_calls(
    models: Sequence[ResolvedModel], count: int, *, temperature: float, across_models: bool
) -> list[list[ResolvedModel]]:
    """Each candidate's models, the one to ask first then its fallbacks, at ``temperature`` with their seeds.

    Without ``across_models`` candidate ``i`` asks the tier in its order with seed offset ``i``. With it, candidate
    ``i`` asks model ``i mod n`` first, with seed offset ``i // n`` (the round of the cycle), then the others in
    tier order after it; a fallback's seed offset lies above every first-asked one, so that a fallback answer is
    never a copy of another candidate's request.
    """

    def sampled(model: ResolvedModel, offset: int) -> ResolvedModel:
        return model.model_copy(update={"temperature": temperature, "seed": (model.seed or 0) + offset})

    if not across_models:
        return [[sampled(model, index) for model in models] for index in range(count)]
    size = len(models)
    cycles = -(-count // size)
    calls: list[list[ResolvedModel]] = []
    for index in range(count):
        first = index % size
        order = [*models[first:], *models[:first]]
        calls.append([sampled(order[0], index // size), *(sampled(m, cycles + index) for m in order[1:])])
    return calls


@dataclass
class Gathered:
    """What a round's calls gave: the answers in the candidates' order, and the first failure (candidate order)."""

    answers: list[Answer] = field(default_factory=list)
    failure: CallFailure | None = None


class _Slots:
    """The result of each call, filled from several threads; after the first failure no further call starts."""

    def __init__(self, count: int) -> None:
        self.results: list[Answer | Exception | None] = [None] * count
        self.stopped = threading.Event()

    def run(self, index: int, calls: Sequence[Sequence[ResolvedModel]], complete: Complete) -> None:
        if self.stopped.is_set():
            return
        try:
            self.results[index] = complete(calls[index])
        except Exception as error:  # a model error, a refusal, or a bug: a bug is raised again in the caller
            self.results[index] = error
            self.stopped.set()

    def gathered(self) -> Gathered:
        """The answers in order; an error that is neither a model error nor a refusal is raised here."""
        result = Gathered()
        for item in self.results:
            if isinstance(item, (ModelError, BudgetExceededError)):
                result.failure = result.failure or item
            elif isinstance(item, Exception):
                raise item
            elif item is not None:
                result.answers.append(item)
        return result


def gather(calls: Sequence[Sequence[ResolvedModel]], complete: Complete, *, parallel: int) -> Gathered:
    """Make the calls: hosted ones (by their first model) ``parallel`` at a time, local ones one after the other.

    With ``parallel`` 1, or at most one hosted call, every call is made in this thread in candidate order, stopping
    at the first failure: a round as it was before calls were made in parallel.
    """
    slots = _Slots(len(calls))
    hosted = [index for index, models in enumerate(calls) if not models[0].served_locally]
    local = [index for index, models in enumerate(calls) if models[0].served_locally]
    if parallel <= 1 or len(hosted) <= 1:
        for index in range(len(calls)):
            slots.run(index, calls, complete)
        return slots.gathered()
    queue = iter(hosted)
    queue_lock = threading.Lock()
    workers = [
        threading.Thread(
            target=contextvars.copy_context().run,  # the log lines of a worker carry the pass's context
            args=(_work, queue, queue_lock, slots, calls, complete),
            name=f"sample-call-{number}",
            daemon=True,
        )
        for number in range(min(parallel, len(hosted)))
    ]
    for worker in workers:
        worker.start()
    try:
        for index in local:
            slots.run(index, calls, complete)
        for worker in workers:
            worker.join()
    except BaseException:  # Ctrl-C: nothing new starts; what is in flight is not waited for
        slots.stopped.set()
        raise
    return slots.gathered()


def _work(
    queue: Iterator[int],
    queue_lock: threading.Lock,
    slots: _Slots,
    calls: Sequence[Sequence[ResolvedModel]],
    complete: Complete,
) -> None:
    """One worker: take the next hosted call in candidate order until none is left or one has failed."""
    while not slots.stopped.is_set():
        with queue_lock:
            index = next(queue, None)
        if index is None:
            return
        slots.run(index, calls, complete)
