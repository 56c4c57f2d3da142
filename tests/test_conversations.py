"""Conversations of `autodev ask`/`chat` as JSONL files (ASK-6): the store and `autodev conversations`."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from helpers import autodev
from structlog.testing import capture_logs

from autodev.ask.conversation import ConversationStore, Turn
from autodev.errors import UsageError

pytestmark = pytest.mark.req("ASK-6")

AT = "2026-12-03T04:16:12+00:00"


def question(text: str) -> Turn:
    return Turn(role="user", content=text, at=AT)


def answer(text: str, *, cost: float = 0.0012) -> Turn:
    return Turn(
        role="assistant", content=text, at=AT, model="gpt-4o-mini", input_tokens=400, output_tokens=12, cost_usd=cost
    )


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_conversation(directory: Path, conversation_id: str, prompt: str, *, mtime: float) -> Path:
    """A conversation file as the store writes it, with a chosen modification time (the "updated" of a listing)."""
    store = ConversationStore(directory)
    conversation = store.start().model_copy(
        update={"id": conversation_id, "path": directory / f"{conversation_id}.jsonl"}
    )
    conversation = store.append(conversation, question(prompt))
    store.append(conversation, answer("an answer"))
    os.utime(conversation.path, (mtime, mtime))
    return conversation.path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project (autodev.toml at its root, its own repository) whose conversations the CLI reads."""
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "autodev.toml").write_text("", encoding="utf-8")
    return root


@pytest.fixture
def store_dir(project: Path) -> Path:
    return project / ".autodev" / "conversations"


class TestConversationStore:
    def test_start_alone_writes_nothing_and_the_first_record_writes_started_then_the_record(
        self, tmp_path: Path
    ) -> None:
        """A conversation nobody asked anything in leaves no file; the first append writes two lines."""
        directory = tmp_path / "deep" / "conversations"
        store = ConversationStore(directory)
        conversation = store.start()
        assert not directory.exists()
        conversation = store.append(conversation, question("why?"))
        lines = records(conversation.path)
        assert [line["kind"] for line in lines] == ["started", "message"]
        assert lines[0] == {"kind": "started", "id": conversation.id, "at": conversation.started_at}
        assert lines[1]["content"] == "why?" and lines[1]["role"] == "user"

    def test_every_record_is_on_disk_as_one_line_as_soon_as_it_is_appended(self, tmp_path: Path) -> None:
        """Turns, files and the model choice each add one line; loading gives them all back."""
        store = ConversationStore(tmp_path)
        conversation = store.append(store.start(), question("what does temps.py do?"))
        conversation = store.append(conversation, answer("It converts temperatures."))
        assert len(records(conversation.path)) == 3
        conversation = store.set_files(conversation, ("temps.py", "README.md"))
        conversation = store.set_model(conversation, "gpt-4o-mini")
        assert [line["kind"] for line in records(conversation.path)] == [
            "started", "message", "message", "files", "model"
        ]  # fmt: skip
        loaded = store.load(conversation.id)
        assert loaded == conversation
        assert loaded.messages() == [
            {"role": "user", "content": "what does temps.py do?"},
            {"role": "assistant", "content": "It converts temperatures."},
        ]
        assert loaded.files == ("temps.py", "README.md") and loaded.model == "gpt-4o-mini"
        assert loaded.total_tokens == 412 and loaded.total_cost_usd == pytest.approx(0.0012)

    def test_the_file_is_readable_by_its_owner_only(self, tmp_path: Path) -> None:
        """0600: a conversation may hold private code."""
        store = ConversationStore(tmp_path)
        conversation = store.append(store.start(), question("secret code"))
        assert stat.S_IMODE(conversation.path.stat().st_mode) == 0o600

    def test_ids_sort_by_start_time_and_differ(self, tmp_path: Path) -> None:
        """``YYYYMMDD-HHMMSS-xxxx``: two conversations started in the same second still differ."""
        store = ConversationStore(tmp_path)
        ids = {store.start().id for _ in range(20)}
        assert len(ids) > 1
        for conversation_id in ids:
            day, time, random = conversation_id.split("-")
            assert len(day) == 8 and len(time) == 6 and len(random) == 4

    def test_load_takes_an_exact_id_or_a_unique_prefix(self, tmp_path: Path) -> None:
        write_conversation(tmp_path, "20261203-041612-3fa9", "first", mtime=1000)
        write_conversation(tmp_path, "20261203-041612-3fa", "exact", mtime=1000)
        write_conversation(tmp_path, "20261204-090000-0001", "other", mtime=1000)
        store = ConversationStore(tmp_path)
        assert store.load("20261203-041612-3fa").first_prompt() == "exact"  # exact wins over a longer match
        assert store.load("20261204").first_prompt() == "other"

    def test_an_unknown_ref_is_a_usage_error_pointing_to_the_list(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match=r"no conversation nope \(see `autodev conversations list`\)"):
            ConversationStore(tmp_path).load("nope")

    def test_an_ambiguous_prefix_is_a_usage_error_naming_the_candidates(self, tmp_path: Path) -> None:
        write_conversation(tmp_path, "20261203-041612-3fa9", "a", mtime=1000)
        write_conversation(tmp_path, "20261203-050000-0001", "b", mtime=1000)
        with pytest.raises(UsageError, match="20261203-041612-3fa9, 20261203-050000-0001"):
            ConversationStore(tmp_path).load("20261203")

    def test_a_damaged_last_line_is_skipped_with_a_warning_and_the_rest_loads(self, tmp_path: Path) -> None:
        """A crash in the middle of a write cuts the last line short: the turns before it survive."""
        path = write_conversation(tmp_path, "20261203-041612-3fa9", "kept", mtime=1000)
        with path.open("a", encoding="utf-8") as file:
            file.write('{"kind": "message", "role": "user", "cont')
        with capture_logs() as logs:
            loaded = ConversationStore(tmp_path).load("20261203-041612-3fa9")
        assert [turn.content for turn in loaded.turns] == ["kept", "an answer"]
        assert [(log["event"], log["line"], log["log_level"]) for log in logs] == [
            ("conversation_line_skipped", 4, "warning")
        ]

    def test_a_line_that_is_json_but_no_record_is_skipped_too(self, tmp_path: Path) -> None:
        path = write_conversation(tmp_path, "20261203-041612-3fa9", "kept", mtime=1000)
        with path.open("a", encoding="utf-8") as file:
            file.write('{"kind": "message", "role": "robot"}\n[1, 2]\n{"kind": "later"}\n')
        with capture_logs() as logs:
            loaded = ConversationStore(tmp_path).load("20261203")
        assert len(loaded.turns) == 2
        assert [log["line"] for log in logs] == [4, 5, 6]

    def test_a_file_without_its_started_record_loads_with_the_id_of_its_name(self, tmp_path: Path) -> None:
        """The first line lost too: the id comes from the file name, the start from the first turn."""
        path = write_conversation(tmp_path, "20261203-041612-3fa9", "kept", mtime=1000)
        path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[1:]) + "\n", encoding="utf-8")
        loaded = ConversationStore(tmp_path).load("20261203-041612-3fa9")
        assert loaded.id == "20261203-041612-3fa9" and loaded.started_at == AT and len(loaded.turns) == 2

    def test_summaries_and_last_are_the_most_recently_updated_first(self, tmp_path: Path) -> None:
        """Updated = the file's modification time (its last append), ties broken by id, newest first."""
        write_conversation(tmp_path, "20261201-000000-aaaa", "old, touched last", mtime=3000)
        write_conversation(tmp_path, "20261202-000000-bbbb", "tie, smaller id", mtime=2000)
        write_conversation(tmp_path, "20261203-000000-cccc", "tie, larger id", mtime=2000)
        store = ConversationStore(tmp_path)
        summaries = store.summaries()
        assert [summary.id for summary in summaries] == [
            "20261201-000000-aaaa", "20261203-000000-cccc", "20261202-000000-bbbb"
        ]  # fmt: skip
        assert summaries[0].turns == 2 and summaries[0].model == "gpt-4o-mini"
        assert summaries[0].first_prompt == "old, touched last" and summaries[0].cost_usd == pytest.approx(0.0012)
        last = store.last()
        assert last is not None and last.id == "20261201-000000-aaaa"

    def test_an_empty_or_missing_directory_has_no_conversations(self, tmp_path: Path) -> None:
        store = ConversationStore(tmp_path / "none")
        assert store.summaries() == [] and store.last() is None

    def test_remove_deletes_the_file_and_returns_the_id(self, tmp_path: Path) -> None:
        path = write_conversation(tmp_path, "20261203-041612-3fa9", "gone", mtime=1000)
        assert ConversationStore(tmp_path).remove("2026") == "20261203-041612-3fa9"
        assert not path.exists()

    def test_the_first_prompt_is_the_first_line_of_the_first_question_shortened(self, tmp_path: Path) -> None:
        store = ConversationStore(tmp_path)
        conversation = store.append(store.start(), question("\n  " + "x" * 100 + "\nsecond line"))
        assert conversation.first_prompt() == "x" * 59 + "…"


class TestConversationsCommand:
    def test_list_shows_one_line_per_conversation_newest_first(
        self, project: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_conversation(store_dir, "20261201-000000-aaaa", "older question", mtime=1000)
        write_conversation(store_dir, "20261202-000000-bbbb", "newer question", mtime=2000)
        capsys.readouterr()
        assert autodev(project, "conversations", "list") == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2
        assert lines[0].startswith("20261202-000000-bbbb") and lines[0].endswith("newer question")
        assert "2 turns" in lines[0] and "gpt-4o-mini" in lines[0] and "$0.0012" in lines[0]
        assert lines[1].startswith("20261201-000000-aaaa")

    def test_list_json_is_a_list_of_objects(
        self, project: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_conversation(store_dir, "20261201-000000-aaaa", "a question", mtime=1000)
        capsys.readouterr()
        assert autodev(project, "conversations", "list", "--json") == 0
        [entry] = json.loads(capsys.readouterr().out)
        assert entry["id"] == "20261201-000000-aaaa" and entry["turns"] == 2
        assert entry["first_prompt"] == "a question" and entry["model"] == "gpt-4o-mini"
        assert set(entry) == {"id", "started_at", "updated_at", "turns", "model", "first_prompt", "cost_usd"}

    def test_list_with_none_says_where_it_looked(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert autodev(project, "conversations", "list") == 0
        assert "no conversations in" in capsys.readouterr().out

    def test_show_prints_the_transcript_with_a_header_per_turn(
        self, project: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_conversation(store_dir, "20261203-041612-3fa9", "what is 2+2?", mtime=1000)
        capsys.readouterr()
        assert autodev(project, "conversations", "show", "20261203") == 0
        out = capsys.readouterr().out
        assert "── you · 2026-12-03 04:16\nwhat is 2+2?\n" in out
        assert "── gpt-4o-mini · 412 tokens · $0.0012\nan answer\n" in out

    def test_show_json_has_the_turns_and_the_files(
        self, project: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        store = ConversationStore(store_dir)
        conversation = store.append(store.start(), question("look"))
        store.set_files(conversation, ("temps.py",))
        capsys.readouterr()
        assert autodev(project, "conversations", "show", conversation.id, "--json") == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["id"] == conversation.id and shown["files"] == ["temps.py"]
        assert [turn["content"] for turn in shown["turns"]] == ["look"]

    def test_show_of_an_unknown_ref_exits_2(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert autodev(project, "conversations", "show", "nope") == 2
        assert "no conversation nope" in capsys.readouterr().err

    def test_rm_removes_the_named_conversations_and_says_which(
        self, project: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_conversation(store_dir, "20261201-000000-aaaa", "a", mtime=1000)
        write_conversation(store_dir, "20261202-000000-bbbb", "b", mtime=1000)
        write_conversation(store_dir, "20261203-000000-cccc", "c", mtime=1000)
        capsys.readouterr()
        assert autodev(project, "conversations", "rm", "20261201", "20261202-000000-bbbb") == 0
        assert capsys.readouterr().out.splitlines() == ["removed 20261201-000000-aaaa", "removed 20261202-000000-bbbb"]
        assert [path.name for path in store_dir.iterdir()] == ["20261203-000000-cccc.jsonl"]

    def test_rm_with_one_unknown_ref_removes_nothing(self, project: Path, store_dir: Path) -> None:
        path = write_conversation(store_dir, "20261201-000000-aaaa", "a", mtime=1000)
        assert autodev(project, "conversations", "rm", "20261201", "nope") == 2
        assert path.exists()

    def test_rm_all_json_lists_every_removed_id(
        self, project: Path, store_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_conversation(store_dir, "20261201-000000-aaaa", "a", mtime=1000)
        write_conversation(store_dir, "20261202-000000-bbbb", "b", mtime=2000)
        capsys.readouterr()
        assert autodev(project, "conversations", "rm", "--all", "--json") == 0
        assert json.loads(capsys.readouterr().out) == {"removed": ["20261202-000000-bbbb", "20261201-000000-aaaa"]}
        assert list(store_dir.iterdir()) == []

    @pytest.mark.parametrize("args", [(), ("--all", "20261201")], ids=["neither", "both"])
    def test_rm_needs_refs_or_all_but_not_both(self, project: Path, args: tuple[str, ...]) -> None:
        assert autodev(project, "conversations", "rm", *args) == 2

    def test_outside_a_project_the_conversations_are_in_the_users_data_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No autodev.toml upward: $XDG_DATA_HOME/autodev/conversations, where `ask` writes them from there."""
        data = tmp_path / "data"
        monkeypatch.setenv("XDG_DATA_HOME", str(data))
        elsewhere = tmp_path / "elsewhere"
        (elsewhere / ".git").mkdir(parents=True)
        write_conversation(data / "autodev" / "conversations", "20261201-000000-aaaa", "from anywhere", mtime=1000)
        capsys.readouterr()
        assert autodev(elsewhere, "conversations", "list", "--json") == 0
        assert [entry["id"] for entry in json.loads(capsys.readouterr().out)] == ["20261201-000000-aaaa"]
        assert autodev(elsewhere, "conversations", "rm", "2026") == 0
        assert list((data / "autodev" / "conversations").iterdir()) == []
