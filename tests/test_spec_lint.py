"""spec check and the order of work: unknown and cyclic Depends, unchecked requirements, deterministic ordering."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.errors import SpecError
from autodev.spec.collect import Collected
from autodev.spec.lint import check_specs
from autodev.spec.model import Requirement, SpecDiagnostic, SpecSet, TestItem
from autodev.spec.order import dependency_cycles, order_requirements
from autodev.spec.parser import parse_spec_text
from autodev.spec.pytest_plugin import AUTODEV_MARKER_LINE, project_registers_req
from autodev.spec.reader import leaves_project
from autodev.verify.collection import CollectionProblem

pytestmark = pytest.mark.req("SPEC-1")


def req(
    requirement_id: str,
    depends: tuple[str, ...] = (),
    *,
    priority: int = 2,
    source: str = "SPEC.md",
    line: int = 1,
    criteria: tuple[str, ...] = ("it works",),
    examples: tuple[str, ...] = (),
    parent: str | None = None,
    files: tuple[str, ...] = (),
    text: str = "",
) -> Requirement:
    return Requirement(
        id=requirement_id,
        title=requirement_id,
        text=text or f"## {requirement_id}",
        files=files,
        source=source,
        line=line,
        parent=parent,
        depends=depends,
        priority=priority,
        criteria=criteria,
        examples=examples,
        content_hash="0" * 64,
    )


def messages(diagnostics: list[SpecDiagnostic]) -> list[str]:
    return [str(diagnostic) for diagnostic in diagnostics]


class TestCheckSpecs:
    def test_clean_spec_has_no_findings(self) -> None:
        """Known dependencies and checked requirements give nothing to report."""
        specs = SpecSet(requirements=[req("A", line=1), req("B", ("A",), line=5)])
        assert check_specs(specs) == []

    def test_unknown_dependency_is_an_error(self) -> None:
        """A Depends: ID that names no requirement is an error at the requirement."""
        specs = SpecSet(requirements=[req("A", ("NOPE-1",), line=3)])
        assert messages(check_specs(specs)) == ["SPEC.md:3: error: A depends on unknown requirement NOPE-1"]

    def test_cycle_is_named(self) -> None:
        """A dependency cycle is one error naming the cycle from its first requirement in file order."""
        specs = SpecSet(requirements=[req("A", ("B",), line=1), req("B", ("A",), line=4), req("C", ("C",), line=9)])
        assert messages(check_specs(specs)) == [
            "SPEC.md:1: error: dependency cycle: A -> B -> A",
            "SPEC.md:9: error: dependency cycle: C -> C",
        ]

    def test_unchecked_requirement_is_a_warning_without_links(self) -> None:
        """Without collected test links, a requirement with no criteria or examples is only a warning."""
        specs = SpecSet(requirements=[req("A", criteria=(), line=2), req("B", criteria=(), examples=("1 -> 2",))])
        assert messages(check_specs(specs)) == ["SPEC.md:2: warning: A has no acceptance criteria or examples"]

    def test_unchecked_requirement_is_an_error_with_links(self) -> None:
        """With test links, a requirement nothing checks (criteria, examples, tests) is an error, a linked one not."""
        specs = SpecSet(requirements=[req("A", criteria=(), line=2), req("B", criteria=(), line=7)])
        found = check_specs(specs, {"B": ["tests/test_b.py::test_b"], "A": []})
        assert messages(found) == [
            "SPEC.md:2: error: A has no acceptance criteria, examples or linked tests: nothing can check it"
        ]

    def test_parent_of_checked_sub_requirements_is_checked(self) -> None:
        """A requirement split into checked sub-requirements is not reported for having no criteria itself."""
        specs = SpecSet(requirements=[req("A", criteria=()), req("A.1", parent="A", line=4)])
        assert check_specs(specs, {}) == []

    def test_duplicates_and_parser_diagnostics_are_included(self) -> None:
        """Duplicate IDs are errors naming both places, and the parser's own findings are kept, sorted by place."""
        note = SpecDiagnostic(file="SPEC.md", line=1, level="warning", message="treated as one requirement")
        specs = SpecSet(
            requirements=[req("A", line=3), req("A", source="specs/x.md", line=2)],
            diagnostics=[note],
        )
        assert messages(check_specs(specs)) == [
            "SPEC.md:1: warning: treated as one requirement",
            "specs/x.md:2: error: duplicate requirement ID A (first defined at SPEC.md:3)",
        ]

    def test_parsed_spec_end_to_end(self) -> None:
        """Findings on a parsed file point at the lines the user wrote."""
        text = "# T\n\n## REQ-1: A\n\nDepends: REQ-2\n\n## REQ-2: B\n\nDepends: REQ-1\n\n- WHEN x THE SYSTEM SHALL y\n"
        requirements, diagnostics = parse_spec_text(text, "SPEC.md")
        found = check_specs(SpecSet(requirements=requirements, diagnostics=diagnostics))
        assert messages(found) == [
            "SPEC.md:3: error: dependency cycle: REQ-1 -> REQ-2 -> REQ-1",
            "SPEC.md:3: warning: REQ-1 has no acceptance criteria or examples",
        ]


def marked(nodeid: str, *ids: str, line: int = 4) -> TestItem:
    return TestItem(nodeid=nodeid, file=nodeid.split("::")[0], marked=ids, line=line)


class TestTestsAndFiles:
    def test_a_marker_naming_no_requirement_is_an_error_at_the_test_with_a_close_match(self) -> None:
        """req("SLUG-22") when only SLUG-2 exists: an error at the test's line, once per test function (not per
        parameter), suggesting the close ID; an ID like nothing known gets no suggestion; known IDs pass."""
        tests = [
            marked("tests/test_a.py::test_slug[1]", "SLUG-22", "SLUG-2"),
            marked("tests/test_a.py::test_slug[2]", "SLUG-22", "SLUG-2"),
            marked("tests/test_b.py::TestX::test_y", "ZZZ-9", line=12),
        ]
        collected = Collected(tests=tests)
        found = check_specs(SpecSet(requirements=[req("SLUG-2")]), {"SLUG-2": ["t"]}, collected=collected)
        assert messages(found) == [
            "tests/test_a.py:4: error: test test_slug names requirement SLUG-22, which no spec defines; "
            "did you mean SLUG-2?",
            "tests/test_b.py:12: error: test TestX::test_y names requirement ZZZ-9, which no spec defines",
        ]

    def test_files_outside_the_project_are_errors_at_the_files_line(self) -> None:
        """A Files: entry that is absolute, starts with ~ or climbs out with .. is an error at its own line;
        a path that climbs back in (a/../b.py) is fine."""
        text = "## A\n\nSome prose.\n\nFiles: ../outside.py, /etc/passwd, ~/x.py, a/../b.py\n"
        files = ("../outside.py", "/etc/passwd", "~/x.py", "a/../b.py")
        found = check_specs(SpecSet(requirements=[req("A", line=10, files=files, text=text)]))
        assert messages(found) == [
            "SPEC.md:14: error: Files: '../outside.py' is outside the project",
            "SPEC.md:14: error: Files: '/etc/passwd' is outside the project",
            "SPEC.md:14: error: Files: '~/x.py' is outside the project",
        ]

    def test_a_symlink_out_of_the_project_is_outside_it(self, tmp_path: Path) -> None:
        """Given the project root, a Files: path through a symlink that points out of the project is refused."""
        root, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
        root.mkdir()
        elsewhere.mkdir()
        (root / "link").symlink_to(elsewhere)
        (root / "src").mkdir()
        assert leaves_project("link/x.py", root)
        assert not leaves_project("src/x.py", root)
        assert not leaves_project("link/x.py")  # without the root only the text can be judged

    def test_an_unregistered_req_marker_is_a_warning_at_the_pytest_configuration(self) -> None:
        """Marked tests and a configuration without `req` (autodev's own marker line aside): a warning there."""
        tests = [marked("tests/test_a.py::test_a", "A")]
        unregistered = Collected(tests=tests, req_registered=False, config_file="pyproject.toml")
        found = check_specs(SpecSet(requirements=[req("A")]), {"A": ["t"]}, collected=unregistered)
        assert [(d.file, d.line, d.level) for d in found] == [("pyproject.toml", 1, "warning")]
        assert "does not register it" in found[0].message
        registered = unregistered.model_copy(update={"req_registered": True})
        assert check_specs(SpecSet(requirements=[req("A")]), {"A": ["t"]}, collected=registered) == []
        assert project_registers_req(["slow: slow tests", "req(id): proves a requirement"])
        assert not project_registers_req(["slow: slow tests", AUTODEV_MARKER_LINE, "request: not it"])

    def test_collection_problems_are_errors_in_pytests_words(self) -> None:
        """What keeps pytest from collecting is an error at the file and line pytest names."""
        problem = CollectionProblem(
            file="tests/conftest.py", line=2, message="ImportError while loading conftest\nE   RuntimeError: boom"
        )
        found = check_specs(SpecSet(requirements=[req("A")]), collected=Collected(tests=[], problems=[problem]))
        assert messages(found) == ["tests/conftest.py:2: error: pytest cannot collect the tests: RuntimeError: boom"]


class TestOrderRequirements:
    def test_dependencies_come_first(self) -> None:
        """A requirement comes after everything it depends on, whatever the file order."""
        ordered = order_requirements([req("A", ("B",), line=1), req("B", ("C",), line=2), req("C", line=3)])
        assert [r.id for r in ordered] == ["C", "B", "A"]

    def test_priority_then_file_order(self) -> None:
        """Independent requirements go by priority, then source path, then line."""
        requirements = [
            req("LOW", priority=3, line=1),
            req("B2", source="specs/b.md", line=9),
            req("B1", source="specs/b.md", line=2),
            req("A1", source="specs/a.md", line=5),
            req("CRIT", priority=0, source="specs/z.md", line=50),
        ]
        assert [r.id for r in order_requirements(requirements)] == ["CRIT", "A1", "B1", "B2", "LOW"]

    def test_dependencies_of_urgent_work_are_pulled_forward(self) -> None:
        """A low-priority dependency of a critical requirement goes before medium ones."""
        requirements = [req("M", line=1), req("C", ("L",), priority=0, line=2), req("L", priority=3, line=3)]
        assert [r.id for r in order_requirements(requirements)] == ["L", "C", "M"]

    def test_unknown_dependencies_are_ignored(self) -> None:
        """An unknown Depends: ID does not block ordering (check reports it)."""
        assert [r.id for r in order_requirements([req("A", ("GONE-1",)), req("B", line=2)])] == ["A", "B"]

    def test_cycle_is_a_spec_error_naming_it(self) -> None:
        """A cycle cannot be ordered: the error names it."""
        with pytest.raises(SpecError, match=r"dependency cycle: A -> B -> A"):
            order_requirements([req("A", ("B",)), req("B", ("A",), line=2)])

    def test_deterministic_whatever_the_input_order(self) -> None:
        """The same requirements in any input order give the same order."""
        requirements = [
            req(f"R-{n}", tuple(f"R-{d}" for d in range(n) if (n * d) % 7 == 1), priority=n % 4, line=n)
            for n in range(40)
        ]
        expected = [r.id for r in order_requirements(requirements)]
        for shuffled in (
            requirements[::-1],
            requirements[13:] + requirements[:13],
            requirements[::2] + requirements[1::2],
        ):
            assert [r.id for r in order_requirements(shuffled)] == expected
        position = {requirement_id: index for index, requirement_id in enumerate(expected)}
        for requirement in requirements:
            assert all(position[dep] < position[requirement.id] for dep in requirement.depends)

    def test_long_chain(self) -> None:
        """A chain of thousands of dependencies is ordered without hitting the recursion limit."""
        chain = [req(f"R-{n}", (f"R-{n - 1}",) if n else (), line=n) for n in range(3000)]
        assert [r.id for r in order_requirements(chain[::-1])] == [r.id for r in chain]
        assert dependency_cycles(chain) == []
