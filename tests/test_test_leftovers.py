"""No process outlives its test run: a setsid double fork from the code under test, and a run whose autodev died."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodev.verify.leftovers import RUN_MARK, reap
from autodev.verify.runner import run_tests

pytestmark = pytest.mark.req("CORE-4")

# The test double-forks a sleeper into a session of its own, writes its pid and passes at once.
ESCAPE = """
import os, sys, time
def test_escapes(tmp_path):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            open(os.environ["AUTODEV_TEST_PID_FILE"], "w").write(str(os.getpid()))
            time.sleep(120)
        os._exit(0)
    deadline = time.time() + 10
    while not os.path.exists(os.environ["AUTODEV_TEST_PID_FILE"]) and time.time() < deadline:
        time.sleep(0.01)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return " Z " not in stat  # a zombie waiting for init to reap it is dead


def wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds leftovers through /proc")
class TestLeftovers:
    def test_a_setsid_double_fork_dies_with_the_run(self, tmp_path: Path) -> None:
        project = tmp_path / "project"
        project.mkdir()
        (project / "test_escape.py").write_text(ESCAPE, encoding="utf-8")
        pid_file = tmp_path / "escaped.pid"
        env = dict(os.environ) | {"AUTODEV_TEST_PID_FILE": str(pid_file)}
        run = run_tests(project, f"{sys.executable} -m pytest -q", timeout_s=60, scratch_dir=tmp_path / "s", env=env)
        assert run.exit_code == 0, run.output
        escaped = int(pid_file.read_text())
        assert wait_dead(escaped), "the double-forked process survived its run"

    def test_the_next_pass_kills_what_a_killed_autodev_left(self, tmp_path: Path) -> None:
        """A process carrying the project's mark after its autodev died: reaped by root, by the next start."""
        project = tmp_path / "project"
        project.mkdir()
        env = dict(os.environ) | {RUN_MARK: f"deadbeef {project.resolve()}"}
        left = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=env)
        try:
            time.sleep(0.2)
            assert reap(root=tmp_path / "elsewhere") == []
            assert reap(root=project) == [left.pid]
            assert left.wait(timeout=10) == -9
        finally:
            if left.poll() is None:
                left.kill()
