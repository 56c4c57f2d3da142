"""The prompt: stable prefix first, the last failure last, nothing the model does not need."""

from __future__ import annotations

import pytest

from autodev.spec.model import Requirement
from autodev.synth.context import LONG_FILE_LINES, Feedback, SourceFile, build_messages, fence

pytestmark = pytest.mark.req("CORE-1")

REQUIREMENT = Requirement(
    id="SPEC.md", title="Temps", text="# Temps\nConvert.", source="SPEC.md", content_hash="0" * 64
)
TESTS = [SourceFile(path="tests/test_temps.py", content="from temps import to_kelvin\n")]


class TestBuildMessages:
    def test_first_attempt_has_spec_tests_and_files(self) -> None:
        """The first prompt shows the tests, the spec and the current target files, and ends with the task.

        The tests come first so that the block just before the instruction is the file to write (a small model
        copies the last block it read); the model is asked to explain before it writes (benchmarks/results/
        solve-rate/: a format-only ending took its reasoning away)."""
        targets = [SourceFile(path="temps.py", content="def to_kelvin(c):\n    pass\n")]
        messages = build_messages(REQUIREMENT, TESTS, targets)
        assert [m["role"] for m in messages] == ["system", "user"]
        user = messages[1]["content"]
        assert (
            user.index("The tests in tests/test_temps.py") < user.index("SPEC.md:") < user.index("The current temps.py")
        )
        assert "from temps import to_kelvin" in user
        assert "def to_kelvin(c):" in user
        assert user.endswith(
            "Send the whole temps.py: the path on one line, then the complete file in one fenced code block. "
            "First explain in a few sentences how the code must work. Write temps.py so that all the tests pass."
        )
        assert "nothing else" not in user and "No explanations" not in messages[0]["content"]
        assert "\n# " not in user.replace("# Temps", "")  # no headings a small model could echo into a file

    def test_retry_keeps_the_prefix_and_appends_the_failure(self) -> None:
        """A retry's messages start with exactly the first attempt's messages (llama.cpp prefix reuse)."""
        targets = [SourceFile(path="temps.py", content=None)]
        first = build_messages(REQUIREMENT, TESTS, targets)
        retry = build_messages(REQUIREMENT, TESTS, targets, Feedback(reply="old reply", failure="assert 1 == 2"))
        assert retry[:2] == first
        assert retry[2] == {"role": "assistant", "content": "old reply"}
        assert "assert 1 == 2" in retry[3]["content"]

    def test_without_explain_the_instruction_asks_for_the_files_only(self) -> None:
        """``[synthesis] explain_first = false``: the same prompt without the request to explain first."""
        targets = [SourceFile(path="temps.py", content=None)]
        user = build_messages(REQUIREMENT, TESTS, targets, explain=False)[1]["content"]
        assert user.endswith("the complete file in one fenced code block. Write temps.py so that all the tests pass.")
        assert "explain" not in user

    def test_missing_target_is_to_be_created(self) -> None:
        """A target that does not exist yet is described as such, not shown as an empty block."""
        messages = build_messages(REQUIREMENT, TESTS, [SourceFile(path="temps.py", content=None)])
        assert "temps.py does not exist yet." in messages[1]["content"]

    def test_no_targets_asks_model_to_name_files(self) -> None:
        """With no known target, the model is asked to choose the paths (no extra call)."""
        messages = build_messages(REQUIREMENT, TESTS, [])
        assert "choose the file paths from the tests' imports" in messages[1]["content"]

    def test_another_model_gets_the_failure_but_not_the_failed_reply(self) -> None:
        """On escalation the failed reply is left out (small models repeat it) and the failure precedes the task."""
        targets = [SourceFile(path="temps.py", content=None)]
        feedback = Feedback(reply="junk reply", failure="ImportError: cannot import name", model="tiny")
        messages = build_messages(REQUIREMENT, TESTS, targets, feedback, show_reply=False)
        assert [m["role"] for m in messages] == ["system", "user"]
        user = messages[1]["content"]
        assert "junk reply" not in user
        assert user.index("ImportError: cannot import name") < user.index("Send the whole temps.py")

    def test_search_replace_help_only_for_long_files(self) -> None:
        """The SEARCH/REPLACE instructions cost tokens, so they appear only when a target file is long."""
        short = build_messages(REQUIREMENT, TESTS, [SourceFile(path="a.py", content="x = 1\n")])
        long_text = "x = 1\n" * (LONG_FILE_LINES + 1)
        long = build_messages(REQUIREMENT, TESTS, [SourceFile(path="a.py", content=long_text)])
        assert "SEARCH" not in short[0]["content"]
        assert "<<<<<<< SEARCH" in long[0]["content"]


class TestFence:
    def test_fence_outgrows_backticks_inside(self) -> None:
        """Content with a ``` run gets a longer fence so the block cannot end early."""
        block = fence('s = "```"\n', "python")
        assert block.startswith("````python\n")
        assert block.endswith("\n````")
