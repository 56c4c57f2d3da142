"""Test code pasted into a solution module is removed, the rest kept byte for byte (synth/strip_tests.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, run_pass, setup_example, temperature_runner

from autodev.synth.strip_tests import without_test_code
from autodev.testing import FunctionClient

pytestmark = pytest.mark.req("CORE-3")

SOLUTION = 'def is_pangram(sentence):\n    return set("abcdefghijklmnopqrstuvwxyz") <= set(sentence.lower())\n'


class TestWithoutTestCode:
    def test_a_pasted_unittest_class_and_main_block_are_removed(self) -> None:
        """What the 0.5B model wrote for pangram: the solution, then the test class and unittest.main()."""
        pasted = (
            SOLUTION
            + "\n# Test cases\nclass PangramTest(unittest.TestCase):\n    def test_empty_sentence(self):\n"
            + '        self.assertIs(is_pangram(""), False)\n\n'
            + 'if __name__ == "__main__":\n    unittest.main()\n'
        )
        code, removed = without_test_code(pasted)
        assert code == SOLUTION + "\n# Test cases\n"
        assert removed == ["PangramTest", "__main__ block"]

    def test_pytest_functions_and_an_unused_unittest_import_go_too(self) -> None:
        """``test_`` functions (decorated ones with their decorators) and the import only they used."""
        pasted = "import unittest\n" + SOLUTION + "\n\n@pytest.mark.x\ndef test_it():\n    assert is_pangram('')\n"
        code, removed = without_test_code(pasted)
        assert code == SOLUTION
        assert removed == ["test_it"]

    @pytest.mark.parametrize(
        "code",
        [
            SOLUTION,
            "class Tester:\n    def run(self):\n        return 1\n",  # a class named like a test, with no tests
            "def test_helper(x):\n    return x\n",  # nothing would be left: the module is not ours to empty
            "def broken(:\n    pass\nclass T(unittest.TestCase):\n    pass\n",  # does not parse: left alone
        ],
    )
    def test_anything_else_is_left_alone(self, code: str) -> None:
        assert without_test_code(code) == (code, [])


class TestInAPass:
    def test_a_solution_with_the_tests_pasted_under_it_is_committed_without_them(self, repo: Path) -> None:
        """The pasted class would fail the import (``unittest`` is not imported): removed, the pass is green."""
        setup_example(repo, NO_SERVER, stub=True)
        pasted = "class TempsTest(unittest.TestCase):\n    def test_kelvin(self):\n        pass\n"
        code, fence, after = RIGHT.rpartition("```")  # the pasted class goes inside the block, before its end
        reply = code + "\n\n" + pasted + fence + after
        result = run_pass(repo, FunctionClient.replying(reply), test_runner=temperature_runner())
        assert result.status == "satisfied"
        committed = (repo / "temps.py").read_text(encoding="utf-8")
        assert "TempsTest" not in committed and "def to_kelvin" in committed
