"""The ledger: saving and loading, surviving damage, diffing against the specs, rebuilding from git."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from helpers import git

from autodev import fileio
from autodev.ledger import (
    LEDGER_SCHEMA,
    Ledger,
    LedgerEntry,
    diff_ledger,
    load_ledger,
    rebuild_from_git,
    save_ledger,
)
from autodev.project import ProjectPaths
from autodev.spec.model import Requirement
from autodev.vcs.repo import GitRepo

pytestmark = pytest.mark.req("SPEC-2")


def requirement(requirement_id: str, content_hash: str = "h1") -> Requirement:
    return Requirement(
        id=requirement_id,
        title=f"title of {requirement_id}",
        text=f"## {requirement_id}\n",
        source="SPEC.md",
        line=3,
        content_hash=content_hash,
    )


def entry(requirement_id: str, content_hash: str = "h1", **changes: object) -> LedgerEntry:
    return LedgerEntry.model_validate({"id": requirement_id, "content_hash": content_hash, **changes})


def sample_ledger() -> Ledger:
    return Ledger(
        entries={
            "REQ-1": entry(
                "REQ-1",
                title="Convert",
                source="SPEC.md",
                line=5,
                tests=["tests/test_t.py::test_a"],
                status="satisfied",
                attempts=2,
                model="ollama/qwen",
                tier="tier1",
                cost_usd=0.0123,
                commit="a" * 40,
                reason="all linked tests pass",
            ),
            "REQ-2": entry("REQ-2", status="blocked", reason="uncommitted changes"),
        }
    )


def not_called() -> Ledger:
    raise AssertionError("rebuild must not be called")


def rebuilt() -> Ledger:
    return Ledger(entries={"REQ-9": entry("REQ-9")})


class TestSaveAndLoad:
    def test_round_trip(self, tmp_path: Path) -> None:
        """What is saved loads back equal, without a warning and without rebuilding."""
        path = tmp_path / ".autodev" / "ledger.json"
        save_ledger(path, sample_ledger())
        assert load_ledger(path, rebuild=not_called) == (sample_ledger(), None)

    def test_file_layout(self, tmp_path: Path) -> None:
        """The file is {"schema": 1, "requirements": {id: entry}} with every field."""
        path = tmp_path / "ledger.json"
        save_ledger(path, sample_ledger())
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["schema"] == LEDGER_SCHEMA == 1
        assert list(data["requirements"]) == ["REQ-1", "REQ-2"]
        assert set(data["requirements"]["REQ-1"]) == {
            "id",
            "title",
            "source",
            "line",
            "content_hash",
            "tests",
            "passing",
            "status",
            "attempts",
            "model",
            "tier",
            "cost_usd",
            "commit",
            "reason",
            "updated",
        }

    def test_missing_file_is_an_empty_ledger(self, tmp_path: Path) -> None:
        """A project never run has no ledger: empty, no warning, nothing rebuilt."""
        assert load_ledger(tmp_path / "ledger.json", rebuild=not_called) == (Ledger(), None)

    def test_failed_save_keeps_the_previous_ledger(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A write that fails (disk full) leaves the old ledger whole and no temporary file behind."""
        path = tmp_path / "ledger.json"
        save_ledger(path, sample_ledger())
        before = path.read_bytes()

        def disk_full(fd: int, data: bytes) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(fileio, "_write_all", disk_full)
        with pytest.raises(OSError, match="No space left"):
            save_ledger(path, Ledger())
        assert path.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]

    def test_updated_is_an_iso_time(self) -> None:
        """A new entry is stamped with the current UTC time in ISO 8601."""
        assert entry("REQ-1").updated.endswith("+00:00")


class TestDamagedLedger:
    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (b"{not json", "not valid JSON"),
            (b"\xff\xfe", "not valid JSON"),
            (b"[]", "not a JSON object"),
            (b'{"schema": 2, "requirements": {}}', "schema 2"),
            (b'{"schema": "1", "requirements": {}}', "schema '1'"),
            (b'{"schema": true, "requirements": {}}', "schema True"),
            (b'{"requirements": {}}', "schema None"),
            (b'{"schema": 1, "requirements": {"REQ-1": {"id": "REQ-1", "status": "bogus"}}}', "damaged"),
            (b'{"schema": 1, "requirements": {"REQ-1": {"id": "REQ-2"}}}', "damaged"),
        ],
    )
    def test_moved_aside_and_rebuilt(self, tmp_path: Path, content: bytes, problem: str) -> None:
        """Unparsable JSON, another schema or invalid entries: the file is kept aside and the ledger rebuilt."""
        path = tmp_path / "ledger.json"
        path.write_bytes(content)
        ledger, warning = load_ledger(path, rebuild=rebuilt)
        assert ledger == rebuilt()
        assert warning is not None
        assert problem in warning
        assert not path.exists()
        (aside,) = tmp_path.glob("ledger.json.corrupt-*")
        assert aside.read_bytes() == content
        assert aside.name in warning

    def test_unreadable_path_is_moved_aside(self, tmp_path: Path) -> None:
        """Something unreadable where the ledger belongs (a directory) is moved aside too."""
        path = tmp_path / "ledger.json"
        path.mkdir()
        ledger, warning = load_ledger(path, rebuild=rebuilt)
        assert ledger == rebuilt()
        assert warning is not None
        assert "cannot be read" in warning
        assert len(list(tmp_path.glob("ledger.json.corrupt-*"))) == 1

    def test_second_corruption_does_not_overwrite_the_first(self, tmp_path: Path) -> None:
        """Two damaged ledgers within the same second are both kept."""
        path = tmp_path / "ledger.json"
        for content in (b"first", b"second"):
            path.write_bytes(content)
            load_ledger(path, rebuild=rebuilt)
        kept = sorted(p.read_bytes() for p in tmp_path.glob("ledger.json.corrupt-*"))
        assert kept == [b"first", b"second"]

    def test_newer_fields_are_ignored(self, tmp_path: Path) -> None:
        """A field a newer autodev added does not make the ledger corrupt."""
        path = tmp_path / "ledger.json"
        path.write_text(json.dumps({"schema": 1, "requirements": {"REQ-1": {"id": "REQ-1", "new": 1}}}))
        ledger, warning = load_ledger(path, rebuild=not_called)
        assert warning is None
        assert ledger.entries["REQ-1"].status == "pending"


class TestDiffLedger:
    def test_classifies_added_changed_removed_unchanged(self) -> None:
        """New IDs are added, a different hash is changed, IDs gone from the specs are removed."""
        ledger = Ledger(entries={key: entry(key) for key in ("REQ-1", "REQ-2", "REQ-3")})
        requirements = [requirement("REQ-4"), requirement("REQ-2", "h2"), requirement("REQ-1")]
        diff = diff_ledger(ledger, requirements)
        assert diff.added == ["REQ-4"]
        assert diff.changed == ["REQ-2"]
        assert diff.removed == ["REQ-3"]
        assert diff.unchanged == ["REQ-1"]

    def test_spec_order(self) -> None:
        """Lists follow the order of the specs, not of the ledger."""
        ledger = Ledger(entries={key: entry(key) for key in ("REQ-1", "REQ-2", "REQ-3")})
        diff = diff_ledger(ledger, [requirement("REQ-3"), requirement("REQ-1"), requirement("REQ-2")])
        assert diff.unchanged == ["REQ-3", "REQ-1", "REQ-2"]

    def test_already_removed_is_not_removed_again(self) -> None:
        """An entry marked removed is history, not news."""
        ledger = Ledger(entries={"REQ-1": entry("REQ-1", status="removed")})
        assert diff_ledger(ledger, []).removed == []

    def test_removed_requirement_that_returns_is_added(self) -> None:
        """A requirement back in the specs after being removed is new work again, even with the same text."""
        ledger = Ledger(entries={"REQ-1": entry("REQ-1", status="removed")})
        diff = diff_ledger(ledger, [requirement("REQ-1")])
        assert diff.added == ["REQ-1"]
        assert diff.unchanged == []

    def test_empty_ledger_adds_everything(self) -> None:
        """The first run sees every requirement as added."""
        assert diff_ledger(Ledger(), [requirement("A-1"), requirement("A-2")]).added == ["A-1", "A-2"]


class TestRebuildFromGit:
    def commit(self, repo: Path, name: str, requirement_id: str, model: str) -> str:
        (repo / name).write_text(f"# {requirement_id} by {model}\n", encoding="utf-8")
        trailers = {"Autodev-Requirement": requirement_id, "Autodev-Model": model}
        return GitRepo(repo).commit_paths([name], f"autodev: {requirement_id}", trailers)

    def test_newest_commit_per_requirement(self, repo: Path) -> None:
        """Each requirement gets its newest autodev commit and model, its current hash, and status pending."""
        self.commit(repo, "a.py", "REQ-1", "ollama/small")
        (repo / "user.txt").write_text("by hand\n", encoding="utf-8")
        git(repo, "add", "user.txt")
        git(repo, "commit", "-q", "-m", "user work")
        second = self.commit(repo, "b.py", "REQ-2", "anthropic/claude")
        newest = self.commit(repo, "a.py", "REQ-1", "openai/gpt")
        ledger = rebuild_from_git(repo, [requirement("REQ-1", "x1"), requirement("REQ-2", "x2"), requirement("REQ-3")])
        one, two, three = (ledger.entries[key] for key in ("REQ-1", "REQ-2", "REQ-3"))
        assert (one.commit, one.model, one.content_hash, one.status) == (newest, "openai/gpt", "x1", "pending")
        assert (two.commit, two.model, two.content_hash) == (second, "anthropic/claude", "x2")
        assert (three.commit, three.model, three.content_hash, three.status) == (None, None, "", "pending")
        assert one.title == "title of REQ-1"
        assert one.line == 3

    def test_rebuilt_ledger_diffs_as_unchanged(self, repo: Path) -> None:
        """After a rebuild, committed requirements are not redone; uncommitted ones are work."""
        self.commit(repo, "a.py", "REQ-1", "m")
        requirements = [requirement("REQ-1"), requirement("REQ-2")]
        diff = diff_ledger(rebuild_from_git(repo, requirements), requirements)
        assert diff.unchanged == ["REQ-1"]
        assert diff.changed == ["REQ-2"]

    def test_repository_without_commits(self, repo: Path) -> None:
        """A repository with no commits yet rebuilds to all-pending entries without commits."""
        ledger = rebuild_from_git(repo, [requirement("REQ-1")])
        assert ledger.entries["REQ-1"].commit is None

    def test_not_a_repository(self, tmp_path: Path) -> None:
        """Outside git there is no history to read, which is not an error."""
        ledger = rebuild_from_git(tmp_path, [requirement("REQ-1")])
        assert ledger.entries["REQ-1"].content_hash == ""


class TestProjectPaths:
    def test_ledger_file_is_in_the_state_dir(self, tmp_path: Path) -> None:
        """The ledger lives at .autodev/ledger.json."""
        assert ProjectPaths(root=tmp_path).ledger_file == tmp_path / ".autodev" / "ledger.json"
