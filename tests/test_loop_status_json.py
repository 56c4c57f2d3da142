"""`loop status` (text and --json) of a real background loop, also while its autodev.toml is invalid.

The loop is the real LoopRunner started in the background by `start_background`, with a quick stand-in pass
(no models); status is read by a separate `python -m autodev` process, as a user runs it.
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
from helpers import git

from autodev.loop.daemon import LoopFiles, start_background
from autodev.loop.pidlock import read_holder
from autodev.loop.status import read_state

pytestmark = pytest.mark.req("LOOP-2")

DRIVER = """
import sys
from pathlib import Path
from autodev.logs import configure_logging
from autodev.loop.runner import LoopRunner
from autodev.results import RequirementResult, single

root = Path(sys.argv[1])
configure_logging(log_file=root / ".autodev" / "logs" / "autodev.jsonl")

def fake_pass(paths, config, client):
    return single(RequirementResult(requirement="R1", title="t", status="satisfied", reason="all green"))

sys.exit(LoopRunner(root, run_pass=fake_pass).run())
"""
GOOD = '[monitoring]\nwatch_patterns = ["*.md"]\ndebounce_ms = 50\n'


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def status(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autodev", "-C", str(root), "loop", "status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def status_json(root: Path) -> dict[str, object]:
    done = status(root, "--json")
    payload = json.loads(done.stdout)
    assert isinstance(payload, dict)
    assert payload["exit_code"] == done.returncode
    return payload


@pytest.fixture
def looping(repo: Path) -> Iterator[Path]:
    """A project whose background loop has finished its first pass; killed afterwards if a test left it."""
    (repo / "SPEC.md").write_text("# Spec\n", encoding="utf-8")
    (repo / "autodev.toml").write_text(GOOD, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec")
    files = LoopFiles.for_root(repo)
    start_background(repo, [sys.executable, "-c", DRIVER, str(repo)])
    try:
        wait_for(lambda: (state := read_state(files.state_file)) is not None and state.passes == 1, "the first pass")
        yield repo
    finally:
        pid = read_holder(files.pid_file)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: read_holder(files.pid_file) is None, "the loop to stop")


class TestStatusJson:
    def test_running_loop_fields(self, looping: Path) -> None:
        """One object: running, pid, uptime, state, the last pass's status, reason and time, no config error."""
        payload = status_json(looping)
        assert payload["running"] is True
        assert payload["pid"] == read_holder(LoopFiles.for_root(looping).pid_file)
        assert isinstance(payload["uptime_s"], float) and payload["uptime_s"] >= 0
        assert (payload["state"], payload["passes"], payload["config_error"]) == ("watching", 1, None)
        last = payload["last_pass"]
        assert isinstance(last, dict)
        assert (last["status"], last["reason"]) == ("satisfied", "all green")
        assert "finished_at" in last
        assert payload["exit_code"] == 0

    def test_not_running_fields(self, repo: Path) -> None:
        """No loop: the same keys, running false, exit code 3 both in the object and as the status."""
        (repo / "autodev.toml").write_text(GOOD, encoding="utf-8")
        payload = status_json(repo)
        assert payload["running"] is False
        assert (payload["pid"], payload["uptime_s"], payload["last_pass"], payload["config_error"]) == (None,) * 4
        assert payload["exit_code"] == 3


class TestConfigErrorWhileRunning:
    def test_invalid_config_shows_in_status_and_fixing_it_clears_it(self, looping: Path) -> None:
        """A broken autodev.toml: status (text and JSON) says so within seconds, runs no pass; a fix clears it."""
        files = LoopFiles.for_root(looping)
        (looping / "autodev.toml").write_text(GOOD + "debounce_ms = 'soon'\n", encoding="utf-8")
        wait_for(lambda: (state := read_state(files.state_file)) is not None and state.config_error is not None,
                 "the config error in loop.json")  # fmt: skip
        text = status(looping)
        assert text.returncode == 0
        assert "config error: " in text.stdout and "autodev.toml" in text.stdout
        assert "the loop waits for a valid file" in text.stdout
        payload = status_json(looping)
        assert payload["running"] is True
        assert isinstance(payload["config_error"], str) and "not valid TOML" in payload["config_error"]
        (looping / "SPEC.md").write_text("# Spec\n\nmore\n", encoding="utf-8")  # no pass while the file is bad
        time.sleep(0.5)
        assert status_json(looping)["passes"] == 1
        (looping / "autodev.toml").write_text(GOOD, encoding="utf-8")
        wait_for(lambda: (state := read_state(files.state_file)) is not None and state.config_error is None,
                 "the config error to clear")  # fmt: skip
        wait_for(lambda: status_json(looping)["passes"] == 2, "the pass after the fix")
        assert "config error" not in status(looping).stdout
