"""The response cache as a user meets it through `autodev run --once`: real git, pytest and LiteLLM over HTTP.

Only what a rerun should reuse is replayed: a reply the pass rejected (no edit, red tests) is asked for again on
the next run, a reply that led to green is replayed; ``--no-cache`` asks the model whatever the cache holds; and
`autodev metrics` does not count replayed tokens as spent.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import RIGHT, WRONG, autodev, git, run_json, setup_example

from autodev.cli.main import run_cli
from autodev.learn.store import forget, learning_dir
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("ROUTE-1")

NO_EDIT = "I am sorry, I cannot do that."


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    setup_example(repo, server.url, stub=True)
    return repo


def back_to_the_start(project: Path) -> None:
    """Undo autodev's commit and forget its verified results and what it learned, so that only the response cache
    could answer."""
    git(project, "revert", "--no-edit", "HEAD")
    shutil.rmtree(project / ".autodev" / "verified", ignore_errors=True)
    forget(learning_dir(os.environ))


def cache_entries(project: Path) -> list[Path]:
    return sorted((project / ".autodev" / "cache").glob("*/*.json"))


class TestRejectedRepliesAreNotReplayed:
    def test_a_rerun_after_rejected_replies_asks_the_model_again(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Replies with no edit fail the pass; the rerun makes as many real requests and none is from the cache."""
        server.push(*[NO_EDIT] * 3)
        code, first = run_json(project, capsys)
        made = len(server.requests)
        assert code == 1
        assert made >= 2
        assert cache_entries(project) == []
        server.push(*[NO_EDIT] * 3)
        capsys.readouterr()
        assert autodev(project, "run", "--once") == 1
        output = capsys.readouterr().out
        assert len(server.requests) == 2 * made
        assert "from the cache" not in output
        assert f"{len(first['attempts'])} attempt(s)," in output

    def test_red_replies_are_not_replayed_either(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A reply whose tests failed is forgotten too: the rerun's attempts are real calls."""
        server.push(*[WRONG] * 3)
        assert run_json(project, capsys, "--max-attempts", "1")[0] == 1
        server.push(WRONG)
        code, second = run_json(project, capsys, "--max-attempts", "1")
        assert code == 1
        assert len(server.requests) == 2
        assert [attempt["cached"] for attempt in second["attempts"]] == [False]


class TestGreenRepliesAreReplayed:
    def test_a_green_reply_is_replayed_for_the_same_state(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Back at the state a reply once made green, the same prompt is answered from the cache: no request."""
        server.push(RIGHT)
        assert run_json(project, capsys)[0] == 0
        back_to_the_start(project)
        code, second = run_json(project, capsys)
        assert code == 0
        assert len(server.requests) == 1
        assert [attempt["cached"] for attempt in second["attempts"]] == [True]

    def test_the_summary_counts_no_tokens_for_a_replayed_reply(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A pass answered from the cache says so and spends 0 tokens: the summary counts only real requests."""
        server.push(RIGHT)
        assert run_json(project, capsys)[0] == 0
        back_to_the_start(project)
        assert run_cli(["-C", str(project), "run", "--once"]) == 0
        assert "1 attempt(s) (1 from the cache), last by scripted, 0 tokens," in capsys.readouterr().out

    def test_no_cache_asks_the_model_although_the_cache_holds_the_answer(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--no-cache reads nothing from the cache (a real request is made) and writes nothing to it."""
        server.push(RIGHT, RIGHT)
        assert run_json(project, capsys)[0] == 0
        stored = {path: path.read_bytes() for path in cache_entries(project)}
        assert len(stored) == 1
        back_to_the_start(project)
        code, second = run_json(project, capsys, "--no-cache")
        assert code == 0
        assert len(server.requests) == 2
        assert [attempt["cached"] for attempt in second["attempts"]] == [False]
        assert {path: path.read_bytes() for path in cache_entries(project)} == stored

    def test_no_cache_on_a_fresh_project_stores_nothing(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A green pass with --no-cache leaves the cache empty: the next run could not replay it."""
        server.push(RIGHT)
        assert run_json(project, capsys, "--no-cache")[0] == 0
        assert cache_entries(project) == []


class TestMetricsOfCachedReplies:
    def test_replayed_tokens_are_shown_apart_and_not_counted_as_spent(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """One real call and one replay: calls, tokens and cost count the real one; the replay is counted apart."""
        server.push(RIGHT)
        code, first = run_json(project, capsys)
        assert code == 0
        back_to_the_start(project)
        assert run_json(project, capsys)[0] == 0
        spent = first["attempts"][0]
        capsys.readouterr()
        assert autodev(project, "metrics", "--json") == 0
        totals = json.loads(capsys.readouterr().out)["totals"]
        assert (totals["calls"], totals["cache_hits"]) == (1, 1)
        assert (totals["prompt_tokens"], totals["completion_tokens"]) == (spent["input_tokens"], spent["output_tokens"])
        assert (totals["cached_prompt_tokens"], totals["cached_completion_tokens"]) == (
            spent["input_tokens"],
            spent["output_tokens"],
        )
        assert autodev(project, "metrics") == 0
        table = capsys.readouterr().out
        assert (
            f"from the response cache: 1 reply, {spent['input_tokens']} prompt and {spent['output_tokens']} "
            "completion tokens not spent"
        ) in table
