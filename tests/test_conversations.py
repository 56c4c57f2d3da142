"""Conversations of `autodev ask`/`chat` (ASK-6): the JSONL store and `autodev conversations list|show|rm`."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from autodev.ask.conversation import ConversationStore, Turn
from autodev.errors import UsageError
from tests.helpers import autodev

pytestmark = pytest.mark.req("ASK-6")


def question(content: str) -> Turn:
    return Turn(role="user", content=content, at="2026-12-03T04:16:00+00:00")


def answer(content: str, *, cost: float = 0.0012, tokens: int = 412) -> Turn:
    return Turn(
        role="assistant",
        content=content,
        at="2026-12-03T04:16:05+00:00",
        model="qwen",
        input_tokens=tokens - 12,
        output_tokens=12,
        cost_usd=cost,
    )


def kept(store: ConversationStore, *turns: Turn, conversation_id: str | None = None) -> str:
    """A conversation with ``turns`` written to ``store``; its id (``conversation_id`` overrides the new one)."""
    conversation = store.start()
    if conversation_id is not None:
        conversation = conversation.model_copy(
            update={"id": conversation_id, "path": store.directory / f"{conversation_id}.jsonl"}
        )
    for turn in turns:
        conversation = store.append(conversation, turn)
    return conversation.id


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestConversationStore:
    def test_start_alone_writes_nothing(self, tmp_path: Path) -> None:
        """A conversation that never got a record leaves no file and no directory behind."""
        store = ConversationStore(tmp_path / "conversations")
        store.start()
        assert not store.directory.exists()

    def test_first_append_writes_started_then_the_record_one_line_each(self, tmp_path: Path) -> None:
        """The file holds a "started" record first, then one line per record, in the order they were made."""
        store = ConversationStore(tmp_path / "conversations")
        conversation = store.start()
        conversation = store.append(conversation, question("What does main do?"))
        conversation = store.set_files(conversation, ("src/app.py",))
        conversation = store.set_model(conversation, "qwen")
        store.append(conversation, answer("It starts the app."))
        lines = records(conversation.path)
        assert [line["kind"] for line in lines] == ["started", "message", "files", "model", "message"]
        assert lines[0] == {"kind": "started", "id": conversation.id, "at": conversation.started_at}
        assert lines[2] == {"kind": "files", "paths": ["src/app.py"]}

    def test_loaded_conversation_equals_what_was_written(self, tmp_path: Path) -> None:
        """Turns, files and the chosen model come back from the file exactly."""
        store = ConversationStore(tmp_path)
        conversation = store.append(store.start(), question("Why?"))
        conversation = store.set_files(conversation, ("a.py", "b.py"))
        conversation = store.set_model(conversation, "gpt-4o-mini")
        conversation = store.append(conversation, answer("Because."))
        loaded = store.load(conversation.id)
        assert loaded == conversation
        assert loaded.messages() == [
            {"role": "user", "content": "Why?"},
            {"role": "assistant", "content": "Because."},
        ]

    def test_file_is_private_to_the_user(self, tmp_path: Path) -> None:
        """Conversations may hold private code: the file is created with mode 0600."""
        store = ConversationStore(tmp_path / "conversations")
        conversation = store.append(store.start(), question("secret"))
        assert stat.S_IMODE(os.stat(conversation.path).st_mode) == 0o600

    def test_ids_are_unique_and_sort_by_start_time(self, tmp_path: Path) -> None:
        """Ids are the UTC time then random hex: many started in one second still differ."""
        store = ConversationStore(tmp_path)
        ids = [store.start().id for _ in range(50)]
        assert len(set(ids)) == len(ids)
        assert all(len(conversation_id.split("-")) == 3 for conversation_id in ids)

    def test_load_by_unique_prefix(self, tmp_path: Path) -> None:
        """A unique start of an id names the conversation."""
        store = ConversationStore(tmp_path)
        kept(store, question("one"), conversation_id="20261203-041612-3fa9")
        kept(store, question("two"), conversation_id="20261204-000000-0000")
        assert store.load("20261203").id == "20261203-041612-3fa9"

    def test_unknown_ref_is_a_usage_error_pointing_to_the_list(self, tmp_path: Path) -> None:
        """No match: the error names the ref and `autodev conversations list`."""
        store = ConversationStore(tmp_path)
        with pytest.raises(UsageError, match=r"no conversation nope.*autodev conversations list"):
            store.load("nope")

    def test_ambiguous_prefix_lists_the_candidates(self, tmp_path: Path) -> None:
        """A prefix of several ids is refused with all of them named."""
        store = ConversationStore(tmp_path)
        kept(store, question("one"), conversation_id="20261203-041612-3fa9")
        kept(store, question("two"), conversation_id="20261203-050000-0000")
        with pytest.raises(UsageError, match="20261203-041612-3fa9, 20261203-050000-0000"):
            store.load("20261203")

    def test_damaged_last_line_is_skipped_with_a_warning(self, tmp_path: Path) -> None:
        """A line cut short by a crash is skipped with a warning; the turns before it load."""
        store = ConversationStore(tmp_path)
        conversation = store.append(store.start(), question("first"))
        store.append(conversation, answer("kept"))
        with conversation.path.open("a", encoding="utf-8") as file:
            file.write('{"kind": "message", "role": "user", "cont')
        with capture_logs() as logs:
            loaded = store.load(conversation.id)
        assert [turn.content for turn in loaded.turns] == ["first", "kept"]
        assert [log["event"] for log in logs if log["log_level"] == "warning"] == ["conversation_line_skipped"]

    def test_invalid_record_is_skipped_and_the_rest_loads(self, tmp_path: Path) -> None:
        """Valid JSON that is no record autodev writes (unknown kind, wrong fields) is skipped too."""
        store = ConversationStore(tmp_path)
        conversation = store.append(store.start(), question("first"))
        with conversation.path.open("a", encoding="utf-8") as file:
            file.write('{"kind": "message", "role": "robot", "content": "x", "at": "now"}\n[1, 2]\n')
        store.append(conversation, answer("after"))
        with capture_logs() as logs:
            loaded = store.load(conversation.id)
        assert [turn.content for turn in loaded.turns] == ["first", "after"]
        assert len([log for log in logs if log["log_level"] == "warning"]) == 2

    def test_file_without_started_record_loads_with_the_id_of_its_name(self, tmp_path: Path) -> None:
        """The id comes from the file name when the "started" line is lost."""
        path = tmp_path / "20261203-041612-3fa9.jsonl"
        line = {"kind": "message", **question("orphan").model_dump()}
        path.write_text("garbage\n" + json.dumps(line) + "\n", encoding="utf-8")
        with capture_logs():
            loaded = ConversationStore(tmp_path).load("20261203")
        assert loaded.id == "20261203-041612-3fa9"
        assert loaded.started_at == "2026-12-03T04:16:00+00:00"
        assert [turn.content for turn in loaded.turns] == ["orphan"]

    def test_last_and_summaries_are_by_latest_update(self, tmp_path: Path) -> None:
        """The conversation appended to last comes first, whatever its id."""
        store = ConversationStore(tmp_path)
        older = kept(store, question("older"), conversation_id="20261203-000000-aaaa")
        newer = kept(store, question("newer"), conversation_id="20261203-000000-bbbb")
        os.utime(store.directory / f"{newer}.jsonl", (1_000_000, 1_000_000))
        assert [summary.id for summary in store.summaries()] == [older, newer]
        last = store.last()
        assert last is not None
        assert last.id == older

    def test_last_is_none_without_conversations(self, tmp_path: Path) -> None:
        """No directory yet: no last conversation and an empty list."""
        store = ConversationStore(tmp_path / "missing")
        assert store.last() is None
        assert store.summaries() == []

    def test_summary_has_turns_cost_model_and_first_prompt(self, tmp_path: Path) -> None:
        """A summary counts the turns and their cost and shows the first line of the first question."""
        store = ConversationStore(tmp_path)
        kept(store, question("\nExplain the parser\nin detail"), answer("ok", cost=0.5))
        (summary,) = store.summaries()
        assert (summary.turns, summary.cost_usd, summary.model) == (2, 0.5, "qwen")
        assert summary.first_prompt == "Explain the parser"

    def test_remove_deletes_the_file(self, tmp_path: Path) -> None:
        """Removing by prefix deletes exactly that conversation's file and returns its id."""
        store = ConversationStore(tmp_path)
        gone = kept(store, question("a"), conversation_id="20261203-000000-aaaa")
        stays = kept(store, question("b"), conversation_id="20261204-000000-bbbb")
        assert store.remove("20261203") == gone
        assert [summary.id for summary in store.summaries()] == [stays]


class TestConversationsCommand:
    @pytest.fixture
    def project(self, repo: Path) -> Path:
        (repo / "autodev.toml").write_text("", encoding="utf-8")
        return repo

    @pytest.fixture
    def store(self, project: Path) -> ConversationStore:
        return ConversationStore(project / ".autodev" / "conversations")

    def test_list_shows_each_conversation(
        self, project: Path, store: ConversationStore, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`list` prints one line per conversation: id, turns, model, cost and the first prompt."""
        conversation_id = kept(store, question("How is the config read?"), answer("With tomllib."))
        capsys.readouterr()
        assert autodev(project, "conversations", "list") == 0
        out = capsys.readouterr().out
        assert conversation_id in out
        assert "How is the config read?" in out
        assert "qwen" in out
        assert "0.0012" in out

    def test_list_json_is_a_list_of_objects(
        self, project: Path, store: ConversationStore, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`list --json` prints every summary as an object, newest first."""
        conversation_id = kept(store, question("q"), answer("a"))
        capsys.readouterr()
        assert autodev(project, "conversations", "list", "--json") == 0
        (listed,) = json.loads(capsys.readouterr().out)
        assert listed["id"] == conversation_id
        assert listed["turns"] == 2
        assert listed["first_prompt"] == "q"

    def test_show_prints_the_transcript_with_headers(
        self, project: Path, store: ConversationStore, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`show REF` prints each turn under a header: who, and for answers the tokens and the cost."""
        conversation_id = kept(store, question("What is 2+2?"), answer("4"))
        capsys.readouterr()
        assert autodev(project, "conversations", "show", conversation_id[:15]) == 0
        out = capsys.readouterr().out
        assert "── you" in out
        assert "2026-12-03 04:16" in out
        assert "── qwen" in out
        assert "412 tokens" in out
        assert "$0.0012" in out
        assert out.index("What is 2+2?") < out.index("── qwen")

    def test_show_json_has_the_turns_and_files(
        self, project: Path, store: ConversationStore, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`show --json` prints the conversation's turns and files."""
        conversation = store.append(store.start(), question("q"))
        store.set_files(conversation, ("app.py",))
        capsys.readouterr()
        assert autodev(project, "conversations", "show", conversation.id, "--json") == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["files"] == ["app.py"]
        assert [turn["content"] for turn in shown["turns"]] == ["q"]

    def test_unknown_ref_exits_2(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A ref that names no conversation is a usage error: exit code 2, and the message says so."""
        assert autodev(project, "conversations", "show", "nope") == 2
        assert "no conversation nope" in capsys.readouterr().err

    def test_rm_removes_and_says_what(
        self, project: Path, store: ConversationStore, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`rm REF` deletes the conversation and prints its id."""
        gone = kept(store, question("a"), conversation_id="20261203-000000-aaaa")
        stays = kept(store, question("b"), conversation_id="20261204-000000-bbbb")
        capsys.readouterr()
        assert autodev(project, "conversations", "rm", "20261203") == 0
        assert gone in capsys.readouterr().out
        assert [summary.id for summary in store.summaries()] == [stays]

    def test_rm_all_json_lists_the_removed(
        self, project: Path, store: ConversationStore, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`rm --all --json` removes every conversation and lists their ids."""
        ids = {kept(store, question("a")), kept(store, question("b"))}
        capsys.readouterr()
        assert autodev(project, "conversations", "rm", "--all", "--json") == 0
        assert set(json.loads(capsys.readouterr().out)["removed"]) == ids
        assert store.summaries() == []

    def test_outside_a_project_the_user_data_directory_is_used(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a project, conversations are read from $XDG_DATA_HOME/autodev/conversations."""
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        store = ConversationStore(tmp_path / "data" / "autodev" / "conversations")
        conversation_id = kept(store, question("from anywhere"))
        capsys.readouterr()
        assert autodev(elsewhere, "conversations", "list", "--json") == 0
        assert [listed["id"] for listed in json.loads(capsys.readouterr().out)] == [conversation_id]
