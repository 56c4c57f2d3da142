"""The tiered router end to end: real git, real pytest, real LiteLLM HTTP against scripted servers on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from test_run_once import BROKEN, HOPELESS, RIGHT, WRONG, autodev, config_text, head, setup_example

from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-1")


def two_tiers(server_url: str, *, extra: str = "", big_extra: str = "") -> str:
    """tier1 = scripted, tier2 = big, both on the scripted server; retries back off for milliseconds only."""
    text = config_text(server_url).replace('tier1 = ["scripted"]', 'tier1 = ["scripted"]\ntier2 = ["big"]')
    text = text.replace("[llm.tiers]", "[llm]\nretry_backoff_s = 0.01\n" + extra + "[llm.tiers]")
    return text + f'[llm.models.big]\nmodel = "openai/big"\napi_base = "{server_url}"\ntimeout_s = 20\n' + big_extra


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    setup_example(repo, server.url)
    (repo / "autodev.toml").write_text(two_tiers(server.url), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "two tiers")
    return repo


def run_json(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = autodev(project, "run", "--once", "--json", *args)
    return code, json.loads(capsys.readouterr().out)


def metrics(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert autodev(project, "metrics", "--json") == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def trailer(project: Path) -> str:
    return git(project, "log", "-1", "--format=%(trailers:key=Autodev-Model,valueonly)").strip()


class TestEscalation:
    def test_a_cheap_failure_is_repaired_at_its_tier_before_escalating(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Half the tests passing earns one repair at tier1; when that fails too, tier2 gets the summary and commits."""
        server.push(WRONG, BROKEN, RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0
        assert [r.model for r in server.requests] == ["scripted", "scripted", "big"]
        assert "test_below_absolute_zero_is_rejected" in server.requests[2].prompt_text
        assert trailer(project) == "openai/big"
        route = result["route"]
        assert isinstance(route, list)
        assert route[1].startswith("repair: looks cheap to fix: 3 of 6 tests pass")
        assert route[2].startswith("escalate: escalate to tier2: its repair round failed too")
        assert result["tier"] == "tier2"

    def test_the_same_failure_twice_escalates_at_once_and_blocks_at_the_top(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """tier2 failing exactly as tier1 did is a loop: no repair round at the top, the requirement is blocked."""
        server.push(HOPELESS, HOPELESS, RIGHT)
        code, result = run_json(project, capsys)
        assert code == 1
        assert result["status"] == "blocked"
        assert str(result["reason"]).startswith("the same failure twice in a row at the top tier")
        assert [r.model for r in server.requests] == ["scripted", "big"]
        assert not (project / "temps.py").exists()  # the example has no stub: nothing was left behind

    def test_a_nearly_right_reply_is_shown_to_the_next_tier(self, repo: Path, server: ScriptedServer) -> None:
        """With no repair round (max one per tier), the next tier sees the reply that passed half the tests."""
        setup_example(repo, server.url)
        (repo / "autodev.toml").write_text(two_tiers(server.url), encoding="utf-8")
        git(repo, "commit", "-q", "-am", "two tiers")
        server.push(BROKEN, WRONG, RIGHT)
        assert autodev(repo, "run", "--once") == 0
        assert [r.model for r in server.requests] == ["scripted", "scripted", "big"]
        assert WRONG in server.requests[2].prompt_text
        assert BROKEN not in server.requests[2].prompt_text


class TestBudget:
    def test_the_requirement_cap_stops_work_before_a_call_that_could_exceed_it(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each call may cost up to $1.00 (100 tokens at $0.01); after $0.60 spent, a $1.50 cap allows no second."""
        setup_example(repo, server.url)
        priced = "output_cost_per_token = 0.01\ninput_cost_per_token = 0.0\nmax_tokens = 100\n"
        config = two_tiers(server.url, big_extra=priced).replace(
            'api_base = "' + server.url + '"\ntimeout_s = 20\n[llm.models.big]',
            'api_base = "' + server.url + '"\ntimeout_s = 20\n' + priced + "[llm.models.big]",
        )
        (repo / "autodev.toml").write_text(config + "[budget]\nper_requirement_usd = 1.5\n", encoding="utf-8")
        git(repo, "commit", "-q", "-am", "priced models and a cap")
        server.push(ScriptedReply(content=HOPELESS, completion_tokens=60), RIGHT)
        code, result = run_json(repo, capsys)
        assert code == 1
        assert result["status"] == "blocked"
        reason = str(result["reason"])
        assert "requirement cap of $1.5000" in reason
        assert "spent $0.6000" in reason
        assert "up to $1.0000" in reason
        assert len(server.requests) == 1
        assert server.remaining == 1

    def test_the_day_cap_holds_across_runs(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Money spent by an earlier run today counts against per_day_usd in the next run."""
        setup_example(repo, server.url)
        priced = "output_cost_per_token = 0.01\nmax_tokens = 100\n"
        config = config_text(server.url).replace("timeout_s = 20\n", "timeout_s = 20\n" + priced)
        (repo / "autodev.toml").write_text(config + "[budget]\nper_day_usd = 1.9\n", encoding="utf-8")
        git(repo, "commit", "-q", "-am", "a day cap")
        server.push(ScriptedReply(content=HOPELESS, completion_tokens=100))
        code, _ = run_json(repo, capsys, "--max-attempts", "1")
        assert code == 1
        code, result = run_json(repo, capsys)
        assert result["status"] == "blocked"
        assert "day cap" in str(result["reason"])
        assert len(server.requests) == 1


class TestCache:
    def test_a_second_identical_run_is_served_from_the_response_cache(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The same prompts again reach no server: every reply comes from .autodev/cache, at no cost."""
        server.push(HOPELESS, HOPELESS)
        first_code, first = run_json(project, capsys)
        assert len(server.requests) == 2
        second_code, second = run_json(project, capsys)
        assert (first_code, second_code) == (1, 1)
        assert len(server.requests) == 2
        attempts = second["attempts"]
        assert isinstance(attempts, list)
        assert [a["cached"] for a in attempts] == [True, True]
        assert second["reason"] == first["reason"]
        totals = metrics(project, capsys)["totals"]
        assert isinstance(totals, dict)
        assert totals["cache_hits"] == 2

    def test_a_verified_result_is_replayed_without_a_model_call(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Back in a state once made green (autodev's commit reverted), tier0 replays the change: no request."""
        server.push(RIGHT)
        assert autodev(project, "run", "--once") == 0
        solved = (project / "temps.py").read_bytes()
        git(project, "revert", "--no-edit", "HEAD")
        code, result = run_json(project, capsys)
        assert code == 0
        assert result["tier"] == "tier0"
        assert len(server.requests) == 1
        assert trailer(project) == "tier0/replay"
        assert (project / "temps.py").read_bytes() == solved


class TestReliability:
    def test_two_server_errors_then_success_are_retried_transparently(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """500, 500, then a right answer: one attempt, committed, three requests on the wire."""
        server.push(ScriptedReply(status=500), ScriptedReply(status=500), RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0
        assert len(server.requests) == 3
        attempts = result["attempts"]
        assert isinstance(attempts, list) and len(attempts) == 1
        assert metrics(project, capsys)["totals"]["errors"] == 2  # type: ignore[index]

    def test_a_timing_out_model_falls_back_to_the_other_model_of_its_tier(
        self, repo: Path, server: ScriptedServer
    ) -> None:
        """tier1 = [slow, scripted]: slow exceeds its timeout, scripted answers, and the commit names scripted."""
        with ScriptedServer() as slow_server:
            setup_example(repo, server.url)
            config = two_tiers(server.url, extra="retries = 0\n").replace(
                'tier1 = ["scripted"]', 'tier1 = ["slow", "scripted"]'
            )
            config += f'[llm.models.slow]\nmodel = "openai/slow"\napi_base = "{slow_server.url}"\ntimeout_s = 1\n'
            (repo / "autodev.toml").write_text(config, encoding="utf-8")
            git(repo, "commit", "-q", "-am", "a slow model first")
            slow_server.push(ScriptedReply(content=RIGHT, delay_s=3))
            server.push(RIGHT)
            before = head(repo)
            assert autodev(repo, "run", "--once") == 0
            assert head(repo) != before
            assert len(slow_server.requests) == 1
            assert [r.model for r in server.requests] == ["scripted"]
            assert trailer(repo) == "openai/scripted"


class TestMetrics:
    def test_metrics_report_calls_escalations_and_the_top_tier_estimate(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """After an escalation, metrics --json has one row per tier with its outcome and the escalation counted."""
        server.push(HOPELESS, RIGHT)
        assert autodev(project, "run", "--once") == 0
        data = metrics(project, capsys)
        rows = {row["tier"]: row for row in data["rows"]}  # type: ignore[attr-defined]
        assert rows["tier1"]["calls"] == 1 and rows["tier1"]["green"] == 0 and rows["tier1"]["escalations"] == 1
        assert rows["tier2"]["calls"] == 1 and rows["tier2"]["green"] == 1
        assert data["top_tier"] == "tier2"
        assert data["totals"]["prompt_tokens"] > 0  # type: ignore[index]


class TestSamples:
    def test_candidates_are_tested_in_scratch_copies_and_only_a_green_one_reaches_the_tree(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """samples = 3: three sampled replies, tested in copies; the right one is applied, re-tested and committed."""
        setup_example(repo, server.url)
        config = two_tiers(server.url, extra="sample_temperature = 0.9\n") + "[llm.samples]\ntier1 = 3\n"
        (repo / "autodev.toml").write_text(config, encoding="utf-8")
        git(repo, "commit", "-q", "-am", "three samples at tier1")
        server.push(WRONG, RIGHT, HOPELESS)
        code, result = run_json(repo, capsys)
        assert code == 0
        assert [(r.body["temperature"], r.body["seed"]) for r in server.requests] == [(0.9, 0), (0.9, 1), (0.9, 2)]
        attempts = result["attempts"]
        assert isinstance(attempts, list)
        assert [a["outcome"] for a in attempts] == ["red", "green", "red"]
        log = (repo / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8").splitlines()
        applied = [json.loads(line) for line in log if '"edits applied"' in line]
        assert len(applied) == 1  # the working tree saw only the green candidate
        assert trailer(repo) == "openai/scripted"
        assert not list(repo.glob(".autodev/tmp/autodev-candidate-*"))
