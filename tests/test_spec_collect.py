"""Collecting tests through a real pytest subprocess, and reading test files pytest cannot import."""

from __future__ import annotations

import stat
import sys
import textwrap
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from autodev.errors import TestRunError
from autodev.spec.collect import collect_argv, collect_tests, static_tests
from autodev.spec.model import TestItem
from autodev.spec.pytest_plugin import comments_in, ids_in

pytestmark = pytest.mark.req("SPEC-2")

PYTEST = [sys.executable, "-m", "pytest"]

TEMPS_TESTS = '''\
import pytest

from temps import to_kelvin
from pkg import mod


@pytest.mark.req("REQ-1", "REQ-2")
@pytest.mark.req("REQ-3")
def test_marked():
    assert to_kelvin(0) == 273.15


def test_documented():
    """Freezing point, as REQ-4 asks."""
    note = "# REQ-9 is in a string, not a comment"
    assert note  # checks REQ-5


@pytest.mark.parametrize("value", [1, 2])
def test_parametrized(value):
    assert mod.double(value) == 2 * value


class TestGroup:
    pytestmark = pytest.mark.req("REQ-6")

    def test_in_class(self):
        # REQ-7 too
        assert True
'''


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def by_id(items: list[TestItem]) -> dict[str, TestItem]:
    return {item.nodeid: item for item in items}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose pytest runs with --strict-markers, with the code under test already written."""
    root = tmp_path / "project"
    write(
        root,
        {
            "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "--strict-markers"\ntestpaths = ["tests"]\n',
            "temps.py": "def to_kelvin(c):\n    return c + 273.15\n",
            "pkg/__init__.py": "",
            "pkg/mod.py": "def double(x):\n    return 2 * x\n",
            "tests/test_temps.py": TEMPS_TESTS,
        },
    )
    return root


class TestCollectTests:
    def test_reads_markers_docstrings_comments_and_imports(self, project: Path, tmp_path: Path) -> None:
        """Each test carries its req marker IDs, the IDs its docstring and comments mention, and its file's imports."""
        items = by_id(collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=60))
        marked = items["tests/test_temps.py::test_marked"]
        assert set(marked.marked) == {"REQ-1", "REQ-2", "REQ-3"}
        assert marked.file == "tests/test_temps.py"
        assert {"temps", "pkg", "pkg.mod", "pytest"} <= set(marked.imports)
        assert items["tests/test_temps.py::test_documented"].mentioned == ("REQ-4", "REQ-5")
        in_class = items["tests/test_temps.py::TestGroup::test_in_class"]
        assert in_class.marked == ("REQ-6",)
        assert in_class.mentioned == ("REQ-7",)

    def test_a_test_has_the_line_pytest_gives_it_collected_or_read(self, project: Path, tmp_path: Path) -> None:
        """Collected by pytest or read from the source, a test is at its first decorator's line (where spec check
        points), so both ways agree."""
        collected = by_id(collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=60))
        read = by_id(static_tests(project, "tests/test_temps.py"))
        assert collected["tests/test_temps.py::test_marked"].line == 7
        assert read["tests/test_temps.py::test_marked"].line == 7
        assert (
            collected["tests/test_temps.py::TestGroup::test_in_class"].line
            == read["tests/test_temps.py::TestGroup::test_in_class"].line
        )

    def test_strict_markers_project_accepts_req(self, project: Path, tmp_path: Path) -> None:
        """With --strict-markers the req marker is registered, so pytest itself collects the file (parametrized ids)."""
        with capture_logs() as logs:
            items = by_id(collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=60))
        assert "tests/test_temps.py::test_parametrized[1]" in items
        assert "tests/test_temps.py::test_parametrized[2]" in items
        assert [entry for entry in logs if entry["log_level"] == "warning"] == []

    def test_syntax_error_file_is_reported_not_fatal(self, project: Path, tmp_path: Path) -> None:
        """A test file with a syntax error yields no tests and a warning; the other files are still collected."""
        write(project, {"tests/test_broken.py": "def test_broken(:\n    pass\n"})
        with capture_logs() as logs:
            items = by_id(collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=60))
        assert "tests/test_temps.py::test_marked" in items
        assert not any(item.file == "tests/test_broken.py" for item in items.values())
        warnings = [entry for entry in logs if entry["log_level"] == "warning"]
        assert [entry["path"] for entry in warnings] == ["tests/test_broken.py"]
        assert "SyntaxError" in warnings[0]["error"]

    def test_tests_of_unwritten_module_come_from_the_source(self, project: Path, tmp_path: Path) -> None:
        """Tests importing a module not written yet fail to import, so they are read from the file instead."""
        write(
            project,
            {
                "tests/test_stack.py": '''\
                    import pytest
                    from stack import Stack

                    @pytest.mark.req("REQ-8")
                    def test_push():
                        """See REQ-10."""
                        assert Stack().push(1) is None
                    '''
            },
        )
        with capture_logs() as logs:
            items = by_id(collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=60))
        push = items["tests/test_stack.py::test_push"]
        assert push.marked == ("REQ-8",)
        assert push.mentioned == ("REQ-10",)
        assert "stack" in push.imports
        assert any("No module named 'stack'" in entry.get("error", "") for entry in logs)

    def test_broken_conftest_falls_back_to_reading_every_file(self, project: Path, tmp_path: Path) -> None:
        """When pytest stops before collecting (a conftest that fails), every test file is read from source."""
        write(project, {"conftest.py": "raise RuntimeError('conftest is broken')\n"})
        with capture_logs() as logs:
            items = by_id(collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=60))
        assert "tests/test_temps.py::test_marked" in items
        assert "tests/test_temps.py::test_parametrized" in items  # the base node id: nothing ran to expand it
        assert any(entry["log_level"] == "warning" for entry in logs)

    def test_timeout_falls_back_to_reading_files(self, project: Path, tmp_path: Path) -> None:
        """A collection that hangs is killed at the timeout and the files are read instead."""
        write(project, {"conftest.py": "import time\ntime.sleep(60)\n"})
        with capture_logs() as logs:
            items = collect_tests(project, PYTEST, scratch_dir=tmp_path / "scratch", timeout_s=1.5)
        assert "tests/test_temps.py::test_marked" in by_id(items)
        assert any(entry.get("timed_out") for entry in logs)

    def test_without_pytest_raises_test_run_error(self, project: Path, tmp_path: Path) -> None:
        """An interpreter without pytest (here: site-packages switched off) is a clear TestRunError."""
        with pytest.raises(TestRunError, match="pytest is not installed"):
            collect_tests(project, [sys.executable, "-S", "-m", "pytest"], scratch_dir=tmp_path / "s", timeout_s=60)

    def test_another_interpreter_gets_a_copy_of_the_plugin(self, project: Path, tmp_path: Path) -> None:
        """An interpreter other than autodev's loads the plugin from a copy put on PYTHONPATH, and collects with it."""
        wrapper = tmp_path / "bin" / "python"
        wrapper.parent.mkdir()
        argv = [str(wrapper), "-m", "pytest"]
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I "$@"\n', encoding="utf-8")
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        with capture_logs() as logs:  # -I ignores PYTHONPATH: the copy cannot load, so pytest stops
            collect_tests(project, argv, scratch_dir=tmp_path / "scratch", timeout_s=60)
        assert any(entry["event"].startswith("pytest could not collect the tests") for entry in logs)
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        items = by_id(collect_tests(project, argv, scratch_dir=tmp_path / "scratch", timeout_s=60))
        assert "tests/test_temps.py::test_parametrized[1]" in items
        assert set(items["tests/test_temps.py::test_marked"].marked) == {"REQ-1", "REQ-2", "REQ-3"}

    def test_leaves_nothing_in_the_project_or_scratch(self, project: Path, tmp_path: Path) -> None:
        """No .pytest_cache or __pycache__ in the project, and the scratch directory is left empty."""
        scratch = tmp_path / "scratch"
        collect_tests(project, PYTEST, scratch_dir=scratch, timeout_s=60)
        assert not list(project.rglob("__pycache__"))
        assert not (project / ".pytest_cache").exists()
        assert list(scratch.iterdir()) == []


class TestStaticTests:
    def test_reads_functions_classes_and_marks(self, tmp_path: Path) -> None:
        """Top-level test functions and Test* class methods, with function, class and module req marks."""
        write(
            tmp_path,
            {
                "src/pkg/mod.py": "",
                "tests/test_x.py": '''\
                    import pytest
                    from pkg import mod, helper

                    pytestmark = [pytest.mark.req("REQ-1"), pytest.mark.slow]

                    @pytest.mark.req("REQ-2")
                    async def test_async():
                        """Mentions REQ-3."""

                    @pytest.mark.req("REQ-4")  # and REQ-5
                    def test_commented():
                        pass

                    class TestThing:
                        pytestmark = pytest.mark.req("REQ-6")

                        def test_method(self):
                            pass

                        def helper(self):
                            pass

                    class TestWithInit:
                        def __init__(self):
                            pass

                        def test_never(self):
                            pass

                    def helper_test():
                        pass
                    ''',
            },
        )
        items = by_id(static_tests(tmp_path, "tests/test_x.py"))
        assert list(items) == [
            "tests/test_x.py::test_async",
            "tests/test_x.py::test_commented",
            "tests/test_x.py::TestThing::test_method",
        ]
        assert items["tests/test_x.py::test_async"].marked == ("REQ-2", "REQ-1")
        assert items["tests/test_x.py::test_async"].mentioned == ("REQ-3",)
        assert items["tests/test_x.py::test_commented"].mentioned == ("REQ-5",)
        assert items["tests/test_x.py::TestThing::test_method"].marked == ("REQ-6", "REQ-1")
        assert items["tests/test_x.py::test_async"].imports == ("pytest", "pkg", "pkg.mod")

    def test_unparsable_file_has_no_tests(self, tmp_path: Path) -> None:
        """A file that does not parse (or does not exist) yields nothing rather than an exception."""
        write(tmp_path, {"test_bad.py": "def test_(:\n"})
        assert static_tests(tmp_path, "test_bad.py") == []
        assert static_tests(tmp_path, "test_missing.py") == []


class TestCollectArgv:
    @pytest.mark.parametrize(
        ("command", "expected"),
        [
            (".venv/bin/python -X dev -m pytest tests -x", [".venv/bin/python", "-X", "dev", "-m", "pytest"]),
            ("python3 -mpytest -q", ["python3", "-mpytest"]),
            (["python", "-m", "pytest"], ["python", "-m", "pytest"]),
        ],
    )
    def test_keeps_the_interpreter_of_a_python_m_pytest_command(self, command: str, expected: list[str]) -> None:
        """`X [options] -m pytest ...` collects with X and its options, without pytest's own arguments."""
        assert collect_argv(command) == expected

    def test_pytest_script_uses_the_python_beside_it(self, tmp_path: Path) -> None:
        """A virtualenv's pytest script means that virtualenv's python, when it exists."""
        (tmp_path / "venv" / "bin").mkdir(parents=True)
        (tmp_path / "venv" / "bin" / "python").write_text("", encoding="utf-8")
        assert collect_argv("venv/bin/pytest -q", root=tmp_path) == ["venv/bin/python", "-m", "pytest"]
        assert collect_argv("elsewhere/bin/pytest", root=tmp_path) == [sys.executable, "-m", "pytest"]

    @pytest.mark.parametrize("command", ["make test", "pytest", "", "python script.py", "'unbalanced"])
    def test_anything_else_uses_autodevs_interpreter(self, command: str) -> None:
        """Commands that do not name a python with pytest fall back to autodev's own interpreter."""
        assert collect_argv(command) == [sys.executable, "-m", "pytest"]


class TestIdsAndComments:
    def test_ids_in_prose(self) -> None:
        """IDs are found as the spec parser writes them, and not inside other words."""
        text = "See REQ-1. Also AUTH-LOGIN-3, REQ-1.2 and (TEMP-4); not xREQ-5, REQ-6x, utf-8 or REQ-1 again"
        assert ids_in(text) == ["REQ-1", "AUTH-LOGIN-3", "REQ-1.2", "TEMP-4"]

    def test_comments_not_strings(self) -> None:
        """Only real comments count; a '#' inside a string is not one, and indented method source works."""
        source = '    def test_x(self):\n        s = "# REQ-1"  # REQ-2\n        # REQ-3\n'
        assert [ids_in(comment) for comment in comments_in(source)] == [["REQ-2"], ["REQ-3"]]

    def test_untokenizable_source_still_yields_comments(self) -> None:
        """Source that cannot be tokenized falls back to splitting lines at '#', missing no ID."""
        assert ids_in(" ".join(comments_in('x = """unterminated # REQ-4\n'))) == ["REQ-4"]
