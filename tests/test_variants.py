"""benchmarks/variants.py: a renamed, paraphrased copy of an exercise set that still loads, runs and passes."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path
from types import ModuleType

import pytest

from autodev.bench.exercise import Exercise, build_project, find_exercises, load_exercise

pytestmark = pytest.mark.req("LEARN-6")

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "variants.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exercism"
NAMES = ("grains", "pangram", "reverse-string")

COUNTER_TESTS = """import math
import unittest

from counter import (
    RunningTotal,
)


class CounterTest(unittest.TestCase):
    def test_add_sums(self):
        self.assertEqual(RunningTotal().add(2).add(3).total, 5)

    def test_exp_of_the_total(self):
        self.assertEqual(RunningTotal().add(1).exp(), math.exp(1))

    def test_the_message_is_kept(self):
        # a comment that stays
        with self.assertRaises(ValueError) as err:
            RunningTotal().add(-1)
        self.assertEqual(err.exception.args[0], "add a total of at least 0")
"""
COUNTER_EXAMPLE = '''import math


class RunningTotal:
    """A RunningTotal that only grows: see add."""

    def __init__(self):
        self.total = 0

    def add(self, number):
        if number < 0:
            raise ValueError("add a total of at least 0")
        self.total += number
        return self

    def exp(self):
        return math.exp(self.total)
'''
COUNTER_STUB = "class RunningTotal:\n    def __init__(self):\n        pass\n"
COUNTER_DOCS = (
    "# Instructions\n\nGiven numbers, keep a `RunningTotal`: `add` each one, and return the `exp` of the total.\n"
)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("variants", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["variants"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


variants = _load_script()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The variants of the fixture set, written once for the tests that only read them."""
    out = tmp_path_factory.mktemp("variants")
    assert variants.main([str(FIXTURES), str(out)]) == 0
    return out


def variant_of(root: Path, name: str) -> Exercise:
    return load_exercise(root / f"{name}-variant")


def counter_exercise(root: Path) -> Path:
    """A small class-based exercise: a method and an attribute the tests use, and ``math.exp`` beside ``exp``."""
    directory = root / "counter"
    (directory / ".meta").mkdir(parents=True)
    (directory / ".docs").mkdir()
    files = {"solution": ["counter.py"], "test": ["counter_test.py"], "example": [".meta/example.py"]}
    (directory / ".meta" / "config.json").write_text(json.dumps({"files": files}, indent=2) + "\n")
    (directory / ".meta" / "example.py").write_text(COUNTER_EXAMPLE)
    (directory / "counter.py").write_text(COUNTER_STUB)
    (directory / "counter_test.py").write_text(COUNTER_TESTS)
    (directory / ".docs" / "instructions.md").write_text(COUNTER_DOCS)
    return directory


def run_example(exercise: Exercise, root: Path) -> subprocess.CompletedProcess[str]:
    """The exercise laid out as the bench lays it out, the example over the stub, its tests run by pytest."""
    build_project(exercise, root)
    for name, text in exercise.reference_files().items():
        (root / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def defined_names(source: str) -> set[str]:
    return {
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }


def strings_and_comments(source: str) -> list[str]:
    kinds = {tokenize.STRING, tokenize.COMMENT}
    return [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type in kinds]


def docs_text(exercise: Exercise) -> str:
    return "\n".join((exercise.directory / doc).read_text(encoding="utf-8") for doc in exercise.docs)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


class TestCommandLine:
    def test_writes_one_loadable_variant_per_exercise_and_prints_a_line_each(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each exercise becomes <name>-variant, loaded by the bench's loader; one line each, then a summary."""
        assert variants.main([str(FIXTURES), str(tmp_path)]) == 0
        exercises, skipped = find_exercises(tmp_path)
        assert [exercise.name for exercise in exercises] == [f"{name}-variant" for name in NAMES]
        assert skipped == []
        lines = capsys.readouterr().out.splitlines()
        assert [line.split(" ")[0] for line in lines[:-1]] == list(NAMES)
        assert lines[-1] == f"3 variant(s) written to {tmp_path}, 0 skipped"

    def test_only_limits_the_exercises_written(self, tmp_path: Path) -> None:
        """--only grains writes the grains variant and nothing else."""
        assert variants.main([str(FIXTURES), str(tmp_path), "--only", "grains"]) == 0
        assert sorted(path.name for path in tmp_path.iterdir() if path.is_dir()) == ["grains-variant"]

    def test_a_missing_source_exits_2_with_a_message(self, tmp_path: Path) -> None:
        """Run as a script, a SRC_DIR that does not exist is a usage error naming it, and nothing is written."""
        missing = tmp_path / "nowhere"
        done = subprocess.run(
            [sys.executable, str(SCRIPT), str(missing), str(tmp_path / "out")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert f"{missing} does not exist" in done.stderr
        assert not (tmp_path / "out").exists()

    def test_running_twice_gives_byte_identical_output(self, tmp_path: Path) -> None:
        """No model, no clock, no randomness: the same set gives the same files, byte for byte."""
        assert variants.main([str(FIXTURES), str(tmp_path / "a")]) == 0
        assert variants.main([str(FIXTURES), str(tmp_path / "b")]) == 0
        first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
        assert first == second
        assert "grains-variant/grains_kit.py" in first


class TestRenaming:
    @pytest.mark.parametrize("name", NAMES)
    def test_module_and_test_file_are_renamed_and_the_config_names_them(self, generated: Path, name: str) -> None:
        """The solution module gets a new name, the test file follows it, and the old files are gone."""
        original, variant = load_exercise(FIXTURES / name), variant_of(generated, name)
        (module,) = variant.solution
        assert module != original.solution[0]
        assert variant.tests == [module.removesuffix(".py") + "_test.py"]
        assert not (variant.directory / original.solution[0]).exists()
        assert f"from {module.removesuffix('.py')} import" in (variant.directory / variant.tests[0]).read_text()

    @pytest.mark.parametrize("name", NAMES)
    def test_functions_classes_and_test_names_all_differ_from_the_original(self, generated: Path, name: str) -> None:
        """No function, class, test function or test class keeps its name, in the stub, the tests or the example."""
        original, variant = load_exercise(FIXTURES / name), variant_of(generated, name)
        for old, new in ((original.stub, variant.stub), (original.reference, variant.reference)):
            assert defined_names(old) and not defined_names(old) & defined_names(new)
        old_tests = defined_names((original.directory / original.tests[0]).read_text())
        new_tests = defined_names((variant.directory / variant.tests[0]).read_text())
        assert len(old_tests) == len(new_tests) and not old_tests & new_tests
        assert all(test.startswith("test_") for test in new_tests if not test[0].isupper())

    @pytest.mark.parametrize("name", NAMES)
    def test_strings_and_comments_of_the_tests_are_kept(self, generated: Path, name: str) -> None:
        """Renaming goes token by token: the messages the tests compare and the comments stay as they were."""
        original, variant = load_exercise(FIXTURES / name), variant_of(generated, name)
        old = (original.directory / original.tests[0]).read_text()
        new = (variant.directory / variant.tests[0]).read_text()
        assert strings_and_comments(old) == strings_and_comments(new)
        assert len(old.splitlines()) == len(new.splitlines())

    def test_methods_and_attributes_the_tests_use_are_renamed_but_not_a_modules_api(self, tmp_path: Path) -> None:
        """``add`` and ``total`` are renamed everywhere; ``math.exp`` stays although the class's ``exp`` is renamed."""
        counter_exercise(tmp_path / "src")
        assert variants.main([str(tmp_path / "src"), str(tmp_path / "out")]) == 0
        variant = variant_of(tmp_path / "out", "counter")
        tests = (variant.directory / variant.tests[0]).read_text()
        for old in (".add(", ".total", ".exp()", "RunningTotal("):
            assert old not in tests and old not in variant.reference
        assert "math.exp(1)" in tests and "math.exp(self." in variant.reference
        assert "RunningTotal" not in variant.reference  # the docstring follows the class
        assert '"add a total of at least 0"' in tests and '"add a total of at least 0"' in variant.reference

    def test_the_variant_tests_equal_the_original_modulo_renaming(self, generated: Path) -> None:
        """What makes a rename-aware reuse possible: the learning store's own matcher finds the rename map."""
        from autodev.learn.rename import rename_map

        original, variant = load_exercise(FIXTURES / "grains"), variant_of(generated, "grains")
        found = rename_map(
            (original.directory / original.tests[0]).read_text(), (variant.directory / variant.tests[0]).read_text()
        )
        assert found is not None
        assert found["grains"] == "grains_kit" and found["square"] != "square"


class TestParaphrase:
    @pytest.mark.parametrize("name", NAMES)
    def test_the_description_differs_from_the_original(self, generated: Path, name: str) -> None:
        """Every exercise's docs are reworded; the same files are there."""
        original, variant = load_exercise(FIXTURES / name), variant_of(generated, name)
        assert variant.docs == original.docs
        assert docs_text(variant) != docs_text(original)

    def test_the_description_names_the_renamed_functions(self, tmp_path: Path) -> None:
        """A function the docs name in code is named by its new name, the same one the stub defines."""
        shutil.copytree(FIXTURES / "grains", tmp_path / "src" / "grains")
        instructions = tmp_path / "src" / "grains" / ".docs" / "instructions.md"
        instructions.write_text(instructions.read_text() + "\nImplement `square(number)` and `total()`.\n")
        assert variants.main([str(tmp_path / "src"), str(tmp_path / "out")]) == 0
        variant = variant_of(tmp_path / "out", "grains")
        text = docs_text(variant)
        new_names = defined_names(variant.stub)
        assert len(new_names) == 2 and all(f"`{name}(" in text for name in new_names)
        assert "`square(" not in text and "`total(" not in text

    def test_code_samples_keep_their_strings_and_links_keep_their_targets(self, generated: Path) -> None:
        """The error message quoted in a code sample still matches the tests', and no URL is reworded."""
        original, variant = load_exercise(FIXTURES / "grains"), variant_of(generated, "grains")
        old, new = docs_text(original), docs_text(variant)
        assert 'raise ValueError("square must be between 1 and 64")' in new
        assert re.findall(r"\]\(([^)]*)\)", old) == re.findall(r"\]\(([^)]*)\)", new)

    def test_phrases_are_reworded_outside_inline_code(self) -> None:
        """The phrase table rewrites prose; inline code is code, renamed only by the name map."""
        plan = variants.RenamePlan(api={"is_pangram": "is_full_alphabet"}, modules={}, tests={})
        text = "Write code that checks `return is_pangram(x)`; return True for is_pangram.\n"
        assert variants.paraphrase(text, plan) == (
            "Implement code which checks `return is_full_alphabet(x)`; give back True for is_full_alphabet.\n"
        )


class TestExamplesPass:
    @pytest.mark.parametrize("name", NAMES)
    def test_the_variant_example_passes_the_variant_tests(self, generated: Path, tmp_path: Path, name: str) -> None:
        """Really run: the renamed example over the renamed stub, the renamed tests under tests/, all passing."""
        variant = variant_of(generated, name)
        count = sum(1 for test in defined_names((variant.directory / variant.tests[0]).read_text()) if test[0] == "t")
        done = run_example(variant, tmp_path / "project")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{count} passed" in done.stdout

    def test_the_class_exercise_variant_passes_its_tests(self, tmp_path: Path) -> None:
        """Renamed methods and attributes, and the module API left alone, still give a passing example."""
        counter_exercise(tmp_path / "src")
        assert variants.main([str(tmp_path / "src"), str(tmp_path / "out")]) == 0
        done = run_example(variant_of(tmp_path / "out", "counter"), tmp_path / "project")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "3 passed" in done.stdout
