"""Tests the same up to names: the rename map is found only when every token lines up and the renaming is a
bijection, fixed API names refuse to move, and a stored solution renamed by the map really passes the new tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autodev.learn.rename import apply_renames, rename_map, renamed_path

pytestmark = pytest.mark.req("LEARN-3")

GRAINS_TEST = (Path(__file__).parent / "fixtures" / "exercism" / "grains" / "grains_test.py").read_text(
    encoding="utf-8"
)
WHEAT_TEST = '''"""The wheat board: how many grains lie on one square, and on all of them."""

# Written by hand; the module and its functions go by other names here.
import unittest

from wheat_board import (
  grains_on, board_total,
)


class WheatBoardTest(unittest.TestCase):
    """One grain on the first square, doubling on each next one."""

    def test_one_grain_on_the_first_square(self):
        """The board starts with a single grain."""
        self.assertEqual(grains_on(1), 1)

    def test_two_on_the_second(self):
        self.assertEqual(grains_on(2), 2)

    def test_four_on_the_third(self):
        self.assertEqual(grains_on(3), 4)

    def test_eight_on_the_fourth(self):
        self.assertEqual(grains_on(4), 8)

    def test_sixteenth(self):
        self.assertEqual(grains_on(16), 32768)

    def test_thirty_second(self):
        self.assertEqual(grains_on(32), 2147483648)

    def test_last_square(self):
        self.assertEqual(grains_on(64), 9223372036854775808)

    def test_zero_is_refused(self):
        """There is no square zero."""
        with self.assertRaises(ValueError) as err:
            grains_on(0)
        self.assertEqual(type(err.exception), ValueError)
        self.assertEqual(err.exception.args[0], "square must be between 1 and 64")

    def test_negative_is_refused(self):
        with self.assertRaises(ValueError) as err:
            grains_on(-1)
        self.assertEqual(type(err.exception), ValueError)
        self.assertEqual(err.exception.args[0], "square must be between 1 and 64")

    def test_past_the_board_is_refused(self):
        with self.assertRaises(ValueError) as err:
            grains_on(65)  # a chessboard has 64 squares
        self.assertEqual(type(err.exception), ValueError)
        self.assertEqual(err.exception.args[0], "square must be between 1 and 64")

    def test_whole_board(self):
        self.assertEqual(board_total(), 18446744073709551615)
'''
WHEAT_RENAMES = {
    "grains": "wheat_board", "square": "grains_on", "total": "board_total", "GrainsTest": "WheatBoardTest",
    "test_grains_on_square_1": "test_one_grain_on_the_first_square",
    "test_grains_on_square_2": "test_two_on_the_second",
    "test_grains_on_square_3": "test_four_on_the_third", "test_grains_on_square_4": "test_eight_on_the_fourth",
    "test_grains_on_square_16": "test_sixteenth", "test_grains_on_square_32": "test_thirty_second",
    "test_grains_on_square_64": "test_last_square", "test_square_0_is_invalid": "test_zero_is_refused",
    "test_negative_square_is_invalid": "test_negative_is_refused",
    "test_square_greater_than_64_is_invalid": "test_past_the_board_is_refused",
    "test_returns_the_total_number_of_grains_on_the_board": "test_whole_board",
}  # fmt: skip
SOLUTION = '''"""Grains on a chessboard: each square holds twice the grains of the one before."""

BOARD = 64  # squares on a chessboard


def square(number):
    # the first square holds one grain


    if not 1 <= number <= BOARD:
        raise ValueError("square must be between 1 and 64")
    return 2 ** (number - 1)


def total():
    return sum(square(number) for number in range(1, BOARD + 1))
'''
RENAMED_SOLUTION = '''"""Grains on a chessboard: each square holds twice the grains of the one before."""

BOARD = 64  # squares on a chessboard


def grains_on(number):
    # the first square holds one grain


    if not 1 <= number <= BOARD:
        raise ValueError("square must be between 1 and 64")
    return 2 ** (number - 1)


def board_total():
    return sum(grains_on(number) for number in range(1, BOARD + 1))
'''
SMALL = (
    "from grains import square, total\n\n\ndef test_square():\n    assert square(1) == 1 and len(str(total())) == 20\n"
)
UNITTEST = "import unittest\nfrom grains import square\n\n\nclass GrainsTest(unittest.TestCase):\n" \
           "    def test_one(self):\n        self.assertEqual(square(1), 1)\n"  # fmt: skip
FROM_UNITTEST = UNITTEST.replace("import unittest", "from unittest import TestCase").replace("unittest.", "")
PYTEST = "import pytest\nfrom grains import square\n\n\ndef test_zero(tmp_path):\n" \
         "    with pytest.raises(ValueError):\n        square(0)\n"  # fmt: skip


def run_pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


class TestRenameMap:
    def test_the_renamed_exercism_tests_give_exactly_the_module_function_class_and_test_renames(self) -> None:
        assert rename_map(GRAINS_TEST, WHEAT_TEST) == WHEAT_RENAMES

    def test_comments_docstrings_blank_lines_and_indentation_do_not_count(self) -> None:
        reformatted = '"""Module doc."""\n' + GRAINS_TEST.replace("    ", "  ").replace("\n\n", "\n# note\n\n")
        reformatted = reformatted.replace("(self):\n", '(self):\n    """Says what it checks."""\n')
        assert reformatted != GRAINS_TEST and rename_map(GRAINS_TEST, reformatted) == {}

    def test_a_string_that_is_not_a_docstring_must_be_equal(self) -> None:
        changed = GRAINS_TEST.replace('"square must be between 1 and 64"', '"no such square"', 1)
        assert rename_map(GRAINS_TEST, changed) is None

    @pytest.mark.parametrize(
        "new",
        [
            pytest.param(SMALL.replace("square, total", "a, total").replace("square(1)", "b(1)"), id="inconsistent"),
            pytest.param(SMALL.replace("square", "f").replace("total", "f"), id="two-names-to-one"),
            pytest.param(SMALL.replace("== 1", "== 2"), id="number-changed"),
            pytest.param(SMALL.replace("== 1", "!= 1"), id="operator-changed"),
            pytest.param(SMALL.replace(" and ", " or "), id="keyword-changed"),
            pytest.param(SMALL.replace("len(", "size("), id="builtin-renamed"),
            pytest.param(SMALL + "    assert square(2) == 2\n", id="one-more-line"),
            pytest.param(SMALL.replace("    assert", "    if True:\n        assert"), id="other-structure"),
            pytest.param(SMALL.replace("test_square()", "test_square(:"), id="not-python"),
        ],
    )
    def test_tests_that_do_not_line_up_give_no_map(self, new: str) -> None:
        assert rename_map(SMALL, new) is None

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            pytest.param(UNITTEST, UNITTEST.replace("assertEqual", "assertTrue"), id="self.assertEqual"),
            pytest.param(UNITTEST, UNITTEST.replace("unittest.TestCase", "unittest.Case"), id="unittest.TestCase"),
            pytest.param(FROM_UNITTEST, FROM_UNITTEST.replace("TestCase", "Case"), id="from-unittest-import"),
            pytest.param(PYTEST, PYTEST.replace("pytest.raises", "pytest.warns"), id="pytest.raises"),
            pytest.param(PYTEST, PYTEST.replace("tmp_path", "folder"), id="pytest-fixture"),
            pytest.param(PYTEST, PYTEST.replace("pytest", "check"), id="external-module"),
        ],
    )
    def test_names_of_python_and_test_framework_api_cannot_be_renamed(self, old: str, new: str) -> None:
        assert rename_map(old, new) is None

    def test_the_project_modules_own_names_can_be_renamed_beside_fixed_api(self) -> None:
        renamed = PYTEST.replace("grains", "wheat").replace("square", "grains_on").replace("test_zero", "test_none")
        assert rename_map(PYTEST, renamed) == {"grains": "wheat", "square": "grains_on", "test_zero": "test_none"}

    def test_attribute_names_follow_the_map_only_when_renamed_everywhere(self) -> None:
        old = "from buffer import Buffer\n\n\ndef test_size():\n    b = Buffer(3)\n    assert b.capacity == 3\n" \
              "    b.capacity = 4\n"  # fmt: skip
        consistent = old.replace("capacity", "size")
        assert rename_map(old, consistent) == {"capacity": "size"}
        assert rename_map(old, consistent.replace("b.size = 4", "b.capacity = 4")) is None


class TestApplyRenames:
    def test_the_def_and_its_calls_are_renamed_but_strings_comments_and_blank_lines_are_kept(self) -> None:
        assert apply_renames(SOLUTION, WHEAT_RENAMES) == RENAMED_SOLUTION

    def test_attributes_are_renamed_and_every_other_byte_is_kept(self) -> None:
        source = "x = self.capacity  \r\n\t# capacity\r\ny = f'capacity'\r\n"
        assert apply_renames(source, {"capacity": "size"}) == "x = self.size  \r\n\t# capacity\r\ny = f'capacity'\r\n"

    def test_text_that_is_not_python_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not Python"):
            apply_renames("# Grains\n\nThe square holds grains.\n", {"square": "grains_on"})

    def test_a_rename_that_breaks_the_syntax_is_refused(self) -> None:
        with pytest.raises(ValueError, match="no longer Python"):
            apply_renames("def square(n):\n    return n\n", {"square": "class"})

    def test_the_renamed_stored_tests_are_the_new_tests(self) -> None:
        assert rename_map(apply_renames(GRAINS_TEST, WHEAT_RENAMES), WHEAT_TEST) == {}

    def test_the_renamed_solution_passes_the_new_tests_where_the_original_fails(self, tmp_path: Path) -> None:
        renames = rename_map(GRAINS_TEST, WHEAT_TEST)
        assert renames is not None
        module = tmp_path / renamed_path("grains.py", renames)
        (tmp_path / "wheat_board_test.py").write_text(WHEAT_TEST, encoding="utf-8")
        module.write_text(apply_renames(SOLUTION, renames), encoding="utf-8")
        passed = run_pytest(tmp_path)
        assert module.name == "wheat_board.py"
        assert passed.returncode == 0 and "11 passed" in passed.stdout, passed.stdout
        module.write_text(SOLUTION, encoding="utf-8")
        assert run_pytest(tmp_path).returncode != 0


class TestApplyRenamesKeepsModuleApi:
    def test_an_installed_or_standard_modules_attributes_and_imports_keep_their_names(self) -> None:
        """complex-numbers' ``exp`` method renamed must not turn ``math.exp`` into ``math.exponential``."""
        source = "import math\nfrom itertools import combinations\n\n\nclass Complex:\n    def exp(self):\n" \
                 "        return math.exp(1), combinations([], 0)\n"  # fmt: skip
        renamed = apply_renames(source, {"exp": "exponential", "combinations": "combos", "Complex": "Pair"})
        assert "def exponential(self):" in renamed and "class Pair:" in renamed
        assert "math.exp(1)" in renamed and "combinations([], 0)" in renamed


class TestRenamedPath:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("grains.py", "wheat.py"),
            ("src/pkg/grains.py", "src/box/wheat.py"),
            ("pkg/__init__.py", "box/__init__.py"),
            ("stubs/grains.pyi", "stubs/wheat.pyi"),
            ("grains.txt", "grains.txt"),
            ("tests/grains_test.py", "tests/grains_test.py"),
            ("./docs//README.md", "./docs//README.md"),
        ],
    )
    def test_module_files_and_package_folders_follow_the_map(self, path: str, expected: str) -> None:
        assert renamed_path(path, {"grains": "wheat", "pkg": "box"}) == expected
