"""The router's own cost per decision, with no model call and no test run (target: under 5 ms).

One routing pass here is everything the router computes around the calls of one requirement: the tier plan,
the size class, the starting tier (solve rates read from a metrics.jsonl pre-filled with EVENTS call events), the
cascade's decisions (first, then three failures), the classification of a realistic red test run, and the
response-cache key of a realistic prompt (~6 KB). MetricsStore keeps parsed events until the file changes, so the
first (cold) solve_rate read is measured apart from the warm ones.

    .venv/bin/python benchmarks/router_overhead.py [--iterations 10000] [--events 5000] [--prompt-kb 6]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from autodev.config import LLMConfig
from autodev.llm.cache import request_key
from autodev.llm.client import Message
from autodev.llm.models import ResolvedModel
from autodev.logs import configure_logging
from autodev.route.metrics import METRICS_SCHEMA_VERSION, CallEvent, MetricsStore
from autodev.route.policy import EscalationPolicy, describe_failure, plan_tiers, size_class, starting_tier
from autodev.verify.junit import TestOutcome
from autodev.verify.runner import TestRun

TARGET_US = 5_000.0
LLM = LLMConfig(
    tiers={"tier1": ["qwen-0.5b", "qwen-1.5b"], "tier2": ["qwen-7b"], "tier3": ["gpt-mini"], "tier4": ["gpt-big"]},
    samples={"tier1": 3},
)
SIZES = ("small", "medium", "large")
T = TypeVar("T")


def fill_metrics(path: Path, count: int, rng: random.Random) -> None:
    """``count`` call events over every tier and size; tier1 rarely solves large requirements (so it is skipped)."""
    lines = []
    for index in range(count):
        tier = rng.choice(("tier1", "tier2", "tier3", "tier4"))
        size = rng.choice(SIZES)
        green_odds = 0.02 if (tier, size) == ("tier1", "large") else 0.5
        outcome = "green" if rng.random() < green_odds else rng.choice(("red", "rejected", "error", "replayed"))
        event = CallEvent(
            at=1.7e9 + index,
            requirement=f"R{index % 300}",
            size_class=size,
            tier=tier,
            model=LLM.tiers[tier][0],
            litellm_model=f"openai/{LLM.tiers[tier][0]}",
            input_tokens=rng.randint(500, 8000),
            output_tokens=rng.randint(50, 1500),
            cost_usd=rng.random() / 100,
            duration_s=rng.random() * 20,
            outcome=outcome,
        )
        lines.append(json.dumps({"schema": METRICS_SCHEMA_VERSION, **event.model_dump(mode="json")}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def red_run() -> TestRun:
    """A red pytest run of 24 tests, 9 failing, with ~10 KB of output as run_tests would keep it."""
    outcomes: dict[str, TestOutcome] = {}
    for index in range(24):
        test_id = f"tests/test_inventory.py::test_case_{index}"
        failing = index % 8 < 3
        message = f"AssertionError: assert <Item object at 0x7f3a{index:04x}> == {index}" if failing else ""
        outcomes[test_id] = TestOutcome(test_id=test_id, outcome="failed" if failing else "passed", message=message)
    traceback = "".join(f"    line_{n} = compute(order, {n})\n" for n in range(10))
    body = "".join(
        f"{'_' * 20} test_case_{i} {'_' * 20}\n\n    def test_case_{i}():\n{traceback}"
        f">       assert build({i}) == {i}\n"
        f"E       AssertionError: assert <Item object at 0x7f3a{i:04x}> == {i}\n\n"
        f"tests/test_inventory.py:{10 + i}: AssertionError\n"
        for i in range(24)
        if i % 8 < 3
    )
    return TestRun(
        command=[sys.executable, "-m", "pytest"],
        exit_code=1,
        timed_out=False,
        duration_s=1.37,
        output=body[:10_000] + "\n9 failed, 15 passed in 1.37s\n",
        outcomes=outcomes,
        used_junit=True,
        timeout_s=300.0,
    )


def prompt(kilobytes: int) -> list[Message]:
    """A system message and a task prompt of about ``kilobytes`` KB in all: spec, tests and target file."""
    code = "def handle(order):\n    total = sum(line.price * line.qty for line in order.lines)\n    return total\n\n"
    system = "You write Python code. " * 40
    user = "## Requirement R7\n\nOrders apply a 10% discount over 100.\n\n## Tests\n\n```python\n"
    user += code * max(0, (kilobytes * 1024 - len(system) - len(user)) // len(code))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def summary(name: str, samples_ns: list[int]) -> str:
    micro = [sample / 1_000 for sample in samples_ns]
    cut = statistics.quantiles(micro, n=100)
    mean, p50, p95 = statistics.fmean(micro), cut[49], cut[94]
    return f"{name:34} {mean:10.1f} {p50:10.1f} {p95:10.1f} {max(micro):10.1f}"


def timed(samples: list[int], step: Callable[[], T]) -> T:
    begin = time.perf_counter_ns()
    value = step()
    samples.append(time.perf_counter_ns() - begin)
    return value


def route_once(
    parts: dict[str, list[int]],
    store: MetricsStore,
    run: TestRun,
    model: ResolvedModel,
    messages: list[Message],
    prompt_chars: int,
) -> bool:
    """One requirement's routing decisions, each timed into ``parts``; whether a tier was skipped."""
    begin = time.perf_counter_ns()
    plan, _ = timed(parts["plan_tiers"], lambda: plan_tiers(LLM))
    start, reasons = timed(
        parts["size_class + starting_tier"],
        lambda: starting_tier(plan, size_class(prompt_chars), store.solve_rate, min_history=5, threshold=0.1),
    )
    failure = timed(parts["describe_failure"], lambda: describe_failure(run, None, target_tests=24))

    def climb() -> None:
        policy = EscalationPolicy(plan, start=start, max_attempts=10)
        policy.first()
        for _ in range(3):
            policy.after_failure(failure, attempts=1)

    timed(parts["cascade (first + 3 failures)"], climb)
    timed(parts["request_key"], lambda: request_key(model, messages))
    parts["total per routing pass"].append(time.perf_counter_ns() - begin)
    return bool(reasons)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=5_000, help="call events in the metrics file")
    parser.add_argument("--prompt-kb", type=int, default=6)
    args = parser.parse_args()
    configure_logging(log_file=None, console_level="error")
    rng = random.Random(7)  # noqa: S311 - reproducible fake history, not security
    run = red_run()
    messages = prompt(args.prompt_kb)
    prompt_chars = sum(len(message["content"]) for message in messages)
    model = ResolvedModel(
        name="qwen-7b", litellm_model="openai/qwen-7b", api_base="http://127.0.0.1:8080/v1", seed=0, max_tokens=2048
    )

    with tempfile.TemporaryDirectory(prefix="router-overhead-") as tmp:
        path = Path(tmp) / "metrics.jsonl"
        fill_metrics(path, args.events, rng)
        store = MetricsStore(path)
        started = time.perf_counter_ns()
        store.solve_rate("tier1", "large")
        cold_ns = time.perf_counter_ns() - started

        parts: dict[str, list[int]] = {
            "plan_tiers": [],
            "size_class + starting_tier": [],
            "cascade (first + 3 failures)": [],
            "describe_failure": [],
            "request_key": [],
            "total per routing pass": [],
            "solve_rate, warm (not in total)": [],
        }
        skipped = 0
        for iteration in range(args.iterations):
            chars = prompt_chars * 4 if iteration % 3 == 0 else prompt_chars  # every third requirement is large
            skipped += route_once(parts, store, run, model, messages, chars)
            timed(parts["solve_rate, warm (not in total)"], lambda: store.solve_rate("tier2", "small"))

    print(f"{args.iterations} routing passes, {args.events} metrics events, prompt {prompt_chars / 1024:.1f} KB")
    print(f"cold solve_rate (first read of the file's tail, the rolling window): {cold_ns / 1e6:.2f} ms")
    print(f"starting tier skipped tier1 in {skipped} of {args.iterations} passes (the large requirements)")
    print(f"{'µs':34} {'mean':>10} {'p50':>10} {'p95':>10} {'max':>10}")
    for name, samples in parts.items():
        print(summary(name, samples))
    total = parts["total per routing pass"]
    p95_us = statistics.quantiles(total, n=100)[94] / 1_000
    verdict = "under" if p95_us < TARGET_US else "OVER"
    print(f"p95 per routing pass {p95_us:.1f} µs: {verdict} the {TARGET_US / 1000:.0f} ms target")
    return 0 if p95_us < TARGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
