"""Linking collected tests to requirements: markers, then mentions, then target files, then the whole-file rule."""

from __future__ import annotations

import pytest

from autodev.spec.links import link_tests, module_for_file
from autodev.spec.model import Requirement, TestItem

pytestmark = pytest.mark.req("SPEC-2")


def requirement(
    requirement_id: str, *, files: tuple[str, ...] = (), whole_file: bool = False, source: str = "SPEC.md"
) -> Requirement:
    return Requirement(
        id=requirement_id,
        title=f"title of {requirement_id}",
        text=f"## {requirement_id}\n",
        source=source,
        files=files,
        whole_file=whole_file,
        content_hash=f"hash-{requirement_id}",
    )


def make_test(
    name: str,
    *,
    marked: tuple[str, ...] = (),
    mentioned: tuple[str, ...] = (),
    imports: tuple[str, ...] = (),
) -> TestItem:
    return TestItem(
        nodeid=f"tests/test_x.py::{name}", file="tests/test_x.py", marked=marked, mentioned=mentioned, imports=imports
    )


class TestLinkTests:
    def test_marker_wins_over_mentions_and_imports(self) -> None:
        """A req marker links the test to exactly the marked requirements, whatever else it mentions or imports."""
        reqs = [requirement("REQ-1", files=("temps.py",)), requirement("REQ-2"), requirement("REQ-3")]
        tests = [make_test("t", marked=("REQ-2",), mentioned=("REQ-3",), imports=("temps",))]
        links = link_tests(reqs, tests)
        assert links.by_requirement == {"REQ-1": [], "REQ-2": ["tests/test_x.py::t"], "REQ-3": []}
        assert links.unlinked == []

    def test_several_markers_link_several_requirements(self) -> None:
        """A test marked with two IDs proves both."""
        links = link_tests([requirement("REQ-1"), requirement("REQ-2")], [make_test("t", marked=("REQ-1", "REQ-2"))])
        assert links.by_requirement == {"REQ-1": ["tests/test_x.py::t"], "REQ-2": ["tests/test_x.py::t"]}

    def test_mention_links_when_there_is_no_marker(self) -> None:
        """Without a marker, IDs named in the docstring or comments link the test (and imports do not)."""
        reqs = [requirement("REQ-1", files=("temps.py",)), requirement("REQ-2")]
        links = link_tests(reqs, [make_test("t", mentioned=("REQ-2",), imports=("temps",))])
        assert links.by_requirement == {"REQ-1": [], "REQ-2": ["tests/test_x.py::t"]}

    def test_unknown_marked_ids_are_ignored(self) -> None:
        """A marker naming only unknown IDs counts as no marker: the mention decides."""
        links = link_tests([requirement("REQ-1")], [make_test("t", marked=("REQ-99",), mentioned=("REQ-1",))])
        assert links.by_requirement == {"REQ-1": ["tests/test_x.py::t"]}
        assert links.unlinked == []

    @pytest.mark.parametrize(
        ("files", "imports"),
        [
            (("temps.py",), ("temps",)),
            (("src/pkg/mod.py",), ("pkg.mod",)),
            (("pkg/__init__.py",), ("pkg",)),
            (("src/pkg/",), ("pkg.deep.mod",)),
        ],
    )
    def test_imported_target_file_links(self, files: tuple[str, ...], imports: tuple[str, ...]) -> None:
        """Without marker or mention, a test importing a module a requirement names under Files: is linked to it."""
        reqs = [requirement("REQ-1", files=files), requirement("REQ-2", files=("other.py",))]
        links = link_tests(reqs, [make_test("t", imports=("pytest", *imports))])
        assert links.by_requirement == {"REQ-1": ["tests/test_x.py::t"], "REQ-2": []}

    def test_a_file_is_not_its_package_or_sibling(self) -> None:
        """Files: pkg/mod.py is not linked by importing pkg or pkg.other."""
        links = link_tests(
            [requirement("REQ-1", files=("pkg/mod.py",))], [make_test("t", imports=("pkg", "pkg.other"))]
        )
        assert links.by_requirement == {"REQ-1": []}
        assert links.unlinked == ["tests/test_x.py::t"]

    def test_custom_module_of(self) -> None:
        """A caller-supplied mapping from file to module replaces the default one."""
        links = link_tests(
            [requirement("REQ-1", files=("lib/temps.py",))],
            [make_test("t", imports=("temps",))],
            module_of=lambda path: path.removeprefix("lib/").removesuffix(".py"),
        )
        assert links.by_requirement == {"REQ-1": ["tests/test_x.py::t"]}

    def test_only_whole_file_requirement_takes_the_rest(self) -> None:
        """A plain SPEC.md (one whole-file requirement) owns every test nothing else claims."""
        reqs = [requirement("SPEC", whole_file=True), requirement("REQ-1", source="specs/a.md")]
        tests = [make_test("a"), make_test("b", marked=("REQ-1",)), make_test("c")]
        links = link_tests(reqs, tests)
        assert links.by_requirement == {
            "SPEC": ["tests/test_x.py::a", "tests/test_x.py::c"],
            "REQ-1": ["tests/test_x.py::b"],
        }
        assert links.unlinked == []

    def test_whole_file_requirement_with_target_links_still_takes_the_rest(self) -> None:
        """Links through Files: do not stop the whole-file fallback; only markers and mentions do."""
        reqs = [requirement("SPEC", whole_file=True, files=("temps.py",))]
        links = link_tests(reqs, [make_test("a", imports=("temps",)), make_test("b")])
        assert links.by_requirement == {"SPEC": ["tests/test_x.py::a", "tests/test_x.py::b"]}

    def test_whole_file_requirement_named_explicitly_gets_no_fallback(self) -> None:
        """Once a test marks or mentions the whole-file requirement, linking is by hand: the rest stay unlinked."""
        reqs = [requirement("SPEC", whole_file=True)]
        links = link_tests(reqs, [make_test("a", mentioned=("SPEC",)), make_test("b")])
        assert links.by_requirement == {"SPEC": ["tests/test_x.py::a"]}
        assert links.unlinked == ["tests/test_x.py::b"]

    def test_two_whole_file_requirements_leave_the_rest_unlinked(self) -> None:
        """With two whole-file requirements nobody can tell whose a test is, so it is unlinked."""
        reqs = [requirement("A", whole_file=True, source="a.md"), requirement("B", whole_file=True, source="b.md")]
        links = link_tests(reqs, [make_test("t")])
        assert links.by_requirement == {"A": [], "B": []}
        assert links.unlinked == ["tests/test_x.py::t"]

    def test_every_requirement_listed_in_spec_order_without_duplicates(self) -> None:
        """by_requirement has every requirement in spec order; a test given twice is listed once."""
        reqs = [requirement("REQ-2"), requirement("REQ-1")]
        links = link_tests(reqs, [make_test("t", marked=("REQ-1", "REQ-1")), make_test("t", marked=("REQ-1",))])
        assert list(links.by_requirement) == ["REQ-2", "REQ-1"]
        assert links.by_requirement["REQ-1"] == ["tests/test_x.py::t"]


class TestModuleForFile:
    @pytest.mark.parametrize(
        ("path", "module"),
        [
            ("temps.py", "temps"),
            ("./temps.py", "temps"),
            ("src/pkg/mod.py", "pkg.mod"),
            ("pkg/__init__.py", "pkg"),
            ("src/pkg/", "pkg"),
            ("stubs/api.pyi", "stubs.api"),
            ("README.md", ""),
            ("src/*.py", ""),
            ("my-tool/main.py", ""),
            ("", ""),
        ],
    )
    def test_maps_files_to_modules(self, path: str, module: str) -> None:
        """Python files and directories map to their import name; other files and globs to nothing."""
        assert module_for_file(path) == module
