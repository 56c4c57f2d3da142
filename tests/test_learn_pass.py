"""Learning in a pass, end to end: a requirement solved by a model is stored; the same exercise with its names
changed is then solved by the stored change, renamed, with no model call, and committed only because its tests
pass; a stored change that is red is never tried again; learning off leaves nothing behind. Real git, real pytest,
the real LiteLLM path to the scripted server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import EXAMPLE, RIGHT, WRONG, autodev, config_text, git, log_events, run_json, setup_example

from autodev.learn.store import STORE_NAME, LearningStore, Solution
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("LEARN-2")

RENAMES = {
    "temps": "thermo",
    "to_kelvin": "kelvin_of",
    "to_fahrenheit": "fahrenheit_of",
    "to_celsius": "celsius_of",
    "test_freezing_point_in_kelvin": "test_ice_melts",
    "test_boiling_point_in_fahrenheit": "test_water_boils",
    "test_body_temperature_round_trip": "test_there_and_back",
    "test_below_absolute_zero_is_rejected": "test_too_cold",
}
PARAPHRASE = {"Convert temperatures between": "Turn temperatures into one another, among", "returns": "gives"}


def renamed(text: str) -> str:
    for old, new in PARAPHRASE.items():
        text = text.replace(old, new)
    return re.sub(r"[A-Za-z_]\w*", lambda match: RENAMES.get(match.group(), match.group()), text)


def variant_project(root: Path, server_url: str, extra: str = "") -> Path:
    """examples/temperature with its functions, module, tests and words changed, all committed."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    (root / "SPEC.md").write_text(renamed((EXAMPLE / "SPEC.md").read_text(encoding="utf-8")), encoding="utf-8")
    (root / "tests").mkdir()
    tests = renamed((EXAMPLE / "tests" / "test_temps.py").read_text(encoding="utf-8"))
    (root / "tests" / "test_thermo.py").write_text(tests, encoding="utf-8")
    (root / "autodev.toml").write_text(config_text(server_url) + extra, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "spec and tests")
    return root


def learned_entries(project: Path) -> list[int]:
    return [event["entry"] for event in log_events(project) if event.get("action") == "learned"]


class TestReuseInAPass:
    def test_a_renamed_variant_is_solved_by_the_stored_change_without_a_model_call(
        self, repo: Path, tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        setup_example(repo, server.url)
        server.push(RIGHT)
        assert run_json(repo, capsys)[0] == 0
        variant = variant_project(tmp_path / "variant", server.url)
        code, result = run_json(variant, capsys)
        assert code == 0, result
        assert len(server.requests) == 1  # the first project's only
        (attempt,) = result["requirements"][0]["attempts"]
        assert attempt["model"] == "tier0/learned" and attempt["outcome"] == "green"
        assert "Autodev-Model: tier0/learned" in git(variant, "log", "-1", "--format=%B")
        solved = (variant / "thermo.py").read_text(encoding="utf-8")
        assert "def kelvin_of(" in solved and "to_kelvin" not in solved and not (variant / "temps.py").exists()
        capsys.readouterr()
        assert autodev(variant, "learn", "stats", "--json") == 0
        stats = json.loads(capsys.readouterr().out)
        assert (stats["worked"], stats["reused"], stats["reuse_rate"], stats["solutions"]) == (2, 1, 0.5, 2)
        assert autodev(repo, "metrics") == 0
        assert "1 solved by a stored change without a model call (reuse rate 50%)" in capsys.readouterr().out

    def test_a_stored_change_that_is_red_is_retired_and_never_tried_again(
        self, tmp_path: Path, learning_home: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        store = LearningStore(learning_home / "autodev" / STORE_NAME)
        tests = (EXAMPLE / "tests" / "test_temps.py").read_text(encoding="utf-8")
        wrong = WRONG.split("```python\n", 1)[1].split("```", 1)[0]
        store.add_solution(Solution(
            requirement_id="SPEC.md", requirement_text=(EXAMPLE / "SPEC.md").read_text(encoding="utf-8"),
            tests={"tests/test_temps.py": tests}, signature=[], changes={"temps.py": wrong}, model="m", tier="tier1",
            state_key="another state",
        ))  # fmt: skip
        (stored,) = store.similar("temperature kelvin")
        store.close()
        first = variant_project(tmp_path / "first", server.url)
        server.push(renamed(RIGHT))
        code, result = run_json(first, capsys)
        assert code == 0, result
        assert learned_entries(first) == [stored.entry_id]
        learned, asked = result["requirements"][0]["attempts"]
        assert (learned["model"], learned["outcome"], asked["model"]) == ("tier0/learned", "red", "scripted")
        found = LearningStore(learning_home / "autodev" / STORE_NAME).similar("temperature kelvin")
        assert [entry.retired for entry in found if entry.entry_id == stored.entry_id] == [True]
        second = variant_project(tmp_path / "second", server.url)
        assert run_json(second, capsys)[0] == 0 and len(server.requests) == 1  # the first variant's change, reused
        assert learned_entries(second) and stored.entry_id not in learned_entries(second)
        capsys.readouterr()
        autodev(second, "learn", "stats", "--json")
        stats = json.loads(capsys.readouterr().out)
        assert (stats["worked"], stats["reused"]) == (1, 0)  # the second is a rerun of the first's state: no reuse

    def test_no_cache_asks_the_models_afresh_even_when_a_stored_change_fits(
        self, repo: Path, tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        setup_example(repo, server.url)
        server.push(RIGHT, renamed(RIGHT))
        assert run_json(repo, capsys)[0] == 0
        variant = variant_project(tmp_path / "variant", server.url)
        code, result = run_json(variant, capsys, "--no-cache")
        assert code == 0 and len(server.requests) == 2
        assert [attempt["model"] for attempt in result["requirements"][0]["attempts"]] == ["scripted"]

    def test_learning_off_stores_nothing_and_reuses_nothing(
        self, repo: Path, tmp_path: Path, learning_home: Path, server: ScriptedServer,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        off = "[learning]\nenabled = false\n"
        setup_example(repo, server.url, config=config_text(server.url) + off)
        server.push(RIGHT, renamed(RIGHT))
        assert run_json(repo, capsys)[0] == 0
        variant = variant_project(tmp_path / "variant", server.url, extra=off)
        assert run_json(variant, capsys)[0] == 0
        assert len(server.requests) == 2 and list(learning_home.iterdir()) == []


def other_project(root: Path, server_url: str, extra: str) -> Path:
    """The renamed example with one more test: not the same tests up to names, so nothing to reuse as it is."""
    project = variant_project(root, server_url, extra)
    with (project / "tests" / "test_thermo.py").open("a", encoding="utf-8") as tests:
        tests.write("\n\ndef test_room():\n    assert kelvin_of(20) == pytest.approx(293.15)\n")
    git(project, "commit", "-qam", "one more test")
    return project


@pytest.mark.req("LEARN-5")
class TestFewShot:
    def test_the_cheapest_tier_is_shown_the_most_similar_solution_within_its_budget(
        self, repo: Path, tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        setup_example(repo, server.url)
        server.push(RIGHT, renamed(RIGHT), renamed(RIGHT))
        assert run_json(repo, capsys)[0] == 0
        shown = other_project(tmp_path / "shown", server.url, "[learning]\nfew_shot = true\n")
        assert run_json(shown, capsys)[0] == 0
        system = server.requests[1].messages[0]["content"]
        assert "a similar requirement solved before" in system and "def to_kelvin(" in system
        tight_config = "[learning]\nreuse = false\nfew_shot = true\nfew_shot_tokens = 20\n"  # reuse: shown's change
        tight = other_project(tmp_path / "tight", server.url, tight_config)
        assert run_json(tight, capsys)[0] == 0
        assert "a similar requirement solved before" not in server.requests[2].prompt_text
        capsys.readouterr()
        autodev(tight, "learn", "stats", "--json")
        assert json.loads(capsys.readouterr().out)["few_shot"] == 1

    def test_reuse_off_asks_the_model_even_for_the_same_tests_up_to_names(
        self, repo: Path, tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        setup_example(repo, server.url)
        server.push(RIGHT, renamed(RIGHT))
        assert run_json(repo, capsys)[0] == 0
        variant = variant_project(tmp_path / "variant", server.url, "[learning]\nreuse = false\n")
        code, result = run_json(variant, capsys)
        assert code == 0 and len(server.requests) == 2
        assert [attempt["model"] for attempt in result["requirements"][0]["attempts"]] == ["scripted"]
