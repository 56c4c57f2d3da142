"""Test files found on disk, and the one list of tool directories with the subsets its consumers derive."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import modules_loaded_by, write_files

from autodev import discovery
from autodev.discovery import MAX_TEST_FILES, find_test_files, is_tool_dir

pytestmark = pytest.mark.req("CORE-1")


class TestFindTestFiles:
    def test_finds_both_naming_styles_and_skips_virtualenvs(self, tmp_path: Path) -> None:
        """test_*.py and *_test.py are tests; files inside .venv, node_modules and .git are not."""
        write_files(
            tmp_path,
            {
                "tests/test_a.py": "",
                "b_test.py": "",
                "helper.py": "",
                ".venv/lib/test_x.py": "",
                "node_modules/pkg/test_y.py": "",
                ".git/test_z.py": "",
            },
        )
        assert find_test_files(tmp_path) == ["b_test.py", "tests/test_a.py"]

    @pytest.mark.parametrize(
        "rel",
        [
            "build/lib/tests/test_copy.py",
            "dist/pkg/test_copy.py",
            "env/lib/test_env.py",
            "pkg.egg-info/test_meta.py",
            "sub/.tox/py311/test_tox.py",
            ".hypothesis/test_db.py",
            "pytest-cache-files-abc123/test_tmp.py",
        ],
    )
    def test_tool_directories_of_the_one_list_are_skipped_at_any_depth(self, tmp_path: Path, rel: str) -> None:
        """Every tool directory, by name or by pattern, hides its test files."""
        write_files(tmp_path, {"tests/test_real.py": "", rel: ""})
        assert find_test_files(tmp_path) == ["tests/test_real.py"]

    def test_at_most_max_test_files_in_a_stable_order(self, tmp_path: Path) -> None:
        """A huge suite is cut at MAX_TEST_FILES, always the same ones."""
        write_files(tmp_path, {f"tests/test_{n:03d}.py": "" for n in range(MAX_TEST_FILES + 5)})
        found = find_test_files(tmp_path)
        assert len(found) == MAX_TEST_FILES
        assert found == sorted(found) == find_test_files(tmp_path)


class TestToolDirectories:
    def test_every_subset_is_drawn_from_the_one_list(self) -> None:
        """Consumers narrow the list; none adds a directory of its own."""
        for subset in (
            discovery.OWN_DIR_NAMES,
            discovery.WATCH_IGNORED_DIRS,
            discovery.CACHE_DIRS,
            discovery.READ_BY_TESTS,
            discovery.NOT_COPIED_AT_TOP,
        ):
            assert subset <= discovery.TOOL_DIRS

    def test_patterns_name_tool_directories_too(self) -> None:
        """pytest's temporary cache directories and setuptools' metadata are known by their names' shape."""
        assert is_tool_dir("pytest-cache-files-x1y2z3")
        assert is_tool_dir("autodev.egg-info")
        assert is_tool_dir(".autodev")
        assert not is_tool_dir("tests")
        assert not is_tool_dir("src")


def test_a_foundation_that_imports_only_foundations() -> None:
    """The watcher, the scratch copy and the engine all import discovery; it imports none of them."""
    foundations = {"autodev.project", "autodev.config", "autodev.errors", "autodev.model_catalog"}
    foundations.add("autodev.workflow_model")  # the keys of [roles] and [workflows], which config validates
    assert modules_loaded_by("autodev.discovery") <= {"autodev", "autodev.discovery", *foundations}
