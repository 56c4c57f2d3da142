"""The tiered router in process: real git, the model a function, the example's tests judged by a stand-in.

Which tier answers, when a failure is repaired or escalated, what the next tier is shown, when the budget stops
the climb, what the cache and the metrics see: decisions taken on test outcomes, so temperature_runner (checked
against real pytest in tests/test_helpers.py) judges the attempts and no pytest process runs. The same paths
over HTTP and real pytest are in test_cli_run.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    BROKEN,
    HOPELESS,
    NO_SERVER,
    RIGHT,
    WRONG,
    autodev,
    config_text,
    git,
    head,
    run_pass,
    set_synthesis,
    setup_example,
    temperature_runner,
    two_tiers,
)

from autodev.errors import ModelError
from autodev.llm.client import Message
from autodev.llm.models import ResolvedModel
from autodev.testing import FunctionClient, ReplyScript, completion_for

pytestmark = pytest.mark.req("ROUTE-1")

PRICED = "output_cost_per_token = 0.01\ninput_cost_per_token = 0.0\nmax_tokens = 100\n"


@pytest.fixture
def project(repo: Path) -> Path:
    setup_example(repo, NO_SERVER, config=two_tiers(NO_SERVER))
    return repo


def metrics(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert autodev(project, "metrics", "--json") == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def trailer(project: Path) -> str:
    return git(project, "log", "-1", "--format=%(trailers:key=Autodev-Model,valueonly)").strip()


def costing(text: str, output_tokens: int) -> Any:
    """A reply entry whose completion has ``output_tokens`` tokens, priced at the answering model's prices."""

    def answer(model: ResolvedModel, messages: list[Message]) -> Any:
        return completion_for(model, messages, text, output_tokens=output_tokens)

    return answer


class TestEscalation:
    def test_a_cheap_failure_is_repaired_at_its_tier_before_escalating(self, project: Path) -> None:
        """Half the tests passing earns one repair at tier1; when that fails too, tier2 gets the clean first prompt
        (``escalation_shows_failure`` is off by default) and commits."""
        client = FunctionClient.replying(WRONG, BROKEN, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        assert client.model_names == ["scripted", "scripted", "big"]
        assert "An earlier attempt failed" in client.calls[1].prompt_text
        assert client.calls[2].messages == client.calls[0].messages
        assert trailer(project) == "openai/big"
        assert result.route[1].startswith("repair: looks cheap to fix: 3 of 6 tests pass")
        assert result.route[2].startswith("escalate: escalate to tier2: its repair round failed too")
        assert result.tier == "tier2"

    def test_the_same_failure_twice_escalates_at_once_and_blocks_at_the_top(self, project: Path) -> None:
        """With the reply and the failure shown to the next tier (repair_shows_reply, escalation_shows_failure),
        tier2 failing exactly as tier1 did is a loop: no repair round at the top, the requirement is blocked."""
        set_synthesis(project, "repair_shows_reply = true\nescalation_shows_failure = true")
        client = FunctionClient.replying(HOPELESS, HOPELESS, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "blocked"
        assert result.reason.startswith("the same failure twice in a row at the top tier")
        assert client.model_names == ["scripted", "big"]
        assert not (project / "temps.py").exists()  # the example has no stub: nothing was left behind

    def test_failing_as_the_lower_tier_did_from_the_first_prompt_is_repaired(self, project: Path) -> None:
        """By default tier2 starts from the first prompt, not told tier1's failure: failing the same way is tier2's
        own first failure, repaired at the top, not a loop."""
        client = FunctionClient.replying(HOPELESS, HOPELESS, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        assert client.model_names == ["scripted", "big", "big"]
        assert result.route[2].startswith("repair: top tier: repair")

    def test_explain_first_for_some_tiers_only(self, project: Path) -> None:
        """``explain_first = ["tier1"]``: tier1 is asked to explain first, tier2 to send the file only."""
        set_synthesis(project, 'explain_first = ["tier1"]')
        client = FunctionClient.replying(HOPELESS, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        assert client.model_names == ["scripted", "big"]
        assert "First explain" in client.calls[0].prompt_text
        assert "First explain" not in client.calls[1].prompt_text

    def test_the_next_tier_gets_the_best_failure_but_no_failed_reply(self, project: Path) -> None:
        """With ``escalation_shows_failure`` the next tier's prompt holds the failure of the reply that passed half
        the tests, not the reply itself (small models copy what they are shown)."""
        set_synthesis(project, "escalation_shows_failure = true")
        client = FunctionClient.replying(BROKEN, WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        assert client.model_names == ["scripted", "scripted", "big"]
        assert "3 tests still fail" in client.calls[2].prompt_text
        assert WRONG not in client.calls[2].prompt_text and BROKEN not in client.calls[2].prompt_text

    def test_with_repair_shows_reply_a_nearly_right_reply_is_shown_to_the_next_tier(self, project: Path) -> None:
        """With no repair round (max one per tier), the next tier sees the reply that passed half the tests."""
        set_synthesis(project, "repair_shows_reply = true\nescalation_shows_failure = true")
        client = FunctionClient.replying(BROKEN, WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        assert client.model_names == ["scripted", "scripted", "big"]
        assert WRONG in client.calls[2].prompt_text
        assert BROKEN not in client.calls[2].prompt_text


class TestBudget:
    def test_the_requirement_cap_stops_work_before_a_call_that_could_exceed_it(self, repo: Path) -> None:
        """Each call may cost up to $1.00 (100 tokens at $0.01); after $0.60 spent, a $1.50 cap allows no second."""
        config = two_tiers(NO_SERVER, big_extra=PRICED).replace(
            "timeout_s = 20\n[llm.models.big]", "timeout_s = 20\n" + PRICED + "[llm.models.big]"
        )
        setup_example(repo, NO_SERVER, config=config + "[budget]\nper_requirement_usd = 1.5\n")
        script = ReplyScript([costing(HOPELESS, 60), RIGHT])
        client = FunctionClient(script)
        result = run_pass(repo, client, test_runner=temperature_runner())
        assert result.status == "blocked"
        assert "requirement cap of $1.5000" in result.reason
        assert "spent $0.6000" in result.reason
        assert "up to $1.0000" in result.reason
        assert len(client.calls) == 1
        assert script.remaining == 1

    def test_the_day_cap_holds_across_runs(self, repo: Path) -> None:
        """Money spent by an earlier run today counts against per_day_usd in the next run."""
        priced = "output_cost_per_token = 0.01\nmax_tokens = 100\n"
        config = config_text(NO_SERVER).replace("timeout_s = 20\n", "timeout_s = 20\n" + priced)
        setup_example(repo, NO_SERVER, config=config + "[budget]\nper_day_usd = 1.9\n")
        client = FunctionClient.replying(costing(HOPELESS, 100))
        assert run_pass(repo, client, test_runner=temperature_runner(), max_attempts=1).status == "failed"
        result = run_pass(repo, client, test_runner=temperature_runner())
        assert result.status == "blocked"
        assert "day cap" in result.reason
        assert len(client.calls) == 1


class TestCache:
    def test_a_second_identical_run_asks_again_for_the_replies_that_failed(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Red replies are forgotten by the response cache: the same prompts again are real calls, none cached."""
        client = FunctionClient.replying(*[HOPELESS] * 6)
        first = run_pass(project, client, test_runner=temperature_runner())
        assert len(client.calls) == 3
        second = run_pass(project, client, test_runner=temperature_runner())
        assert (first.status, second.status) == ("failed", "failed")
        assert len(client.calls) == 6
        assert [a.cached for a in second.attempts] == [False, False, False]
        assert second.reason == first.reason
        assert metrics(project, capsys)["totals"]["cache_hits"] == 0

    def test_a_verified_result_is_replayed_without_a_model_call(self, project: Path) -> None:
        """Back in a state once made green (autodev's commit reverted), tier0 replays the change: no model call."""
        client = FunctionClient.replying(RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        solved = (project / "temps.py").read_bytes()
        git(project, "revert", "--no-edit", "HEAD")
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        assert result.tier == "tier0"
        assert len(client.calls) == 1
        assert trailer(project) == "tier0/replay"
        assert (project / "temps.py").read_bytes() == solved


class TestReliability:
    def test_two_server_errors_then_success_are_retried_transparently(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Two retryable errors, then a right answer: one attempt, committed, three calls, two errors counted."""
        error = ModelError("scripted", "server error", "500", retryable=True)
        client = FunctionClient.replying(error, error, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        assert len(client.calls) == 3
        assert len(result.attempts) == 1
        assert metrics(project, capsys)["totals"]["errors"] == 2

    def test_a_timing_out_model_falls_back_to_the_other_model_of_its_tier(self, repo: Path) -> None:
        """tier1 = [slow, scripted]: slow times out, scripted answers, and the commit names scripted."""
        config = two_tiers(NO_SERVER, extra="retries = 0\n").replace(
            'tier1 = ["scripted"]', 'tier1 = ["slow", "scripted"]'
        )
        config += f'[llm.models.slow]\nmodel = "openai/slow"\napi_base = "{NO_SERVER}"\ntimeout_s = 1\n'
        setup_example(repo, NO_SERVER, config=config)

        def answer(model: ResolvedModel, messages: list[Message]) -> str:
            if model.name == "slow":
                raise ModelError(model.name, "timed out", "no answer within 1 s", retryable=True)
            return RIGHT

        client = FunctionClient(answer)
        before = head(repo)
        assert run_pass(repo, client, test_runner=temperature_runner()).status == "satisfied"
        assert head(repo) != before
        assert client.model_names == ["slow", "scripted"]
        assert trailer(repo) == "openai/scripted"


class TestMetrics:
    def test_metrics_report_calls_escalations_and_the_top_tier_estimate(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """After an escalation, metrics --json has one row per tier with its outcome and the escalation counted."""
        client = FunctionClient.replying(HOPELESS, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        data = metrics(project, capsys)
        rows = {row["tier"]: row for row in data["rows"]}
        assert rows["tier1"]["calls"] == 1 and rows["tier1"]["green"] == 0 and rows["tier1"]["escalations"] == 1
        assert rows["tier2"]["calls"] == 1 and rows["tier2"]["green"] == 1
        assert data["top_tier"] == "tier2"
        assert data["totals"]["prompt_tokens"] > 0


class TestSamples:
    def test_candidates_are_tested_in_scratch_copies_and_only_a_green_one_reaches_the_tree(self, repo: Path) -> None:
        """samples = 3: three sampled replies, each logged with its number, tested in copies; the right one is
        re-tested in the pass's copy, applied and committed."""
        config = two_tiers(NO_SERVER, extra="sample_temperature = 0.9\n") + "[llm.samples]\ntier1 = 3\n"
        setup_example(repo, NO_SERVER, config=config)
        client = FunctionClient.replying(WRONG, RIGHT, HOPELESS)
        runner = temperature_runner()
        result = run_pass(repo, client, test_runner=runner)
        assert result.status == "satisfied"
        assert [(c.model.temperature, c.model.seed) for c in client.calls] == [(0.9, 0), (0.9, 1), (0.9, 2)]
        assert [a.outcome for a in result.attempts] == ["red", "green", "red"]
        log = (repo / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8").splitlines()
        applied = [json.loads(line) for line in log if '"edits applied"' in line]
        assert len(applied) == 1  # the working tree saw only the green candidate
        replies = [json.loads(line) for line in log if '"model reply"' in line]
        assert [(r["candidate"], r["reply"]) for r in replies] == [(1, WRONG), (2, RIGHT), (3, HOPELESS)]
        assert trailer(repo) == "openai/scripted"
        assert not list(repo.glob(".autodev/tmp/autodev-candidate-*"))
        places = [call.root for call in runner.calls]
        passes_copy = repo / ".autodev" / "scratch" / "copy"
        assert repo not in places  # no test ever ran in the user's tree
        assert places.count(passes_copy) == 2  # the baseline, then the green candidate once more
        assert len(set(places) - {passes_copy}) == 3  # each candidate in a copy of its own
