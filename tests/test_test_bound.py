"""Each pytest test is bounded (``[tests] test_timeout_s``): one endless loop costs that bound, not the whole run's
timeout, and the failure names the test and the line it was stuck on."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from autodev.config import Config
from autodev.verify.adapters.choose import project_tests
from autodev.verify.adapters.pytest_runner import PytestAdapter
from autodev.verify.runner import TestRun, run_tests

pytestmark = pytest.mark.req("CORE-4")

LOOPS = (
    "def loop():\n    n = 1\n    while n != 0:\n        try:\n            n += 1\n        except Exception:\n"
    "            pass\n"
)
TESTS = "from code_under_test import loop\n\n\ndef test_hangs():\n    loop()\n\n\ndef test_quick():\n    assert True\n"


def _project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _run(root: Path, bound: float, extra: tuple[str, ...] = ()) -> tuple[TestRun, float]:
    started = time.monotonic()
    run = run_tests(root, [sys.executable, "-m", "pytest", *extra], timeout_s=60, scratch_dir=root.parent / "scratch",
                    runner=PytestAdapter(test_timeout_s=bound))  # fmt: skip
    return run, time.monotonic() - started


class TestOneTestsBound:
    def test_an_endless_loop_fails_its_test_alone_and_the_others_still_run(self, tmp_path: Path) -> None:
        """The loop swallows ``Exception``; the bound is no Exception, so it still stops, after 1 s, not 60."""
        root = _project(tmp_path / "p", {"code_under_test.py": LOOPS, "tests/test_it.py": TESTS})
        run, seconds = _run(root, 1)
        assert not run.timed_out and seconds < 30
        hung = run.outcomes["tests/test_it.py::test_hangs"]
        assert hung.outcome == "failed"
        assert "this test ran longer than 1 s, autodev's bound for one test ([tests] test_timeout_s)" in hung.message
        assert "code_under_test.py:3" in hung.details  # the line it was stuck on, not the plugin's
        assert run.outcomes["tests/test_it.py::test_quick"].outcome == "passed"

    def test_an_import_that_never_ends_is_a_collection_error_of_its_file(self, tmp_path: Path) -> None:
        files = {"code_under_test.py": LOOPS + "\nloop()\n", "tests/test_it.py": TESTS,
                 "tests/test_other.py": "def test_other():\n    pass\n"}  # fmt: skip
        run, seconds = _run(_project(tmp_path / "p", files), 1)
        assert not run.timed_out and seconds < 30
        error = run.outcomes["tests/test_it.py"]
        assert error.outcome == "error" and "importing tests/test_it.py (and the code it imports)" in error.details
        assert run.outcomes["tests/test_other.py::test_other"].outcome == "passed"

    def test_no_bound_leaves_only_the_runs_timeout(self, tmp_path: Path) -> None:
        root = _project(
            tmp_path / "p", {"tests/test_slow.py": "import time\n\n\ndef test_slow():\n    time.sleep(2)\n"}
        )
        run, _ = _run(root, 0)
        assert run.outcomes["tests/test_slow.py::test_slow"].outcome == "passed"

    def test_a_project_bounding_its_tests_with_pytest_timeout_keeps_its_own_rules(self, tmp_path: Path) -> None:
        """pytest-timeout configured (``timeout = 5``): autodev's 1 s does not apply, the project's 5 s does."""
        pytest.importorskip("pytest_timeout")
        files = {"pytest.ini": "[pytest]\ntimeout = 5\n",
                 "tests/test_slow.py": "import time\n\n\ndef test_slow():\n    time.sleep(2)\n"}  # fmt: skip
        run, _ = _run(_project(tmp_path / "p", files), 1)
        assert run.outcomes["tests/test_slow.py::test_slow"].outcome == "passed"

    def test_the_bound_comes_from_the_config_and_a_minute_is_the_default(self, tmp_path: Path) -> None:
        adapter = project_tests(Config(), tmp_path).adapter
        assert isinstance(adapter, PytestAdapter) and adapter.test_timeout_s == 60
        chosen = project_tests(Config.model_validate({"tests": {"test_timeout_s": 5}}), tmp_path).adapter
        assert isinstance(chosen, PytestAdapter) and chosen.test_timeout_s == 5
