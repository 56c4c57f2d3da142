"""Which requirements a pass works on, in which order, and what the tests say about each one.

Pure: the engine gives it the requirements (already ordered by Depends, priority and file order), the test links and
a test run; it answers with work items and statuses. The tests decide: a requirement whose linked tests all pass is
satisfied, whatever its history; one with failing linked tests is worked on; one with no linked test is unverified.
Failing tests that no requirement claims become work items of their own, one per test file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from autodev.spec.model import Requirement, TestLinks
from autodev.verify.runner import TestRun
from autodev.verify.verdict import failing_tests

ORPHAN_PREFIX = "tests:"


class WorkItem(BaseModel):
    """A requirement and the tests that prove it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: Requirement
    tests: list[str]  # node ids

    @property
    def test_files(self) -> list[str]:
        return sorted({test.split("::", 1)[0] for test in self.tests})


def items_for(requirements: Sequence[Requirement], links: TestLinks) -> list[WorkItem]:
    """Every requirement with its linked tests, in the given order."""
    return [WorkItem(requirement=r, tests=list(links.by_requirement.get(r.id, []))) for r in requirements]


def orphan_items(links: TestLinks, run: TestRun) -> list[WorkItem]:
    """Failing tests linked to no requirement, grouped by file: "make tests/test_x.py pass"."""
    by_file: dict[str, list[str]] = {}
    for test in failing_tests(links.unlinked, run):
        by_file.setdefault(test.split("::", 1)[0], []).append(test)
    return [WorkItem(requirement=_orphan_requirement(path, tests), tests=tests) for path, tests in by_file.items()]


def _orphan_requirement(path: str, tests: list[str]) -> Requirement:
    names = ", ".join(test.split("::", 1)[-1] for test in tests[:5]) + (" ..." if len(tests) > 5 else "")
    text = f"Make the failing tests of {path} pass: {names}. No requirement in the specs claims them."
    return Requirement(
        id=f"{ORPHAN_PREFIX}{path}",
        title=f"make {path} pass",
        text=text,
        source=path,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def blocking_dependency(requirement: Requirement, satisfied: set[str], known: set[str]) -> str | None:
    """The first dependency that is not satisfied yet, if any: work on it would build on sand."""
    for dependency in requirement.depends:
        if dependency in known and dependency not in satisfied:
            return dependency
    return None
