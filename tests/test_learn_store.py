"""The learning store: solutions and failures kept in a real SQLite file, found again by their words, moved aside
when unreadable, bounded, and never the reason a pass fails."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from autodev.cli.main import run_cli
from autodev.learn import store as store_module
from autodev.learn.store import STORE_NAME, FailureEntry, LearningStore, Solution, forget, open_learning
from autodev.learn.words import key_words, similarity, words

pytestmark = pytest.mark.req("LEARN-1")

GRAINS_TESTS = "from grains import square, total\n\ndef test_square_1():\n    assert square(1) == 1\n"
GRAINS_VARIANT = "from wheat import grains_on, board_total\n\ndef test_one():\n    assert grains_on(1) == 1\n"
PANGRAM_TESTS = "from pangram import is_pangram\n\ndef test_empty():\n    assert is_pangram('') is False\n"
SCORES_TESTS = "from high_scores import latest\n\ndef test_latest():\n    assert latest([1, 2]) == 2\n"


def solution(name: str, tests: str, requirement: str, **extra: object) -> Solution:
    fields: dict[str, object] = {
        "requirement_id": name, "requirement_text": requirement, "tests": {f"tests/{name}_test.py": tests},
        "signature": [f"tests/{name}_test.py::test"], "changes": {f"{name}.py": "def f():\n    return 1\n"},
        "model": "local/qwen2.5-coder-1.5b", "tier": "tier2", "cost_usd": 0.01, "state_key": f"key-{name}",
    }  # fmt: skip
    return Solution.model_validate(fields | extra)


@pytest.fixture
def store(tmp_path: Path) -> LearningStore:
    return LearningStore(tmp_path / STORE_NAME)


class TestWords:
    def test_identifiers_are_split_on_case_and_underscores_and_kept_whole(self) -> None:
        assert words("to_kelvin(x) toKelvin HTTPServer") == [
            "to", "kelvin", "to_kelvin", "x", "to", "kelvin", "tokelvin", "http", "server", "httpserver",
        ]  # fmt: skip

    def test_similarity_compares_the_words_that_say_something(self) -> None:
        assert "the" not in key_words("the grains on the board")
        assert similarity("grains on a chessboard", "the grains on the chessboard") == 1.0
        assert similarity("grains on a chessboard", "is the sentence a pangram") == 0.0


class TestRoundTrip:
    def test_a_solution_comes_back_as_it_was_stored_and_the_same_state_is_kept_once(self, store: LearningStore) -> None:
        stored = solution("grains", GRAINS_TESTS, "Calculate the grains on a chessboard square")
        store.add_solution(stored)
        store.add_solution(stored)
        (found,) = store.similar("grains square")
        assert found.model_dump() == stored.model_dump() and found.entry_id > 0
        assert store.stats().solutions == 1

    def test_a_store_reopened_holds_what_was_written(self, tmp_path: Path) -> None:
        first = LearningStore(tmp_path / STORE_NAME)
        first.add_solution(solution("grains", GRAINS_TESTS, "grains"))
        first.add_failure(FailureEntry(requirement_id="grains", model="m", tier="tier1", kind="red",
                                       detail="1 test still fails", signature=[]))  # fmt: skip
        first.close()
        again = LearningStore(tmp_path / STORE_NAME)
        assert (again.stats().solutions, again.stats().failures) == (1, 1)
        assert (tmp_path / STORE_NAME).stat().st_mode & 0o777 == 0o600


class TestRetrieval:
    def test_the_near_duplicate_ranks_first(self, store: LearningStore) -> None:
        store.add_solution(solution("pangram", PANGRAM_TESTS, "Determine if a sentence is a pangram"))
        store.add_solution(solution("grains", GRAINS_TESTS, "Calculate the number of grains of wheat on a square"))
        store.add_solution(solution("scores", SCORES_TESTS, "Manage a game player's high score list"))
        query = "Work out how many grains of wheat lie on a square of the board\n" + GRAINS_VARIANT
        assert store.similar(query)[0].requirement_id == "grains"

    def test_nothing_in_common_finds_nothing(self, store: LearningStore) -> None:
        store.add_solution(solution("grains", GRAINS_TESTS, "grains of wheat"))
        assert store.similar("zebra xylophone") == [] and store.similar("") == []


class TestReuseCounts:
    def test_a_green_reuse_is_counted_and_a_red_one_retires_the_entry(self, store: LearningStore) -> None:
        store.add_solution(solution("grains", GRAINS_TESTS, "grains of wheat"))
        (found,) = store.similar("grains")
        store.used(found, green=True)
        assert store.similar("grains")[0].reused == 1
        store.used(found, green=False)
        assert store.similar("grains")[0].retired

    def test_stats_count_each_state_worked_on_once_and_reuse_among_them(self, store: LearningStore) -> None:
        for name in ("a", "b", "c"):
            store.note("worked", name, f"state of {name}")
        store.note("worked", "a", "state of a")  # the loop's next pass over the same red state
        store.note("reused", "c", "state of c", cost_avoided=0.25)
        stats = store.stats()
        assert (stats.worked, stats.reused, stats.reuse_rate, stats.cost_avoided_usd) == (3, 1, 0.333, 0.25)
        assert LearningStore(store.path.parent / "other.sqlite3").stats().reuse_rate is None


class TestDamage:
    def test_an_unreadable_file_is_moved_aside_and_a_new_store_started(self, tmp_path: Path) -> None:
        path = tmp_path / STORE_NAME
        path.write_bytes(b"this is not a database" * 100)
        with capture_logs() as logs:
            store = LearningStore(path)
        (aside,) = tmp_path.glob(f"{STORE_NAME}.corrupt-*")
        assert aside.read_bytes().startswith(b"this is not a database")
        assert any(entry["event"] == "learning store moved aside; starting a new one" for entry in logs)
        store.add_solution(solution("grains", GRAINS_TESTS, "grains"))
        assert store.stats().solutions == 1

    def test_a_store_of_another_schema_is_moved_aside(self, tmp_path: Path) -> None:
        path = tmp_path / STORE_NAME
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '99')")
        db.commit()
        db.close()
        LearningStore(path).add_solution(solution("grains", GRAINS_TESTS, "grains"))
        assert (tmp_path / f"{STORE_NAME}.schema-99").exists()
        assert LearningStore(path).stats().solutions == 1

    def test_a_store_locked_by_another_process_is_not_taken_for_damage(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Another pass holding the file: this one goes on without learning; the file is neither moved nor lost."""
        monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.1)
        path = tmp_path / "autodev" / STORE_NAME
        LearningStore(path).add_solution(solution("grains", GRAINS_TESTS, "grains"))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        with capture_logs() as logs, open_learning(True, {"XDG_DATA_HOME": str(tmp_path)}) as learning:
            assert learning is None
        assert any(entry["event"] == "no learning store this pass" for entry in logs)
        holder.execute("ROLLBACK")
        holder.close()
        assert list(path.parent.glob(f"{STORE_NAME}.*")) == [] and LearningStore(path).stats().solutions == 1

    def test_a_full_disk_loses_the_entry_not_the_pass(self, store: LearningStore) -> None:
        """SQLite's own full-disk error, made real by capping the file at the pages it has."""
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        with capture_logs() as logs:
            store.add_solution(solution("grains", GRAINS_TESTS, "grains " * 5000))
        assert store.stats().solutions == 0
        (logged,) = [entry for entry in logs if entry["event"] == "learning store not written"]
        assert "full" in logged["error"]


class TestBounds:
    def test_past_the_limit_the_least_useful_go_first(
        self, store: LearningStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(store_module, "MAX_SOLUTIONS", 2)
        store.add_solution(solution("grains", GRAINS_TESTS, "grains"))
        store.used(store.similar("grains")[0], green=True)
        store.add_solution(solution("pangram", PANGRAM_TESTS, "pangram"))
        store.add_solution(solution("scores", SCORES_TESTS, "scores"))
        kept = {found.requirement_id for found in store.similar("grains pangram scores latest square")}
        assert kept == {"grains", "scores"}  # pangram: never reused, and the oldest of those


class TestOnAndOff:
    def test_learning_off_creates_nothing(self, tmp_path: Path) -> None:
        with open_learning(False, {"XDG_DATA_HOME": str(tmp_path)}) as learning:
            assert learning is None
        assert list(tmp_path.iterdir()) == []

    def test_stats_of_a_busy_store_say_so_and_exit_1(
        self, learning_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setattr(store_module, "LOCK_TIMEOUT_S", 0.1)
        path = learning_home / "autodev" / STORE_NAME
        LearningStore(path).close()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            assert run_cli(["-C", str(learning_home), "learn", "stats"]) == 1
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert "the learning store cannot be read now" in capsys.readouterr().err
        assert run_cli(["-C", str(learning_home), "learn", "stats", "--json"]) == 0

    def test_forget_removes_the_store_and_what_was_moved_aside(self, tmp_path: Path) -> None:
        with open_learning(True, {"XDG_DATA_HOME": str(tmp_path)}) as learning:
            assert learning is not None
            learning.add_solution(solution("grains", GRAINS_TESTS, "grains"))
        directory = tmp_path / "autodev"
        (directory / f"{STORE_NAME}.corrupt-1").write_bytes(b"old")
        assert {path.name for path in forget(directory)} == {STORE_NAME, f"{STORE_NAME}.corrupt-1"}
        assert list(directory.iterdir()) == []
