"""Replies no model should send but some do: decoded and made safe at the client's boundary, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import RIGHT, git, run_json, setup_example

from autodev.llm.client import Completion
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("CORE-3")


class TestLoneSurrogates:
    def test_a_lone_surrogate_becomes_the_replacement_character_at_the_boundary(self) -> None:
        completion = Completion(text="a\ud800b", model="m", input_tokens=1, output_tokens=1, cost_usd=0, duration_s=0)
        assert completion.text == "a\ufffdb"
        completion.text.encode("utf-8")  # writable anywhere

    def test_a_pass_whose_reply_holds_one_commits_and_caches_without_a_traceback(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """JSON may carry "\\ud800"; LiteLLM decodes it to a lone surrogate, which once crashed the response cache."""
        setup_example(repo, server.url, stub=True)
        server.push(RIGHT.replace("def to_celsius", "# note \ud800\ndef to_celsius", 1))
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert "\ufffd" in (repo / "temps.py").read_text(encoding="utf-8")
        entries = list((repo / ".autodev" / "cache").glob("*/*.json"))
        assert entries and all(
            "\ufffd" in json.loads(entry.read_text(encoding="utf-8"))["completion"]["text"] for entry in entries
        )
        assert git(repo, "status", "--porcelain").strip() == ""
