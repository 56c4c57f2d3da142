"""Test code pasted into a solution module is removed, the rest kept byte for byte (synth/strip_tests.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, run_pass, setup_example, temperature_runner

from autodev.errors import EditRejectedError
from autodev.synth.reply import parse_reply
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

    def test_a_self_test_function_and_its_call_are_removed(self) -> None:
        """What the 0.5B model wrote for roman-numerals: ``def test_roman(): ...`` then ``test_roman()``; with the
        function gone the call would fail the import with a NameError."""
        pasted = SOLUTION + "\ndef test_it():\n    assert is_pangram('abc') is False\n\n# Run the tests\ntest_it()\n"
        code, removed = without_test_code(pasted)
        assert code == SOLUTION + "\n\n# Run the tests\n"
        assert removed == ["test_it", "call on line 8"]

    def test_module_level_asserts_on_the_module_s_own_code_are_removed(self) -> None:
        """What the 1.5B model wrote for bob: the solution, then asserts on its function at module level (one of
        them wrong, so the module failed to import). An assert on anything else is the module's own business."""
        pasted = (
            "import sys\nassert sys.version_info >= (3,)\n" + SOLUTION
            + "assert is_pangram('abc') == True\nassert not is_pangram(str(1))\n"
        )  # fmt: skip
        code, removed = without_test_code(pasted)
        assert code == "import sys\nassert sys.version_info >= (3,)\n" + SOLUTION
        assert removed == ["assert on line 5", "assert on line 6"]

    @pytest.mark.parametrize(
        "code",
        [
            SOLUTION,
            SOLUTION + "print(is_pangram('abc'))\nhelper = is_pangram('x')\n",  # no test: left to the tests to judge
            "def test_helper(x):\n    return x\n\ntest_helper(1)\n",  # nothing would be left
            "class Tester:\n    def run(self):\n        return 1\n",  # a class named like a test, with no tests
            "def test_helper(x):\n    return x\n",  # nothing would be left: the module is not ours to empty
            "def broken(:\n    pass\nclass T(unittest.TestCase):\n    pass\n",  # does not parse: left alone
        ],
    )
    def test_anything_else_is_left_alone(self, code: str) -> None:
        assert without_test_code(code) == (code, [])


class TestCutOffInPastedTests:
    def test_a_block_cut_off_inside_pasted_tests_keeps_the_code_before_them(self) -> None:
        """The 0.5B on allergies: solution, "# Test the class", a unittest class, then max_tokens: the code is used."""
        reply = (
            "Here is the implementation:\n\n```python\n" + SOLUTION + "\n# Test the class\n"
            "class PangramTest(unittest.TestCase):\n    def test_empty(self):\n        self.assertIs(is_pan"
        )
        [edit] = parse_reply(reply, ["pangram.py"])
        assert (edit.path, edit.content) == ("pangram.py", SOLUTION + "\n# Test the class\n")

    @pytest.mark.parametrize(
        "reply",
        [
            "```python\ndef is_pangram(sentence):\n    return set(",  # cut inside the code itself
            "```python\nimport unittest\nclass PangramTest(unittest.TestCase):\n    def test_a(self):\n",  # only tests
            "```python\ndef is_pangram(s):\n    return (\nclass PangramTest(unittest.TestCase):\n",  # code broken
        ],
    )
    def test_a_block_cut_off_anywhere_else_is_still_rejected(self, reply: str) -> None:
        with pytest.raises(EditRejectedError, match="probably cut off"):
            parse_reply(reply, ["pangram.py"])


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
