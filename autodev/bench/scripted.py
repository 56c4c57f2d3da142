"""Scripted models for the harness: the oracle (always the reference solution) and the per-tier simulator.

Both answer over real HTTP from a ScriptedServer, so the pipeline measured is the real one. A request names its
exercise in the model string (``openai/sim-tier2@allergies``), which keeps one server for a whole run and makes
every answer a pure function of (seed, exercise, tier, how many times that tier was asked): bit-for-bit repeatable.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Mapping

from autodev.bench.exercise import Exercise
from autodev.testgen.criteria import TESTER_MARK
from autodev.testing import RecordedRequest, ScriptedReply

ORACLE = "oracle"
SIM_PREFIX = "sim-"
# Simulated prices per million tokens (input, output): local, small hosted, mid-range, frontier. The shape of the
# ladder matters for routing comparisons, not the exact figures.
SIM_PRICES: dict[str, tuple[float, float]] = {
    "tier1": (0.0, 0.0),
    "tier2": (0.15, 0.60),
    "tier3": (1.00, 4.00),
    "tier4": (3.00, 15.00),
}
_RETURN = re.compile(r"^(\s*)return\b.*$", re.MULTILINE)


def parse_simulate(text: str) -> dict[str, float]:
    """``"tier1=0.3,tier2=0.6"`` -> {"tier1": 0.3, "tier2": 0.6}; raises ValueError with the bad part."""
    rates: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        tier, _, value = part.partition("=")
        tier = tier.strip()
        if tier not in SIM_PRICES:
            raise ValueError(f"{part!r}: the tier must be one of {', '.join(SIM_PRICES)}")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: the probability must be a number between 0 and 1") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{part!r}: the probability must be between 0 and 1")
        rates[tier] = rate
    if not rates:
        raise ValueError("give at least one tier, for example tier1=0.3,tier2=0.6,tier3=0.9")
    return dict(sorted(rates.items()))


def model_string(model: str, exercise: str) -> str:
    return f"openai/{model}@{exercise}"


class BenchResponder:
    """Answers as the oracle or as a simulated tier, for every exercise of a run."""

    def __init__(self, exercises: Mapping[str, Exercise], *, rates: Mapping[str, float] | None = None, seed: int = 0):
        self.exercises = dict(exercises)
        self.rates = dict(rates or {})
        self.seed = seed
        self._asked: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> ScriptedReply | str:
        model, _, name = request.model.partition("@")
        exercise = self.exercises.get(name)
        if exercise is None:
            return ScriptedReply(status=404, error_message=f"no exercise {name!r} in this bench run")
        if TESTER_MARK in request.prompt_text and exercise.track == "python":
            return exercise.tests_reply()  # the oracle tester (and any simulated one) writes the exercise's tests
        if model == ORACLE:
            return exercise.reference_reply()
        tier = model.removeprefix(SIM_PREFIX)
        if tier not in self.rates:
            return ScriptedReply(status=404, error_message=f"no simulated model {model!r}")
        with self._lock:
            count = self._asked.get((name, tier), 0) + 1
            self._asked[(name, tier)] = count
        rng = random.Random(_seed_for(self.seed, name, tier, count))  # noqa: S311 - a simulation, not a secret
        if rng.random() < self.rates[tier]:
            return exercise.reference_reply()
        return exercise.reference_reply(wrong_answer(exercise, rng))


def wrong_answer(exercise: Exercise, rng: random.Random) -> str:
    """A plausible wrong answer: the reference with one return statement broken, or the stub when it has none."""
    reference = exercise.reference
    returns = list(_RETURN.finditer(reference))
    if not returns:
        return exercise.stub + "\n# unfinished\n"
    chosen = returns[rng.randrange(len(returns))]
    return reference[: chosen.start()] + f"{chosen.group(1)}return None" + reference[chosen.end() :]


def _seed_for(seed: int, exercise: str, tier: str, count: int) -> int:
    digest = hashlib.sha256(f"{seed}|{exercise}|{tier}|{count}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
