"""Test runner adapters: pytest, ``node --test``, jest, vitest and ``cargo test`` behind one seam (base.py)."""

from autodev.verify.adapters.base import CommandAdapter, RunnerAdapter, RunPlace, is_load_failure, load_failure
from autodev.verify.adapters.choose import (
    ProjectTests,
    RunnerName,
    adapter_for,
    default_test_command,
    detect_runner,
    project_test_command,
    project_tests,
)

__all__ = [
    "CommandAdapter",
    "ProjectTests",
    "RunPlace",
    "RunnerAdapter",
    "RunnerName",
    "adapter_for",
    "default_test_command",
    "detect_runner",
    "is_load_failure",
    "load_failure",
    "project_test_command",
    "project_tests",
]
