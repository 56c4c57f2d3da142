"""Spending caps: checked before every call on the call's worst case, so a cap is never exceeded while the server
keeps to the max_tokens it is sent; one that answers longer can take the total past a cap by that one call, and the
next call is refused.

Prices come from configured per-token prices or a fake price function: LiteLLM's price list is never loaded here.
Across processes and over HTTP: tests/test_budget_holds.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from autodev.config import BudgetConfig
from autodev.errors import BudgetExceededError, ModelError
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.route.budget import (
    DEFAULT_COMPLETION_BOUND,
    Budget,
    completion_bound,
    estimate_call_cost,
    estimate_prompt_tokens,
    price_per_token,
)

pytestmark = pytest.mark.req("ROUTE-3")

PROMPT: list[Message] = [{"role": "user", "content": "." * 10}]  # ten marks, a token each, + 4 = 14 tokens


def model(max_tokens: int | None = 10, price: tuple[float, float] | None = (0.001, 0.002)) -> ResolvedModel:
    return ResolvedModel(
        name="m",
        litellm_model="openai/m",
        max_tokens=max_tokens,
        input_cost_per_token=price[0] if price else None,
        output_cost_per_token=price[1] if price else None,
    )


def completion(cost: float, *, cached: bool = False) -> Completion:
    return Completion(
        text="", model="openai/m", input_tokens=1, output_tokens=1, cost_usd=cost, duration_s=0.0, cached=cached
    )


@pytest.fixture(autouse=True)
def no_litellm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every price here is configured or faked: loading LiteLLM's price list would be a bug (and cost seconds)."""

    def refuse() -> None:
        raise AssertionError("LiteLLM was loaded to price a call")

    monkeypatch.setattr("autodev.llm.client.load_litellm", refuse)
    yield


class Clock:
    """A settable local date, standing in for date.today."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def flat_price(per_token: float) -> tuple[float, float]:
    return (per_token, per_token)


class TestEstimates:
    def test_prompt_tokens_count_a_token_per_six_letters_and_per_mark_plus_four_per_message(self) -> None:
        """A 31-letter word, "ab", and "f(x):" (five pieces) in three messages: ceil(31 / 6) + 1 + 5 + 3 * 4 = 24."""
        messages: list[Message] = [{"role": "system", "content": "y" * 31}, {"role": "user", "content": "ab"},
                                   {"role": "user", "content": "f(x):"}]  # fmt: skip
        assert estimate_prompt_tokens(messages) == 24

    def test_the_estimate_stays_above_a_real_tokenizer_on_code_prose_and_specs(self) -> None:
        """Indented code with one-letter names (2.4 characters a token) was undercounted by a ratio of 3 characters a
        token; the estimate now stays above cl100k's count (LiteLLM's bundled tokenizer) on code, prose and specs."""
        import litellm

        files = ("README.md", "specs/routing.md", "autodev/route/budget.py")
        texts = ["def f(x):\n    return x + 1\n" * 20, *(Path(f).read_text(encoding="utf-8") for f in files)]
        for text in texts:
            messages: list[Message] = [{"role": "user", "content": text}]
            assert estimate_prompt_tokens(messages) >= litellm.token_counter(model="gpt-4o-mini", messages=messages)

    @pytest.mark.req("ROUTE-3")
    def test_a_non_ascii_character_counts_as_many_tokens_as_its_utf8_bytes(self) -> None:
        """A Chinese character is one to three tokens, as many as its UTF-8 bytes at most: 12 of them (3 bytes each)
        and a 6-letter word, 36 + 1 + 4."""
        messages: list[Message] = [{"role": "user", "content": "温度转换器要求：摄氏度转华氏度abcdef"[:12] + "abcdef"}]
        assert estimate_prompt_tokens(messages) == 36 + 1 + 4

    def test_call_cost_is_prompt_estimate_plus_the_longest_possible_answer(self) -> None:
        """14 prompt tokens at 0.001 and a 10-token bound at 0.002 cost at most 0.034."""
        assert estimate_call_cost(model(), PROMPT) == pytest.approx(14 * 0.001 + 10 * 0.002)

    def test_configured_price_without_max_tokens_is_bounded_at_4096_without_loading_litellm(self) -> None:
        """A configured price never needs LiteLLM's price list, not even for the answer's bound."""
        unbounded = model(max_tokens=None)
        assert completion_bound(unbounded) == DEFAULT_COMPLETION_BOUND
        assert price_per_token(unbounded) == (0.001, 0.002)

    def test_configured_price_of_none_counts_as_free(self) -> None:
        """Only an output price configured: input tokens cost nothing."""
        half = ResolvedModel(name="m", litellm_model="openai/m", output_cost_per_token=0.5)
        assert price_per_token(half) == (0.0, 0.5)

    def test_free_answer_needs_no_bound(self) -> None:
        """An output price of 0 makes the answer free whatever its length, so no bound is looked up."""
        free_output = model(max_tokens=None, price=None)
        assert estimate_call_cost(free_output, PROMPT, price=lambda _: (0.001, 0.0)) == pytest.approx(0.014)


class TestPriceList:
    """LiteLLM's price list, replaced by a fake module: the lookup rules matter here, not LiteLLM itself."""

    @pytest.fixture
    def listed(self, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        loads: list[int] = []
        cost_map = {
            "gpt-x": {"input_cost_per_token": 1e-6, "output_cost_per_token": 4e-6, "max_output_tokens": 100},
            "ollama/local": {"input_cost_per_token": 0.0, "output_cost_per_token": None},
        }

        def fake_load() -> SimpleNamespace:
            loads.append(1)
            return SimpleNamespace(model_cost=cost_map)

        monkeypatch.setattr("autodev.llm.client.load_litellm", fake_load)
        monkeypatch.setattr("autodev.llm.limits._cost_map_cache", {})
        return loads

    def test_unpriced_model_is_found_by_full_name_or_without_its_provider_prefix(self, listed: list[int]) -> None:
        """``openai/gpt-x`` is listed as ``gpt-x``; a missing price counts as free; an unknown model is free."""
        assert price_per_token(model(price=None).model_copy(update={"litellm_model": "openai/gpt-x"})) == (1e-6, 4e-6)
        assert price_per_token(model(price=None).model_copy(update={"litellm_model": "ollama/local"})) == (0.0, 0.0)
        assert price_per_token(model(price=None).model_copy(update={"litellm_model": "acme/unknown"})) == (0.0, 0.0)

    def test_answer_bound_falls_back_to_the_listed_maximum_and_lookups_are_cached(self, listed: list[int]) -> None:
        """No max_tokens: the list's max_output_tokens bounds the answer; the list is consulted once per model."""
        unbounded = model(max_tokens=None, price=None).model_copy(update={"litellm_model": "gpt-x"})
        assert estimate_call_cost(unbounded, PROMPT) == pytest.approx(14 * 1e-6 + 100 * 4e-6)
        estimate_call_cost(unbounded, PROMPT)
        assert len(listed) == 1


class TestCaps:
    def test_a_sequence_of_calls_never_spends_past_any_cap(self, tmp_path: Path) -> None:
        """Each call may cost up to its estimate; charging the whole estimate after every allowed call stays <= cap."""
        config = BudgetConfig(per_requirement_usd=0.1, per_run_usd=0.25, per_day_usd=0.3)
        budget = Budget(config, tmp_path / "spend.json", price=lambda _: flat_price(0.001))
        estimate = estimate_call_cost(model(), PROMPT, price=lambda _: flat_price(0.001))  # 0.024
        refused: list[str] = []
        for requirement in ("r1", "r2", "r3", "r4"):
            budget.start_requirement(requirement)
            while True:
                try:
                    budget.check(model(), PROMPT)
                except BudgetExceededError as error:
                    refused.append(error.scope)
                    break
                budget.charge(estimate)
                assert budget.spent_requirement_usd <= 0.1
                assert budget.spent_run_usd <= 0.25
                assert budget.spent_day_usd <= 0.3
        assert refused == ["requirement", "requirement", "run", "run"]
        assert budget.spent_run_usd == pytest.approx(10 * estimate)

    def test_refusal_names_scope_cap_spent_and_estimate(self, tmp_path: Path) -> None:
        """The error carries what the user needs to raise the right cap."""
        budget = Budget(BudgetConfig(per_run_usd=0.05), tmp_path / "spend.json")
        budget.charge(0.03)
        with pytest.raises(BudgetExceededError) as caught:
            budget.check(model(), PROMPT)
        error = caught.value
        assert (error.scope, error.cap_usd) == ("run", 0.05)
        assert error.spent_usd == pytest.approx(0.03)
        assert error.estimate_usd == pytest.approx(0.034)
        assert "per_run_usd" in str(error)

    def test_requirement_cap_is_checked_before_run_and_day(self, tmp_path: Path) -> None:
        """When every cap would be crossed, the narrowest scope is named."""
        budget = Budget(BudgetConfig(per_requirement_usd=0.0, per_run_usd=0.0, per_day_usd=0.0), tmp_path / "s.json")
        with pytest.raises(BudgetExceededError) as caught:
            budget.check(model(), PROMPT)
        assert caught.value.scope == "requirement"

    def test_starting_a_requirement_resets_only_its_own_total(self, tmp_path: Path) -> None:
        """The run and day totals keep counting across requirements."""
        budget = Budget(BudgetConfig(per_requirement_usd=0.05), tmp_path / "spend.json")
        budget.start_requirement("r1")
        budget.charge(0.04)
        with pytest.raises(BudgetExceededError):
            budget.check(model(), PROMPT)
        budget.start_requirement("r2")
        budget.check(model(), PROMPT)
        assert budget.requirement_id == "r2"
        assert budget.spent_requirement_usd == 0.0
        assert budget.spent_run_usd == pytest.approx(0.04)
        assert budget.spent_day_usd == pytest.approx(0.04)

    def test_zero_cap_allows_a_free_model(self, tmp_path: Path) -> None:
        """0 spent + 0 estimate is not more than a cap of 0: local models stay usable with all caps at 0."""
        budget = Budget(BudgetConfig(per_requirement_usd=0, per_run_usd=0, per_day_usd=0), tmp_path / "spend.json")
        budget.check(model(price=(0.0, 0.0)), PROMPT)
        with pytest.raises(BudgetExceededError):
            budget.check(model(), PROMPT)

    def test_no_caps_means_no_pricing_at_all(self, tmp_path: Path) -> None:
        """Without caps check returns at once: the price function (and so LiteLLM) is never consulted."""

        def no_pricing(_: ResolvedModel) -> tuple[float, float]:
            raise AssertionError("priced a call with no cap set")

        budget = Budget(BudgetConfig(), tmp_path / "spend.json", price=no_pricing)
        budget.check(model(price=None), PROMPT)


class TestObserver:
    def test_after_call_charges_real_completions_only(self, tmp_path: Path) -> None:
        """A cache hit made no request and a failed call returned nothing: neither is charged."""
        budget = Budget(BudgetConfig(per_run_usd=1.0), tmp_path / "spend.json")
        budget.before_call(model(), PROMPT)
        budget.after_call(model(), completion(0.02), None)
        budget.after_call(model(), completion(0.5, cached=True), None)
        budget.after_call(model(), None, ModelError("m", "timed out", "slow", retryable=True))
        assert budget.spent_run_usd == pytest.approx(0.02)

    def test_a_call_costing_more_than_its_worst_case_overshoots_the_cap_by_that_call_only(self, tmp_path: Path) -> None:
        """Each call reserves 0.034 but costs 0.1 (a server ignoring max_tokens): under a 0.15 run cap the second
        call is allowed (0.1 + 0.034 <= 0.15), takes the total to 0.2, and the third is refused. The total stays
        within the cap plus one call's real cost."""
        budget = Budget(BudgetConfig(per_run_usd=0.15), tmp_path / "spend.json")
        made = 0
        with pytest.raises(BudgetExceededError):
            for _ in range(10):
                budget.before_call(model(), PROMPT)
                budget.after_call(model(), completion(0.1), None)
                made += 1
        assert made == 2
        assert budget.spent_run_usd == pytest.approx(0.2)
        assert budget.spent_run_usd <= 0.15 + 0.1

    def test_a_failed_call_frees_its_reservation(self, tmp_path: Path) -> None:
        """A reservation held by a call that failed would shrink the cap for nothing: it is released."""
        budget = Budget(BudgetConfig(per_run_usd=0.05), tmp_path / "spend.json")
        for _ in range(3):
            budget.before_call(model(), PROMPT)  # 0.034 of 0.05: a second reservation would not fit
            budget.after_call(model(), None, ModelError("m", "server error", "500", retryable=True))
        assert budget.spent_run_usd == 0.0

    def test_before_call_refuses_like_check(self, tmp_path: Path) -> None:
        """The dispatcher's hook is the cap check."""
        budget = Budget(BudgetConfig(per_run_usd=0.01), tmp_path / "spend.json")
        with pytest.raises(BudgetExceededError):
            budget.before_call(model(), PROMPT)


class TestDayTotal:
    def test_day_total_persists_across_budgets_and_caps_the_next_run(self, tmp_path: Path) -> None:
        """A second run on the same day starts from the first run's spending, not from zero."""
        spend = tmp_path / ".autodev" / "spend.json"
        clock = Clock(date(2026, 11, 30))
        first = Budget(BudgetConfig(per_day_usd=0.05), spend, today=clock)
        first.charge(0.03)
        assert json.loads(spend.read_text()) == {"schema": 1, "days": {"2026-11-30": 0.03}}
        second = Budget(BudgetConfig(per_day_usd=0.05), spend, today=clock)
        assert second.spent_run_usd == 0.0
        assert second.spent_day_usd == pytest.approx(0.03)
        with pytest.raises(BudgetExceededError) as caught:
            second.check(model(), PROMPT)
        assert caught.value.scope == "day"

    def test_charges_of_two_processes_add_up_in_the_file(self, tmp_path: Path) -> None:
        """Each charge re-reads the file, so two budgets writing in turn do not overwrite each other's spending."""
        spend = tmp_path / "spend.json"
        clock = Clock(date(2026, 11, 30))
        one = Budget(BudgetConfig(), spend, today=clock)
        two = Budget(BudgetConfig(), spend, today=clock)
        one.charge(0.01)
        two.charge(0.02)
        one.charge(0.04)
        assert json.loads(spend.read_text())["days"]["2026-11-30"] == pytest.approx(0.07)
        assert one.spent_day_usd == pytest.approx(0.07)

    def test_a_new_day_starts_at_zero_even_within_one_run(self, tmp_path: Path) -> None:
        """At midnight the day cap frees up; the run total does not."""
        spend = tmp_path / "spend.json"
        clock = Clock(date(2026, 11, 30))
        budget = Budget(BudgetConfig(per_day_usd=0.05), spend, today=clock)
        budget.charge(0.04)
        with pytest.raises(BudgetExceededError):
            budget.check(model(), PROMPT)
        clock.day = date(2026, 12, 1)
        budget.check(model(), PROMPT)
        budget.charge(0.01)
        assert budget.spent_day_usd == pytest.approx(0.01)
        assert budget.spent_run_usd == pytest.approx(0.05)
        assert json.loads(spend.read_text())["days"] == {"2026-11-30": 0.04, "2026-12-01": 0.01}

    def test_only_the_last_31_days_are_kept(self, tmp_path: Path) -> None:
        """The file does not grow forever: days older than 31 days (today included) are dropped on the next write."""
        spend = tmp_path / "spend.json"
        old = {"2026-10-30": 1.0, "2026-10-31": 2.0, "2026-11-29": 3.0}
        spend.write_text(json.dumps({"schema": 1, "days": old}))
        Budget(BudgetConfig(), spend, today=Clock(date(2026, 11, 30))).charge(0.5)
        assert json.loads(spend.read_text())["days"] == {"2026-10-31": 2.0, "2026-11-29": 3.0, "2026-11-30": 0.5}

    @pytest.mark.parametrize(
        "content",
        [
            "{not json",
            json.dumps({"schema": 2, "days": {}}),
            json.dumps({"schema": 1, "days": {"2026-11-30": "lots"}}),
            json.dumps({"schema": 1, "days": {"yesterday": 1.0}}),
            json.dumps([1, 2]),
        ],
    )
    def test_corrupt_spend_file_is_moved_aside_and_counts_as_zero(self, tmp_path: Path, content: str) -> None:
        """Never fatal: the bad file is kept as spend.json.corrupt for the user, and a fresh one is written."""
        spend = tmp_path / "spend.json"
        spend.write_text(content)
        budget = Budget(BudgetConfig(per_day_usd=0.05), spend, today=Clock(date(2026, 11, 30)))
        budget.check(model(), PROMPT)
        assert budget.spent_day_usd == 0.0
        assert (tmp_path / "spend.json.corrupt").read_text() == content
        budget.charge(0.01)
        assert json.loads(spend.read_text()) == {"schema": 1, "days": {"2026-11-30": 0.01}}

    def test_unwritable_spend_file_still_counts_this_process(self, tmp_path: Path) -> None:
        """A failed write is logged; the in-memory day total still holds the cap for this run."""
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        budget = Budget(BudgetConfig(per_day_usd=0.05), blocker / "spend.json", today=Clock(date(2026, 11, 30)))
        budget.charge(0.04)
        assert budget.spent_day_usd == pytest.approx(0.04)
        with pytest.raises(BudgetExceededError):
            budget.check(model(), PROMPT)


@pytest.mark.req("ROUTE-3")
class TestSpendFileAcrossProcesses:
    def test_concurrent_charges_from_four_processes_are_all_on_file(self, tmp_path: Path) -> None:
        """Each process adds 0.01 fifty times at once; an unlocked read-modify-write loses some of them."""
        import subprocess
        import sys

        script = (
            "import sys\nfrom datetime import date\nfrom pathlib import Path\n"
            "from autodev.route.spend_file import SpendFile\n"
            "f = SpendFile(Path(sys.argv[1]))\n"
            "for _ in range(50):\n    f.add(date(2026, 12, 3), 0.01)\n"
        )
        path = tmp_path / "spend.json"
        workers = [subprocess.Popen([sys.executable, "-c", script, str(path)]) for _ in range(4)]
        assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0, 0]
        from autodev.route.spend_file import SpendFile

        assert SpendFile(path).total(date(2026, 12, 3)) == pytest.approx(2.0)
