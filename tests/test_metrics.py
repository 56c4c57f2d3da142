"""The metrics file: one JSON line per call or escalation, read back tolerantly, summed per tier and model or
per role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autodev.config import LLMConfig
from autodev.route.metrics import CallEvent, MetricsStore, summarize, summarize_roles, top_tier_model

pytestmark = pytest.mark.req("ROUTE-3")

LLM = LLMConfig(tiers={"tier1": ["small", "tiny"], "tier2": ["medium"], "tier4": ["big", "other-big"]})


def call(tier: str = "tier1", model: str = "small", **fields: object) -> CallEvent:
    return CallEvent.model_validate({"at": 1.0, "requirement": "R1", "tier": tier, "model": model, **fields})


class TestStore:
    def test_appended_events_read_back_equal_and_in_order(self, tmp_path: Path) -> None:
        """Each event is one line carrying the schema version; reading returns the same events."""
        store = MetricsStore(tmp_path / ".autodev" / "metrics.jsonl")
        first = call(input_tokens=100, output_tokens=20, cost_usd=0.01, outcome="red", size_class="small")
        second = CallEvent(kind="escalation", at=2.0, requirement="R1", tier="tier1", model="small", to_tier="tier2")
        store.append(first)
        store.append(second)
        assert store.events() == [first, second]
        lines = store.path.read_text().splitlines()
        assert len(lines) == 2
        assert json.loads(lines[0])["schema"] == 1

    def test_missing_file_has_no_events(self, tmp_path: Path) -> None:
        """Before the first call there is nothing to read, and that is not an error."""
        store = MetricsStore(tmp_path / "metrics.jsonl")
        assert store.events() == []
        assert store.solve_rate("tier1", "") == (0, 0)

    def test_malformed_lines_are_skipped_and_counted(self, tmp_path: Path) -> None:
        """A torn last line, a foreign schema or a bad field costs that line only."""
        path = tmp_path / "metrics.jsonl"
        store = MetricsStore(path)
        store.append(call(outcome="green"))
        with path.open("a") as stream:
            stream.write('{"schema": 1, "at": 1.0, "requirement": "R1"}\n')  # tier and model missing
            stream.write('{"schema": 2, "at": 1.0, "requirement": "R1", "tier": "tier1", "model": "x"}\n')
            stream.write("[1, 2]\n\n")
        store.append(call(outcome="red"))
        with path.open("a") as stream:
            stream.write('{"schema": 1, "at": 1.0, "requirem')
        events = store.events()
        assert [event.outcome for event in events] == ["green", "red"]
        assert store.skipped_lines == 4

    def test_a_line_appended_after_a_read_is_seen_by_the_next_read(self, tmp_path: Path) -> None:
        """The parsed events are reused only while the file is unchanged."""
        store = MetricsStore(tmp_path / "metrics.jsonl")
        store.append(call(outcome="green"))
        assert len(store.events()) == 1
        other_writer = MetricsStore(store.path)
        other_writer.append(call(outcome="red"))
        assert len(store.events()) == 2

    def test_unwritable_file_is_not_an_error(self, tmp_path: Path) -> None:
        """Metrics never break a pass: a failed append is logged and dropped."""
        blocker = tmp_path / "file"
        blocker.write_text("")
        store = MetricsStore(blocker / "metrics.jsonl")
        store.append(call())
        assert store.events() == []

    def test_solve_rate_counts_green_among_green_red_and_rejected_of_one_tier_and_size(self, tmp_path: Path) -> None:
        """Errors, replays, escalations, other tiers and other size classes do not count."""
        store = MetricsStore(tmp_path / "metrics.jsonl")
        for outcome in ("green", "red", "rejected", "green", "error", "replayed", None):
            store.append(call(size_class="small", outcome=outcome))
        store.append(call(tier="tier2", size_class="small", outcome="green"))
        store.append(call(size_class="large", outcome="green"))
        store.append(CallEvent(kind="escalation", at=1.0, requirement="R1", tier="tier1", model="small"))
        assert store.solve_rate("tier1", "small") == (2, 4)
        assert store.solve_rate("tier1", "large") == (1, 1)
        assert store.solve_rate("tier3", "small") == (0, 0)

    def test_solve_rates_count_only_the_coders_lines(self, tmp_path: Path) -> None:
        """A reviewer's, an architect's or an ask's line says nothing about whether the tier can solve the work,
        even with a solve outcome on it; a line written before roles were recorded is the coder's."""
        store = MetricsStore(tmp_path / "metrics.jsonl")
        store.append(call(size_class="small", outcome="red"))
        for role in ("reviewer", "architect", "ask"):
            store.append(call(size_class="small", outcome="green", role=role))
        with store.path.open("a") as stream:
            old = {"schema": 1, "at": 1.0, "requirement": "R1", "tier": "tier1", "model": "small"}
            stream.write(json.dumps({**old, "size_class": "small", "outcome": "green"}) + "\n")
        assert store.solve_rate("tier1", "small") == (1, 2)

    def test_a_line_without_a_role_reads_as_the_coders(self, tmp_path: Path) -> None:
        """Lines written before roles were recorded were all a pass's candidates (and its escalations)."""
        store = MetricsStore(tmp_path / "metrics.jsonl")
        with store.path.open("a") as stream:
            stream.write('{"schema": 1, "at": 1.0, "requirement": "R1", "tier": "tier1", "model": "m"}\n')
        store.append(call(role="reviewer"))
        assert [event.role for event in store.events()] == ["coder", "reviewer"]
        assert json.loads(store.path.read_text().splitlines()[1])["role"] == "reviewer"


class TestSummary:
    EVENTS = (
        call(input_tokens=1000, output_tokens=200, cost_usd=0.0, outcome="red"),
        call(input_tokens=1000, output_tokens=300, cost_usd=0.0, outcome="green"),
        call(input_tokens=500, output_tokens=0, cached=True, outcome="rejected"),
        call(outcome="error"),
        call(model="tiny", input_tokens=10, output_tokens=10, outcome="green"),
        CallEvent(kind="escalation", at=3.0, requirement="R1", tier="tier1", model="small", to_tier="tier4"),
        call(tier="tier4", model="big", input_tokens=2000, output_tokens=500, cost_usd=0.07, outcome="green"),
        call(tier="tier0", model="verified", outcome="replayed"),
    )

    def test_rows_per_tier_and_model_in_tier_order(self) -> None:
        """Hand-counted: tier1/small made 3 real calls and 1 cache hit (3 attempts, 1 green, 1 error), 1 escalation.

        The cache hit's 500 prompt tokens are counted apart, not as spent.
        """
        summary = summarize(self.EVENTS, LLM, top_price=None)
        assert [(row.tier, row.model) for row in summary.rows] == [
            ("tier0", "verified"),
            ("tier1", "small"),
            ("tier1", "tiny"),
            ("tier4", "big"),
        ]
        small = summary.rows[1]
        assert small.calls == 3
        assert (small.prompt_tokens, small.completion_tokens) == (2000, 500)
        assert (small.cached_prompt_tokens, small.cached_completion_tokens) == (500, 0)
        assert (small.cache_hits, small.green, small.attempts, small.errors, small.escalations) == (1, 1, 3, 1, 1)
        assert small.green_rate == pytest.approx(1 / 3)
        replay = summary.rows[0]
        assert (replay.attempts, replay.green, replay.green_rate) == (1, 0, 0.0)
        big = summary.rows[3]
        assert (big.calls, big.cost_usd, big.green_rate, big.escalations) == (1, 0.07, 1.0, 0)

    def test_totals_add_up_every_row(self) -> None:
        """6 real calls, 4010 prompt and 1010 completion tokens, $0.07, 1 escalation; 1 cache hit of 500 apart."""
        totals = summarize(self.EVENTS, LLM, top_price=None).totals
        assert (totals.calls, totals.prompt_tokens, totals.completion_tokens) == (6, 4010, 1010)
        assert (totals.cached_prompt_tokens, totals.cached_completion_tokens) == (500, 0)
        assert totals.cost_usd == pytest.approx(0.07)
        assert (totals.green, totals.attempts, totals.errors, totals.escalations, totals.cache_hits) == (3, 6, 1, 1, 1)

    def test_top_tier_estimate_prices_all_tokens_at_the_top_model_and_gives_the_savings(self) -> None:
        """The tokens really spent: 4010 * 0.00001 + 1010 * 0.00003 = 0.0704; spending 0.07 saved 1 - 0.07 / 0.0704."""
        summary = summarize(self.EVENTS, LLM, top_price=(0.00001, 0.00003))
        assert (summary.top_tier, summary.top_tier_model) == ("tier4", "big")
        assert summary.top_tier_estimate_usd == pytest.approx(0.0704)
        assert summary.savings_estimate == pytest.approx(1 - 0.07 / 0.0704)

    def test_no_savings_figure_against_a_free_top_model(self) -> None:
        """A top estimate of 0 (a local top tier) has no meaningful ratio."""
        summary = summarize(self.EVENTS, LLM, top_price=(0.0, 0.0))
        assert summary.top_tier_estimate_usd == 0.0
        assert summary.savings_estimate is None

    def test_no_events_gives_zero_totals(self) -> None:
        """An empty history summarizes to zeros and no rows, not an error."""
        summary = summarize([], LLM, top_price=None)
        assert summary.rows == []
        assert summary.totals.calls == 0
        assert summary.totals.green_rate is None
        assert summary.top_tier_estimate_usd is None

    def test_top_tier_is_the_first_model_of_the_highest_non_empty_tier(self) -> None:
        """Empty tiers are skipped; no tiers at all means no top model."""
        assert top_tier_model(LLM) == ("tier4", "big")
        assert top_tier_model(LLMConfig(tiers={"tier1": ["a"], "tier3": ["b", "c"], "tier4": []})) == ("tier3", "b")
        assert top_tier_model(LLMConfig()) is None


class TestSummaryByRole:
    EVENTS = (
        call(input_tokens=1000, output_tokens=200, cost_usd=0.01, outcome="red"),
        call(input_tokens=1000, output_tokens=300, cost_usd=0.02, outcome="green"),
        CallEvent(kind="escalation", at=3.0, requirement="R1", tier="tier1", model="small", to_tier="tier4"),
        call(role="reviewer", input_tokens=400, output_tokens=20, cost_usd=0.004, reason="reject"),
        call(role="reviewer", input_tokens=400, output_tokens=20, cached=True, reason="approve"),
        call(role="reviewer", outcome="error"),
        call(role="ask", requirement="ask", input_tokens=50, output_tokens=5, cost_usd=0.001),
        call(role="architect", input_tokens=300, output_tokens=100, cost_usd=0.003),
    )

    def test_one_row_per_role_with_the_coder_first_then_by_name(self) -> None:
        """Hand-counted: the coder made 2 calls (1 of 2 green) and 1 escalation; the reviewer 2 requests (one of them
        failed), 1 cache hit, and no attempts: only the coder's lines are solves."""
        summary = summarize_roles(self.EVENTS)
        assert [row.role for row in summary.rows] == ["coder", "architect", "ask", "reviewer"]
        coder, architect, ask, reviewer = summary.rows
        assert (coder.calls, coder.prompt_tokens, coder.completion_tokens) == (2, 2000, 500)
        assert (coder.green, coder.attempts, coder.green_rate, coder.escalations) == (1, 2, 0.5, 1)
        assert coder.cost_usd == pytest.approx(0.03)
        assert (reviewer.calls, reviewer.cache_hits, reviewer.errors, reviewer.prompt_tokens) == (2, 1, 1, 400)
        assert (reviewer.attempts, reviewer.green_rate) == (0, None)
        assert (ask.calls, ask.cost_usd, architect.completion_tokens) == (1, 0.001, 100)

    def test_the_totals_count_every_call_once(self) -> None:
        """6 requests (2 + 2 + 1 + 1, a failed one included) and their cost; the same totals as the table by tier."""
        summary = summarize_roles(self.EVENTS)
        totals = summary.totals
        assert (totals.calls, totals.prompt_tokens, totals.cache_hits, totals.errors) == (6, 2750, 1, 1)
        assert totals.cost_usd == pytest.approx(0.038)
        assert totals == summarize(self.EVENTS, LLM, top_price=None).totals

    def test_no_events_gives_no_rows(self) -> None:
        summary = summarize_roles([])
        assert summary.rows == [] and summary.totals.calls == 0
