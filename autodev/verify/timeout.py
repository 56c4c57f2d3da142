"""Say what timed out, after how long, and which key gives it more time: the reason a user reads for a hang.

A run killed at its timeout has no useful output of its own (what it printed last is often an unrelated
warning), so the sentence is built from what autodev knows: the command, the limit, and the test the plugin
saw in progress.
"""

from __future__ import annotations

from autodev.verify.runner import TestRun

TIMEOUT_KEY = "[tests] timeout_s in autodev.toml"


def timed_out_reason(run: TestRun, command: str | None = None) -> str:
    """``the tests ran longer than 4 s ([tests] timeout_s in autodev.toml); tests/t.py::test_x was running ...``.

    ``command`` is the test command as the user wrote it; without it the sentence says "the tests".
    """
    what = f"`{command}`" if command else "the tests"
    sentence = f"{what} ran longer than {seconds(run)} s ({TIMEOUT_KEY})"
    if run.running:
        sentence += f"; {run.running} was running when the time ran out"
    return sentence


def seconds(run: TestRun) -> str:
    """The limit the run was held to (its duration when unknown), as a short number."""
    value = run.timeout_s if run.timeout_s is not None else run.duration_s
    return f"{value:g}" if value < 10 else f"{round(value)}"
