"""The on-disk response cache: exact-match keys, replay marked as cached and free, never fatal on bad disks."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from autodev import fileio
from autodev.llm.cache import ResponseCache, request_key
from autodev.llm.client import Completion
from autodev.llm.models import ResolvedModel

pytestmark = pytest.mark.req("ROUTE-2")

HELLO = [{"role": "user", "content": "Say hello."}]
KEY = "ab" + "0" * 62


def model(**fields: object) -> ResolvedModel:
    return ResolvedModel.model_validate(
        {"name": "m", "litellm_model": "openai/m", "api_base": "http://127.0.0.1:8000/v1", **fields}
    )


def completion(text: str = "hello", **fields: object) -> Completion:
    values: dict[str, object] = {
        "text": text,
        "model": "openai/m",
        "input_tokens": 100,
        "output_tokens": 10,
        "cost_usd": 0.25,
        "duration_s": 3.5,
        "finish_reason": "stop",
    }
    values.update(fields)
    return Completion.model_validate(values)


class TestRequestKey:
    def test_same_request_same_key(self) -> None:
        """Equal models and messages give the same sha256 hex key, whatever the dict order of a message."""
        reordered = [{"content": "Say hello.", "role": "user"}]
        key = request_key(model(), HELLO)
        assert key == request_key(model(), reordered)
        assert len(key) == 64
        assert all(char in "0123456789abcdef" for char in key)

    @pytest.mark.parametrize(
        "changed",
        [
            {"temperature": 0.7},
            {"seed": 42},
            {"max_tokens": 256},
            {"litellm_model": "openai/other"},
            {"api_base": "http://127.0.0.1:9000/v1"},
        ],
    )
    def test_anything_that_shapes_the_answer_changes_the_key(self, changed: dict[str, object]) -> None:
        """Temperature, seed, max_tokens, the LiteLLM model and api_base are all part of the key."""
        assert request_key(model(**changed), HELLO) != request_key(model(), HELLO)

    def test_other_messages_change_the_key(self) -> None:
        """A different prompt is a different request."""
        assert request_key(model(), [{"role": "user", "content": "Say bye."}]) != request_key(model(), HELLO)

    def test_key_and_timeout_do_not_change_the_key(self) -> None:
        """A rotated API key, a longer timeout or another configured name do not turn a hit into a miss."""
        other = model(api_key="sk-other", timeout_s=5.0, name="renamed")
        assert request_key(other, HELLO) == request_key(model(api_key="sk-one"), HELLO)


class TestResponseCache:
    def test_miss_on_empty_cache(self, tmp_path: Path) -> None:
        """Nothing stored means None, and no directory is needed for that."""
        assert ResponseCache(tmp_path / "cache").get(KEY) is None

    def test_replay_is_cached_and_free_but_keeps_tokens(self, tmp_path: Path) -> None:
        """A stored completion comes back marked cached, with zero cost and duration and the original tokens."""
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion())
        hit = cache.get(KEY)
        assert hit is not None
        assert hit.cached
        assert (hit.cost_usd, hit.duration_s) == (0.0, 0.0)
        assert (hit.text, hit.input_tokens, hit.output_tokens, hit.finish_reason) == ("hello", 100, 10, "stop")

    def test_file_layout_and_schema(self, tmp_path: Path) -> None:
        """Entries live at key[:2]/key.json as {"schema": 1, "completion": {...}} with the real cost kept on disk."""
        ResponseCache(tmp_path).put(KEY, completion())
        document = json.loads((tmp_path / "ab" / f"{KEY}.json").read_text(encoding="utf-8"))
        assert document["schema"] == 1
        assert document["completion"]["text"] == "hello"
        assert document["completion"]["cost_usd"] == 0.25
        assert document["completion"]["cached"] is False

    def test_later_put_replaces_earlier(self, tmp_path: Path) -> None:
        """Writing the same key again replaces the entry whole."""
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion("first"))
        cache.put(KEY, completion("second"))
        hit = cache.get(KEY)
        assert hit is not None
        assert hit.text == "second"

    def test_empty_reply_is_not_stored(self, tmp_path: Path) -> None:
        """An empty reply is not worth replaying: the next call should ask the model again."""
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion(""))
        assert cache.get(KEY) is None
        assert not (tmp_path / "ab").exists()

    def test_truncated_reply_is_stored(self, tmp_path: Path) -> None:
        """A reply cut at max_tokens is still the model's answer to that exact request, so it is replayed."""
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion("partial", finish_reason="length"))
        hit = cache.get(KEY)
        assert hit is not None
        assert hit.finish_reason == "length"

    @pytest.mark.parametrize(
        "content",
        [
            b"{not json",
            b"\xff\xfe binary",
            b"[1, 2]",
            json.dumps({"schema": 99, "completion": {}}).encode(),
            json.dumps({"schema": 1, "completion": {"text": "no other fields"}}).encode(),
        ],
        ids=["bad-json", "not-utf8", "not-an-object", "wrong-schema", "invalid-completion"],
    )
    def test_corrupt_entry_is_a_miss_and_moved_aside(self, tmp_path: Path, content: bytes) -> None:
        """A damaged or foreign file is a miss, kept as *.corrupt for inspection, and a new put works again."""
        cache = ResponseCache(tmp_path)
        path = tmp_path / "ab" / f"{KEY}.json"
        path.parent.mkdir()
        path.write_bytes(content)
        assert cache.get(KEY) is None
        assert not path.exists()
        assert (tmp_path / "ab" / f"{KEY}.json.corrupt").read_bytes() == content
        cache.put(KEY, completion())
        assert cache.get(KEY) is not None

    def test_failed_write_is_swallowed_and_leaves_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A full disk during put is not an error and leaves neither a temp file nor a partial entry."""

        def disk_full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(fileio.os, "fsync", disk_full)  # the write goes through atomic_write
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion())
        assert os.listdir(tmp_path / "ab") == []
        assert cache.get(KEY) is None

    def test_unusable_directory_is_swallowed(self, tmp_path: Path) -> None:
        """A cache directory that cannot be created (a file is in the way) makes put a no-op and get a miss."""
        blocker = tmp_path / "cache"
        blocker.write_text("not a directory", encoding="utf-8")
        cache = ResponseCache(blocker)
        cache.put(KEY, completion())
        assert cache.get(KEY) is None
        assert blocker.read_text(encoding="utf-8") == "not a directory"

    def test_forget_removes_an_entry_and_never_fails(self, tmp_path: Path) -> None:
        """A forgotten entry is a miss; forgetting a missing key or under an unusable directory raises nothing."""
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion())
        cache.forget(KEY)
        assert cache.get(KEY) is None
        cache.forget(KEY)
        blocker = tmp_path / "blocked"
        blocker.write_text("not a directory", encoding="utf-8")
        ResponseCache(blocker).forget(KEY)
        assert blocker.read_text(encoding="utf-8") == "not a directory"

    def test_a_hit_carries_its_key_and_the_entry_does_not(self, tmp_path: Path) -> None:
        """The replay knows its key (so it can be forgotten); the stored JSON holds no key of its own."""
        cache = ResponseCache(tmp_path)
        cache.put(KEY, completion(cache_key="elsewhere"))
        hit = cache.get(KEY)
        assert hit is not None
        assert hit.cache_key == KEY
        assert "cache_key" not in json.loads(cache.path_for(KEY).read_text(encoding="utf-8"))["completion"]
