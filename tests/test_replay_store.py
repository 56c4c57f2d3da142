"""Tier 0: verified changes stored under a key of everything the model was shown, replayed when nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.core.verified import SCHEMA, VerifiedChange, VerifiedStore, keyed_files, state_key

pytestmark = pytest.mark.req("ROUTE-1")

REQUIREMENT = "R1: add(a, b) returns the sum of a and b."
FILES: dict[str, str | None] = {"tests/test_calc.py": "def test_add():\n    assert add(1, 2) == 3\n", "calc.py": None}
COMMAND = "python -m pytest"


class TestVerifiedStore:
    def test_a_stored_change_reads_back_equal(self, tmp_path: Path) -> None:
        """put then get returns the model and the files, creating the store's directory on the way."""
        store = VerifiedStore(tmp_path / ".autodev" / "verified")
        key = state_key(REQUIREMENT, FILES, COMMAND)
        store.put(key, "small", {"calc.py": "def add(a, b):\n    return a + b\n", "pkg/ünï.py": "X = 'é'\n"})
        entry = store.get(key)
        assert entry == VerifiedChange(
            model="small", changes={"calc.py": "def add(a, b):\n    return a + b\n", "pkg/ünï.py": "X = 'é'\n"}
        )
        assert entry.schema_version == SCHEMA

    def test_an_unknown_key_is_a_miss(self, tmp_path: Path) -> None:
        """A key never stored, even in a store that does not exist yet, is None and not an error."""
        assert VerifiedStore(tmp_path / "missing").get("0" * 64) is None

    def test_a_later_put_replaces_the_entry_and_leaves_no_temporary_file(self, tmp_path: Path) -> None:
        """The newest verified change wins; the atomic write leaves only the entry itself behind."""
        store = VerifiedStore(tmp_path)
        store.put("k", "small", {"a.py": "A = 1\n"})
        store.put("k", "big", {"a.py": "A = 2\n"})
        assert store.get("k") == VerifiedChange(model="big", changes={"a.py": "A = 2\n"})
        assert [path.name for path in tmp_path.iterdir()] == ["k.json"]

    def test_a_corrupt_entry_is_a_miss_and_is_removed(self, tmp_path: Path) -> None:
        """Torn JSON reads as a miss and the file goes, so the next verified pass can store a good one."""
        store = VerifiedStore(tmp_path)
        (tmp_path / "k.json").write_bytes(b'{"schema_version": 1, "model": "sm')
        assert store.get("k") is None
        assert not (tmp_path / "k.json").exists()

    def test_an_entry_of_the_wrong_shape_is_a_miss_and_is_removed(self, tmp_path: Path) -> None:
        """Valid JSON that is not a VerifiedChange (a foreign field, a list) is treated like torn JSON."""
        store = VerifiedStore(tmp_path)
        (tmp_path / "a.json").write_text('{"model": "m", "changes": {}, "surprise": 1}')
        (tmp_path / "b.json").write_text("[1, 2]")
        assert store.get("a") is None
        assert store.get("b") is None
        assert list(tmp_path.iterdir()) == []

    def test_a_store_that_cannot_be_written_is_silent(self, tmp_path: Path) -> None:
        """A failed write only loses the shortcut: put does not raise and leaves nothing behind."""
        blocker = tmp_path / "verified"
        blocker.write_text("a file where the directory should be")
        VerifiedStore(blocker).put("k", "small", {"a.py": "A = 1\n"})
        assert [path.name for path in tmp_path.iterdir()] == ["verified"]
        assert blocker.read_text() == "a file where the directory should be"

    def test_a_store_path_that_is_a_file_is_a_miss_not_an_error(self, tmp_path: Path) -> None:
        """A broken store (its directory replaced by a file) costs the shortcut, never the pass."""
        blocker = tmp_path / "verified"
        blocker.write_text("not a directory", encoding="utf-8")
        assert VerifiedStore(blocker).get("ab" * 32) is None


class TestStateKey:
    def test_the_same_state_gives_the_same_key_whatever_the_file_order(self) -> None:
        """The key is a sha256 hex digest that does not depend on the order the files were listed in."""
        key = state_key(REQUIREMENT, FILES, COMMAND)
        reordered = dict(reversed(list(FILES.items())))
        assert key == state_key(REQUIREMENT, reordered, COMMAND)
        assert len(key) == 64
        assert int(key, 16) >= 0

    def test_any_change_to_what_the_model_was_shown_changes_the_key(self) -> None:
        """Requirement text, any file's content or presence, an added file and the test command all count."""
        base = state_key(REQUIREMENT, FILES, COMMAND)
        variants = [
            state_key(REQUIREMENT + " Also negatives.", FILES, COMMAND),
            state_key(
                REQUIREMENT, {**FILES, "tests/test_calc.py": "def test_add():\n    assert add(1, 2) == 4\n"}, COMMAND
            ),
            state_key(REQUIREMENT, {**FILES, "calc.py": ""}, COMMAND),
            state_key(REQUIREMENT, {**FILES, "calc.py": "def add(a, b):\n    return 0\n"}, COMMAND),
            state_key(REQUIREMENT, {**FILES, "tests/conftest.py": None}, COMMAND),
            state_key(REQUIREMENT, {"tests/test_calc.py": FILES["tests/test_calc.py"]}, COMMAND),
            state_key(REQUIREMENT, FILES, "python -m pytest -x"),
        ]
        assert base not in variants
        assert len(set(variants)) == len(variants)

    def test_a_file_moved_to_another_path_changes_the_key(self) -> None:
        """The same content under another name is another state."""
        moved = {"tests/test_sum.py": FILES["tests/test_calc.py"], "calc.py": None}
        assert state_key(REQUIREMENT, moved, COMMAND) != state_key(REQUIREMENT, FILES, COMMAND)


class TestKeyedFiles:
    def test_present_files_give_their_text_and_absent_ones_none(self, tmp_path: Path) -> None:
        """A missing file and a directory in its place both read as None, as state_key expects."""
        (tmp_path / "calc.py").write_text("X = 1\n")
        (tmp_path / "pkg").mkdir()
        assert keyed_files(tmp_path, ["calc.py", "gone.py", "pkg"]) == {
            "calc.py": "X = 1\n",
            "gone.py": None,
            "pkg": None,
        }

    def test_a_file_edit_changes_the_key_built_from_it(self, tmp_path: Path) -> None:
        """Reading the tree again after an edit gives a different key: a stale replay is never found."""
        (tmp_path / "calc.py").write_text("X = 1\n")
        before = state_key(REQUIREMENT, keyed_files(tmp_path, ["calc.py"]), COMMAND)
        (tmp_path / "calc.py").write_text("X = 2\n")
        assert state_key(REQUIREMENT, keyed_files(tmp_path, ["calc.py"]), COMMAND) != before
