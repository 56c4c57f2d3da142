"""The watch loop as a real process: real watchdog events, the pid lock, signals, passes counted from its state.

A small driver runs LoopRunner with an injected pass that records itself and takes a set time, so the tests can
edit files during a pass. One end-to-end test runs the real pass against the scripted model server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import RIGHT, git, processes_working_in, setup_example

from autodev.cli.main import run_cli
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("LOOP-2")

DRIVER = """
import sys, time
from pathlib import Path
from autodev.results import RequirementResult, single
from autodev.logs import configure_logging
from autodev.loop.runner import LoopRunner

root, seconds = Path(sys.argv[1]), float(sys.argv[2])
configure_logging(log_file=root / ".autodev" / "logs" / "autodev.jsonl")
record = root.parent / "passes.log"

def fake_pass(paths, config, client):
    with record.open("a") as out:
        out.write("pass\\n")
    time.sleep(seconds)
    (root / "generated.py").write_text(f"x = {time.time()}\\n")  # an own write, inside watch_patterns
    status_file = root.parent / "next-status"  # a test makes the passes fail by writing "failed" here
    status = status_file.read_text().strip() if status_file.exists() else "satisfied"
    return single(RequirementResult(requirement="SPEC.md", title="t", status=status, reason="fake", attempts=[
        {"number": 1, "model": "m", "outcome": "green", "reason": "ok", "files": ["generated.py"]}]))

sys.exit(LoopRunner(root, run_pass=fake_pass).run())
"""


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def loop_state(root: Path) -> dict[str, object]:
    try:
        data = json.loads((root / ".autodev" / "loop.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def passes(root: Path) -> int:
    record = root.parent / "passes.log"
    return len(record.read_text().splitlines()) if record.exists() else 0


def settled(root: Path, count: int) -> bool:
    return passes(root) == count and loop_state(root).get("state") == "watching"


@pytest.fixture
def watched(repo: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A project whose loop (fake passes of 1 s) is running and has finished its first pass."""
    (repo / "SPEC.md").write_text("# Spec\n", encoding="utf-8")
    (repo / "autodev.toml").write_text(
        '[monitoring]\nwatch_patterns = ["*.md", "tests/**", "*.py"]\ndebounce_ms = 100\n', encoding="utf-8"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec")
    env = os.environ | {"XDG_CONFIG_HOME": str(repo.parent / "config-home")}  # this test's own user config
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(repo), "1.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip
    try:
        wait_for(lambda: settled(repo, 1), what="the first pass")
        yield repo, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


class TestLoopRunner:
    def test_spec_edit_starts_one_pass(self, watched: tuple[Path, subprocess.Popen[str]]) -> None:
        """Saving SPEC.md with new content runs exactly one pass; the pass's own write runs none."""
        root, _ = watched
        (root / "SPEC.md").write_text("# Spec\n\nMore.\n", encoding="utf-8")
        wait_for(lambda: settled(root, 2), what="the second pass")
        time.sleep(0.6)  # several debounce periods: an own write or a duplicate would have started a pass by now
        assert passes(root) == 2

    def test_identical_save_starts_nothing(self, watched: tuple[Path, subprocess.Popen[str]]) -> None:
        """Writing the same bytes again (an editor's plain save) is not a change."""
        root, _ = watched
        (root / "SPEC.md").write_text("# Spec\n", encoding="utf-8")
        time.sleep(0.6)
        assert passes(root) == 1

    def test_edits_during_a_pass_give_exactly_one_follow_up(self, watched: tuple[Path, subprocess.Popen[str]]) -> None:
        """Several saves while a pass runs are not dropped and not repeated: one follow-up pass."""
        root, _ = watched
        (root / "SPEC.md").write_text("# Spec\n\nv2\n", encoding="utf-8")
        wait_for(lambda: passes(root) == 2, what="the second pass to start")
        for n in range(3, 6):
            (root / "SPEC.md").write_text(f"# Spec\n\nv{n}\n", encoding="utf-8")
        wait_for(lambda: settled(root, 3), what="the follow-up pass")
        time.sleep(0.6)
        assert passes(root) == 3

    def test_second_loop_is_refused(self, watched: tuple[Path, subprocess.Popen[str]]) -> None:
        """One loop per project: a second one fails fast, naming the running one."""
        root, process = watched
        done = subprocess.run(
            [sys.executable, "-m", "autodev", "-C", str(root), "loop", "run"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert f"pid {process.pid}" in done.stderr

    def test_invalid_config_edit_keeps_the_loop_running(self, watched: tuple[Path, subprocess.Popen[str]]) -> None:
        """A broken autodev.toml is logged and pauses the passes (also for spec edits); fixing it runs the next."""
        root, process = watched
        good = (root / "autodev.toml").read_text(encoding="utf-8")
        (root / "autodev.toml").write_text("[monitoring\n", encoding="utf-8")
        wait_for(lambda: loop_state(root).get("config_error") is not None, what="the recorded config error")
        (root / "SPEC.md").write_text("# Spec\n\nchanged\n", encoding="utf-8")
        time.sleep(0.6)
        assert passes(root) == 1
        assert process.poll() is None
        (root / "autodev.toml").write_text(good, encoding="utf-8")
        wait_for(lambda: settled(root, 2), what="the pass after the fix")
        assert loop_state(root).get("config_error") is None
        log = (root / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8")
        assert "no pass until it is fixed" in log

    def test_sigterm_between_passes_exits_0_and_releases_the_lock(
        self, watched: tuple[Path, subprocess.Popen[str]]
    ) -> None:
        """SIGTERM while idle stops the loop cleanly: exit 0, state 'stopping', no pid file."""
        root, process = watched
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert loop_state(root).get("state") == "stopping"
        assert not (root / ".autodev" / "loop.pid").exists()


@pytest.mark.req("LOOP-3")
class TestLoopReloads:
    def test_a_memory_edit_runs_a_pass_only_while_a_requirement_is_unmet(
        self, watched: tuple[Path, subprocess.Popen[str]]
    ) -> None:
        """All green: an AGENTS.md edit cannot change an outcome. After a failed pass it can, and one runs."""
        root, _ = watched
        (root / "AGENTS.md").write_text("Use snake_case.\n", encoding="utf-8")
        time.sleep(1.5)  # more than a slice and the debounce: a pass would have started
        assert passes(root) == 1
        (root.parent / "next-status").write_text("failed", encoding="utf-8")
        (root / "SPEC.md").write_text("# Spec\n\nfails\n", encoding="utf-8")
        wait_for(lambda: settled(root, 2), what="the failing pass")
        (root / "AGENTS.md").write_text("Use snake_case. Prefer pure functions.\n", encoding="utf-8")
        wait_for(lambda: settled(root, 3), what="the pass after the memory edit")
        log = (root / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8")
        assert '"because": "reloaded memory"' in log

    def test_an_edit_of_the_users_config_is_taken_and_runs_a_pass(
        self, watched: tuple[Path, subprocess.Popen[str]]
    ) -> None:
        """The user's config.toml is outside the project and its watch; the loop still sees it change."""
        root, _ = watched
        user_config = root.parent / "config-home" / "autodev" / "config.toml"
        user_config.parent.mkdir(parents=True)
        user_config.write_text("[synthesis]\nmax_attempts = 7\n", encoding="utf-8")
        wait_for(lambda: settled(root, 2), what="the pass after the user config edit")
        user_config.write_text("[synthesis\n", encoding="utf-8")
        wait_for(lambda: "config.toml" in str(loop_state(root).get("config_error")), what="the user config error")
        user_config.write_text("[synthesis]\nmax_attempts = 7\n", encoding="utf-8")
        wait_for(lambda: loop_state(root).get("config_error") is None, what="the error to clear")
        wait_for(lambda: settled(root, 3), what="the pass after the fix")

    def test_a_command_file_edit_runs_no_pass_and_a_broken_one_is_reported(
        self, watched: tuple[Path, subprocess.Popen[str]]
    ) -> None:
        root, _ = watched
        (root.parent / "next-status").write_text("failed", encoding="utf-8")
        commands = root / ".claude" / "commands"
        commands.mkdir(parents=True)
        (commands / "review.md").write_text("Review $ARGUMENTS\n", encoding="utf-8")
        (commands / "broken.md").write_text("---\ndescription: never closed\n", encoding="utf-8")
        wait_for(lambda: bool(loop_state(root).get("problems")), what="the broken command in the state")
        assert "broken.md:1: the front matter opened here is never closed" in str(loop_state(root)["problems"])
        time.sleep(1.5)
        assert passes(root) == 1

    def test_a_broken_import_is_shown_in_status_and_the_loop_keeps_going(
        self, watched: tuple[Path, subprocess.Popen[str]], capsys: pytest.CaptureFixture[str]
    ) -> None:
        root, process = watched
        (root / "CLAUDE.md").write_text("See @docs/missing.md\n", encoding="utf-8")
        wait_for(lambda: bool(loop_state(root).get("problems")), what="the problem in the state")
        assert "docs/missing.md" in str(loop_state(root)["problems"])
        capsys.readouterr()
        assert run_cli(["-C", str(root), "loop", "status"]) == 0
        assert "warning: CLAUDE.md: imports @docs/missing.md" in capsys.readouterr().out
        (root / "CLAUDE.md").write_text("No imports.\n", encoding="utf-8")
        wait_for(lambda: loop_state(root).get("problems") == [], what="the problem to clear")
        assert process.poll() is None


class TestLoopEndToEnd:
    def test_start_edit_commit_status_stop(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`loop start` returns with the watch up; a spec edit yields a commit; status 0; stop; status 3."""
        with ScriptedServer([RIGHT]) as server:
            setup_example(repo, server.url)
            (repo / "SPEC.md").write_text("# Not yet\n", encoding="utf-8")  # the first pass has no tests to pass...
            (repo / "tests" / "test_temps.py").rename(repo / "later_test.txt")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "no tests yet")
            head = git(repo, "rev-parse", "HEAD")
            assert run_cli(["-C", str(repo), "loop", "start"]) == 0
            try:
                assert run_cli(["-C", str(repo), "loop", "status"]) == 0
                wait_for(lambda: loop_state(repo).get("passes") == 1, what="the first pass")
                (repo / "later_test.txt").rename(repo / "tests" / "test_temps.py")  # ...until the tests arrive
                wait_for(lambda: git(repo, "rev-parse", "HEAD") != head, timeout_s=60, what="a commit")
                assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
            finally:
                assert run_cli(["-C", str(repo), "loop", "stop"]) == 0
        assert run_cli(["-C", str(repo), "loop", "status"]) == 3
        assert "stopped the autodev loop" in capsys.readouterr().out


class TestLoopShutdown:
    def test_sigterm_during_a_test_run_rolls_back_and_leaves_no_orphan(self, repo: Path, tmp_path: Path) -> None:
        """SIGTERM while the loop's attempt runs the tests (in the copy): exit 0, the user's files never written,
        git clean, no test process left."""
        marker = tmp_path / "slow-test-pid"
        (repo / "tests").mkdir()
        (repo / "tests" / "test_slow.py").write_text(
            # slow only once the attempt has written temps.py: the baseline run stays quick
            f"import os, time\n\ndef test_slow():\n    if not os.path.exists('temps.py'):\n        return\n"
            f"    open({str(marker)!r}, 'w').write(str(os.getpid()))\n    time.sleep(60)\n",
            encoding="utf-8",
        )
        with ScriptedServer([RIGHT]) as server:
            setup_example(repo, server.url)
            process = subprocess.Popen(
                [sys.executable, "-m", "autodev", "-C", str(repo), "loop", "run"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                journal = repo / ".autodev" / "journal.json"
                wait_for(marker.exists, timeout_s=90, what="the attempt's test run")
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                process.communicate(timeout=30)
        assert marker.exists()  # the test ran; its pid is its own namespace's when confined, so look by place
        copy = (repo / ".autodev").resolve()
        wait_for(lambda: not processes_working_in(copy), timeout_s=10, what="the test process to be gone")
        assert not journal.exists()
        assert not (repo / "temps.py").exists()
        assert git(repo, "status", "--porcelain").strip() == ""
