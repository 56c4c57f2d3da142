"""autodev.plan: which requirements need work, and failing tests that no requirement claims."""

from __future__ import annotations

import hashlib

import pytest
from helpers import pytest_run

from autodev.plan import ORPHAN_PREFIX, blocking_dependency, items_for, orphan_items
from autodev.spec.model import Requirement, TestLinks
from autodev.verify.verdict import failing_tests

pytestmark = pytest.mark.req("SPEC-2")


def requirement(rid: str, *depends: str) -> Requirement:
    return Requirement(
        id=rid,
        title=rid,
        text=f"## {rid}",
        source="SPEC.md",
        depends=depends,
        content_hash=hashlib.sha256(rid.encode()).hexdigest(),
    )


class TestFailingTests:
    def test_failing_and_missing_tests_count_skipped_and_passing_do_not(self) -> None:
        """A linked test the run never saw (its file did not import) is as unproven as a failing one."""
        result = pytest_run({"t.py::a": "passed", "t.py::b": "failed", "t.py::c": "skipped"})
        assert failing_tests(["t.py::a", "t.py::b", "t.py::c", "t.py::gone"], result) == ["t.py::b", "t.py::gone"]

    def test_a_collection_error_fails_every_test_of_its_file(self) -> None:
        """An error reported for a whole file covers each of its tests."""
        result = pytest_run({"tests/test_x.py": "error", "tests/test_y.py::ok": "passed"})
        assert failing_tests(["tests/test_x.py::one", "tests/test_y.py::ok"], result) == ["tests/test_x.py::one"]


class TestItems:
    def test_every_requirement_keeps_its_order_and_its_tests(self) -> None:
        """items_for pairs requirements with their links, unlinked ones with none."""
        links = TestLinks(by_requirement={"A-1": ["t.py::a"]})
        items = items_for([requirement("B-1"), requirement("A-1")], links)
        assert [(item.requirement.id, item.tests) for item in items] == [("B-1", []), ("A-1", ["t.py::a"])]

    def test_failing_orphans_become_one_item_per_file(self) -> None:
        """Unclaimed failing tests are grouped by file; unclaimed passing ones are not work."""
        links = TestLinks(unlinked=["tests/test_a.py::one", "tests/test_a.py::two", "tests/test_b.py::ok"])
        result = pytest_run(
            {"tests/test_a.py::one": "failed", "tests/test_a.py::two": "failed", "tests/test_b.py::ok": "passed"}
        )
        items = orphan_items(links, result)
        assert [item.requirement.id for item in items] == [f"{ORPHAN_PREFIX}tests/test_a.py"]
        assert items[0].tests == ["tests/test_a.py::one", "tests/test_a.py::two"]
        assert items[0].test_files == ["tests/test_a.py"]
        assert "one, two" in items[0].requirement.text


class TestBlockingDependency:
    def test_an_unsatisfied_known_dependency_blocks(self) -> None:
        """Work on a requirement waits for what it depends on."""
        assert blocking_dependency(requirement("A-1", "B-1"), satisfied=set(), known={"B-1"}) == "B-1"

    def test_a_satisfied_or_unknown_dependency_does_not(self) -> None:
        """Satisfied dependencies are fine; unknown IDs are spec check's business, not a reason to stall."""
        assert blocking_dependency(requirement("A-1", "B-1"), satisfied={"B-1"}, known={"B-1"}) is None
        assert blocking_dependency(requirement("A-1", "Z-9"), satisfied=set(), known={"B-1"}) is None
