"""A test run's text with the directory it ran in taken out, so paths read as the project names them.

Candidates run in copies (``.autodev/scratch/copy``, a temporary directory per sampled candidate): an ImportError
then names ``/tmp/autodev-candidate-x8f2/proj/mod.py``. The model gains nothing from that path, the next prompt
differs run to run only by it (a local model's answers, and so the benchmark, stop being reproducible), and the
same failure in two copies no longer has the same signature (loop detection, merges).
"""

from __future__ import annotations

import os
from pathlib import Path

from autodev.verify.runner import TestRun


def relative_to(run: TestRun, root: Path) -> TestRun:
    """``run`` with ``root/`` (as given and resolved) removed from its output and its tests' messages."""
    prefixes = sorted({f"{root}{os.sep}", f"{root.resolve()}{os.sep}"}, key=len, reverse=True)

    def clean(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    outcomes = {
        test_id: outcome.model_copy(update={"message": clean(outcome.message), "details": clean(outcome.details)})
        for test_id, outcome in run.outcomes.items()
    }
    return run.model_copy(update={"output": clean(run.output), "outcomes": outcomes})
